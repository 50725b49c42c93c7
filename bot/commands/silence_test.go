package commands

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/store"
)

// fakeSilencer records silences; it refuses a matcher "bad".
type fakeSilencer struct {
	made    []store.Silence
	expired []string
}

func (f *fakeSilencer) SilenceFor(_ context.Context, matchers []string, d time.Duration, by, comment string) (store.Silence, error) {
	if slices.Contains(matchers, "bad") {
		return store.Silence{}, errors.New(`matchers[0]: matcher "bad" must look like name="value"`)
	}
	now := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	sl := store.Silence{ID: "abc123", Matchers: matchers, StartsAt: now, EndsAt: now.Add(d), CreatedBy: by, Comment: comment}
	f.made = append(f.made, sl)
	return sl, nil
}

func (f *fakeSilencer) ExpireSilence(_ context.Context, id string) (store.Silence, error) {
	if id != "abc123" {
		return store.Silence{}, errors.New(`no such silence: "` + id + `"`)
	}
	f.expired = append(f.expired, id)
	return f.made[0], nil
}

func (f *fakeSilencer) CurrentSilences() []store.Silence { return f.made }

func TestSilenceCommands(t *testing.T) {
	f := &fakeSilencer{}
	b := New(Deps{Silencer: f}, "/vigil ", slog.New(slog.DiscardHandler))
	alice := incident.Actor{User: "U1", DisplayName: "alice", Surface: "slack"}
	steps := []struct {
		text      string
		wantTitle string
		wantText  string
	}{
		{`silence service="db" alertname=~"Disk full.*" for 2h: failover drill`, "Silenced until Nov 24 05:00 UTC",
			`new alerts matching service="db" alertname=~"Disk full.*" open no incident. Silence abc123 by U1 (alice)`},
		{`silence service="db" for soon: drill`, "Usage: /vigil silence", ""},
		{`silence service="db" for 0s: drill`, "Bad duration", ""},
		{`silence service="db for 1h: drill`, "Bad matchers", "not closed"},
		{`silence bad for 1h: drill`, "Silence not created", `must look like name="value"`},
		{`silences`, "1 silences", `abc123 until Nov 24 05:00 UTC: service="db" alertname=~"Disk full.*" by U1 (alice) (failover drill)`},
		{`unsilence ffff`, "Silence not ended", "no such silence"},
		{`unsilence abc123`, "Silence abc123 ended", "open incidents again"},
	}
	for _, st := range steps {
		m := b.Handle(context.Background(), Call{Text: st.text, Actor: alice})
		if !strings.HasPrefix(m.Title, st.wantTitle) || !strings.Contains(m.Text, st.wantText) {
			t.Errorf("%s:\n got %q / %q\nwant %q / …%q…", st.text, m.Title, m.Text, st.wantTitle, st.wantText)
		}
	}
	if len(f.made) != 1 || f.made[0].Comment != "failover drill" || f.made[0].EndsAt.Sub(f.made[0].StartsAt) != 2*time.Hour {
		t.Errorf("silences made: %+v", f.made)
	}
	if !slices.Equal(f.expired, []string{"abc123"}) {
		t.Errorf("expired %v", f.expired)
	}
	// Without a silencer, the commands say where to go instead.
	none := New(Deps{}, "/vigil ", slog.New(slog.DiscardHandler))
	if m := none.Handle(context.Background(), Call{Text: "silences", Actor: alice}); !strings.Contains(m.Text, "/api/v1/silences") {
		t.Errorf("without a silencer: %q", m.Text)
	}
}
