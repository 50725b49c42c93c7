package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/store"
)

// TestSpoolAnswersThenRoutes: the receiver answers once alerts are in the
// spool, saying they are queued; the router then stores them once, in order;
// what was accepted while routing was down is routed after a restart, and a
// spool past its bound refuses with 503 and keeps nothing.
func TestSpoolAnswersThenRoutes(t *testing.T) {
	dir := t.TempDir()
	st := openTestStore(t, dir)
	logger := slog.New(slog.DiscardHandler)
	post := func(url, body string) (int, Accepted, string) {
		t.Helper()
		resp, err := http.Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(resp.Body)
		var a Accepted
		_ = json.Unmarshal(buf.Bytes(), &a)
		return resp.StatusCode, a, buf.String()
	}
	payload := func(status string, instances ...string) string {
		var alerts []string
		for _, in := range instances {
			alerts = append(alerts, `{"status":"`+status+`","labels":{"alertname":"DiskFull","service":"db","instance":"`+in+`"},"startsAt":"2026-11-24T03:00:00Z"}`)
		}
		return `{"version":"4","status":"` + status + `","alerts":[` + strings.Join(alerts, ",") + `]}`
	}

	// First life: the spool accepts, but routing never gets to run (the
	// router's store is down), then Vigil stops.
	sp, err := OpenSpool(filepath.Join(dir, "spool.db"), "alertmanager", logger)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { defer close(ran); sp.Run(ctx, downStore{}) }()
	srv := httptest.NewServer(&Alertmanager{Store: sp, GroupBy: []string{"alertname", "service"}, Logger: logger})
	code, a, body := post(srv.URL, payload("firing", "db-1", "db-2"))
	if code != http.StatusOK || a.Accepted != 2 || a.Queued != 2 || len(a.Incidents) != 0 {
		t.Fatalf("answer %d %s, want 200 with 2 accepted and queued", code, body)
	}
	if code, _, body := post(srv.URL, `{"alerts":[{"status":"firing"}]}`); code != http.StatusUnprocessableEntity {
		t.Errorf("malformed payload got %d %s, want 422", code, body)
	}
	srv.Close()
	stop()
	<-ran
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
	if incs, _ := st.ListIncidents(context.Background(), store.IncidentFilter{}); len(incs) != 0 {
		t.Fatalf("incidents before routing: %v", incs)
	}

	// Second life: what the first accepted is routed, then new alerts too.
	sp, err = OpenSpool(filepath.Join(dir, "spool.db"), "alertmanager", logger)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	sp.MaxPending = 4
	notified := make(chan struct{}, 10)
	sp.Notify = func() { notified <- struct{}{} }
	ctx, stop = context.WithCancel(context.Background())
	ran = make(chan struct{})
	go func() { defer close(ran); sp.Run(ctx, st) }()
	defer func() { stop(); <-ran }()
	srv = httptest.NewServer(&Alertmanager{Store: sp, GroupBy: []string{"alertname", "service"}, Logger: logger})
	defer srv.Close()
	// More than the bound even with nothing pending, however far routing is.
	if code, _, body := post(srv.URL, payload("firing", "db-1", "db-2", "db-3", "db-4", "db-5")); code != http.StatusServiceUnavailable || !strings.Contains(body, "retry") {
		t.Errorf("payload past the spool's bound got %d %s, want 503 asking to retry", code, body)
	}
	waitRouted := func(want int) []store.Delivery {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			out, err := st.Outbox(context.Background(), 100)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, d := range out {
				n += len(d.Events)
			}
			if n >= want || time.Now().After(deadline) {
				return out
			}
		}
	}
	out := waitRouted(2)
	if len(out) != 1 || len(out[0].Events) != 2 {
		t.Fatalf("after restart the outbox holds %+v, want the 2 alerts accepted before it in one incident", out)
	}
	select {
	case <-notified:
	case <-time.After(5 * time.Second):
		t.Error("routing did not wake the dispatcher")
	}
	// Resent and resolved: routed in order, the resend deduplicated.
	if code, _, body := post(srv.URL, payload("firing", "db-1")); code != http.StatusOK {
		t.Fatalf("resend got %d %s", code, body)
	}
	if code, _, body := post(srv.URL, payload("resolved", "db-1")); code != http.StatusOK {
		t.Fatalf("resolve got %d %s", code, body)
	}
	out = waitRouted(3)
	var got []string
	for _, e := range out[0].Events {
		got = append(got, e.Fingerprint[:4]+" "+e.Status)
	}
	if len(out[0].Events) != 3 || out[0].Events[2].Status != "resolved" {
		t.Errorf("events %v, want the 2 firings and then 1 resolve (the resend stored once)", got)
	}
}

