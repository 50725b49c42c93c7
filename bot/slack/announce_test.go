package slack

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/vigilops/vigil/store"
)

func TestAnnounce(t *testing.T) {
	f := newFakeSlack(t)
	st, err := store.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := newSurface(t, f, st)
	f.fail("chat.postMessage", fault{status: 429, retryAfter: "0"})
	if err := s.Announce(context.Background(), "C-RELEASES", "Rolled back checkout to v41"); err != nil {
		t.Fatal(err)
	}
	ms, calls := f.snapshot()
	if len(ms) != 1 || ms[0].Channel != "C-RELEASES" || ms[0].Text != "Rolled back checkout to v41" || ms[0].ThreadTS != "" {
		t.Errorf("messages %+v", ms)
	}
	if len(calls) != 2 {
		t.Errorf("calls %v: want the rate-limited call retried once", calls)
	}
}