// openTestStore opens a store in dir, closed when the test ends.
func openTestStore(t *testing.T, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(dir, "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// openTestSpool opens the spool file in dir, closed when the test ends.
func openTestSpool(t *testing.T, dir string) *Spool {
	t.Helper()
	sp, err := OpenSpool(filepath.Join(dir, "spool.db"), "alertmanager", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sp.Close() })
	return sp
}

// downStore is a store that cannot be reached.
type downStore struct{}

func (downStore) IngestSpooled(context.Context, string, int64, string, []store.AlertIn, time.Time) (store.IngestResult, error) {
	return store.IngestResult{}, context.DeadlineExceeded
}

func (downStore) SpoolPosition(context.Context, string) (int64, error) {
	return 0, context.DeadlineExceeded
}

// recordingStore keeps what the router hands it.
type recordingStore struct {
	mu     sync.Mutex
	alerts []store.AlertIn
}

func (r *recordingStore) IngestSpooled(_ context.Context, _ string, _ int64, _ string, alerts []store.AlertIn, _ time.Time) (store.IngestResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.alerts = append(r.alerts, alerts...)
	return store.IngestResult{Accepted: len(alerts)}, nil
}

func (r *recordingStore) SpoolPosition(context.Context, string) (int64, error) { return 0, nil }

func (r *recordingStore) routed() []store.AlertIn {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.alerts)
}

// TestSpoolRoutesJoinedAndOlderEntries: requests committed together (each
// encoded by its own goroutine, joined by the writer) are routed with every
// alert intact, and an entry an earlier version wrote with encoding/json is
// read alike.
func TestSpoolRoutesJoinedAndOlderEntries(t *testing.T) {
	sp := openTestSpool(t, t.TempDir())
	sp.RouteDelay = -1
	at := time.Date(2026, 11, 24, 3, 0, 0, 123456789, time.UTC)
	alert := func(name string) store.AlertIn {
		return store.AlertIn{Fingerprint: name, Status: "firing", StartsAt: at,
			Labels:      map[string]string{"alertname": name, "service": "db", "note": "caf\u00e9 \"quoted\" <tag>"},
			Annotations: map[string]string{"summary": "line 1\nline 2"}, GroupKey: `service="db",`, GroupLabels: map[string]string{"service": "db"}}
	}
	old, err := json.Marshal([]store.AlertIn{alert("old-1"), alert("old-2")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sp.q.(fileQueue).db.Exec(`INSERT INTO spool (source, received_at, alerts, count) VALUES ('alertmanager', ?, ?, 2)`, at.Format(time.RFC3339Nano), old); err != nil {
		t.Fatal(err)
	}
	sp.pending.Add(2)

	// The requests queue before the writer starts, so its first commit
	// takes them all.
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	const requests = 20
	for i := range requests {
		wg.Go(func() {
			res, err := sp.IngestAlerts(ctx, "alertmanager", []store.AlertIn{alert(fmt.Sprintf("new-%02d-a", i)), alert(fmt.Sprintf("new-%02d-b", i))}, at)
			if err != nil || res.Queued != 2 {
				t.Errorf("request %d: %+v, %v; want 2 queued", i, res, err)
			}
		})
	}
	for sp.appends.InFlight() < 2*requests {
		time.Sleep(time.Millisecond)
	}
	to := &recordingStore{}
	ran := make(chan struct{})
	go func() { defer close(ran); sp.Run(ctx, to) }()
	defer func() { stop(); <-ran }()
	wg.Wait()
	var got []store.AlertIn
	for deadline := time.Now().Add(10 * time.Second); len(got) < 2+2*requests && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		got = to.routed()
	}
	if len(got) != 2+2*requests {
		t.Fatalf("routed %d alerts, want %d", len(got), 2+2*requests)
	}
	seen := map[string]bool{}
	for i, a := range got {
		want := alert(a.Fingerprint)
		if !reflect.DeepEqual(a, want) {
			t.Fatalf("routed alert %d = %+v, want %+v", i, a, want)
		}
		seen[a.Fingerprint] = true
	}
	if got[0].Fingerprint != "old-1" || got[1].Fingerprint != "old-2" || len(seen) != 2+2*requests {
		t.Errorf("routed %d distinct alerts starting %s, %s; want every alert once, the older entry first", len(seen), got[0].Fingerprint, got[1].Fingerprint)
	}
	var entries int // ever appended: AUTOINCREMENT's counter
	if err := sp.q.(fileQueue).db.QueryRow(`SELECT seq FROM sqlite_sequence WHERE name = 'spool'`).Scan(&entries); err != nil {
		t.Fatal(err)
	}
	if entries != 2 {
		t.Errorf("%d requests committed together made %d entries in all, want 2: the older one and one joined", requests, entries)
	}
	if sp.Pending() != 0 {
		t.Errorf("pending %d after routing everything", sp.Pending())
	}
}

func TestJoinArrays(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{[]string{`[1]`}, `[1]`},
		{[]string{`[1,2]`, `[3]`}, `[1,2,3]`},
		{[]string{`[]`, `[{"a":1}]`, ` [ ] `, `[2]`}, `[{"a":1},2]`},
		{[]string{`[]`, `[]`}, `[]`},
	}
	for _, tc := range tests {
		var in [][]byte
		for _, s := range tc.in {
			in = append(in, []byte(s))
		}
		if got := string(joinArrays(in)); got != tc.want {
			t.Errorf("joinArrays(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
