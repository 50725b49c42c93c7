package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/vigilops/vigil/config"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/store"
)

// The dispatcher's hook for new incidents asks the GitHub API for the changes
// to the incident's services before its onset (not for change events'
// times), and they join the incident; without a token there is no hook.
func TestChangeLookupForNewIncidents(t *testing.T) {
	onset := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	var asked []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.URL.Path+"?"+r.URL.RawQuery)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch strings.TrimPrefix(r.URL.Path, "/api/v3") {
		case "/repos/acme/db":
			_, _ = io.WriteString(w, `{"full_name": "acme/db", "default_branch": "main"}`)
		case "/repos/acme/db/commits":
			_, _ = io.WriteString(w, `[{"sha": "abc1234000000000000000000000000000000000", "html_url": "https://github.com/acme/db/commit/abc1234",
			  "commit": {"message": "Shrink the pool", "author": {"name": "Ana", "date": "2026-11-24T02:55:00Z"},
			             "committer": {"name": "Ana", "date": "2026-11-24T02:56:00Z"}}, "author": {"login": "ana"}}]`)
		default:
			_, _ = io.WriteString(w, `[]`)
		}
	}))
	defer api.Close()
	gh := github.NewClient(api.Client()).WithAuthToken("t0ken")
	base, _ := url.Parse(api.URL + "/api/v3/")
	gh.BaseURL = base

	cfg := config.Default()
	cfg.Changes = config.Changes{Services: map[string]config.ServiceSpec{"db": {Repo: "acme/db"}}}
	st, err := store.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if hook := changeLookup(ctx, cfg, nil, st, nil, nil, slog.New(slog.DiscardHandler)); hook != nil {
		t.Error("a hook without a GitHub token")
	}
	res, err := st.IngestAlerts(ctx, "am", []store.AlertIn{{Fingerprint: "a1", Status: "firing", StartsAt: onset,
		Labels: map[string]string{"alertname": "DBDown", "service": "db"}, GroupKey: "DBDown/db",
		GroupLabels: map[string]string{"alertname": "DBDown", "service": "db"}}}, onset)
	if err != nil {
		t.Fatal(err)
	}
	out, err := st.Outbox(ctx, 10)
	if err != nil || len(out) != 1 || !out[0].New {
		t.Fatalf("outbox %+v %v, want one new incident", out, err)
	}
	// An earlier change event in the delivery does not move the onset.
	dl := out[0]
	dl.Events = append(dl.Events, incident.Event{Kind: incident.KindChange, StartsAt: onset.Add(-24 * time.Hour), Labels: map[string]string{"service": "db"}})
	woke := make(chan struct{}, 1)
	hook := changeLookup(ctx, cfg, gh, st, func() { woke <- struct{}{} }, nil, slog.New(slog.DiscardHandler))
	hook(dl)
	select {
	case <-woke:
	case <-time.After(10 * time.Second):
		t.Fatalf("no change stored; GitHub was asked %v", asked)
	}
	out, err = st.Outbox(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range out {
		for _, e := range d.Events {
			if e.Kind == incident.KindChange && d.IncidentID == res.Incidents[0] &&
				e.Summary == "commit abc1234 by @ana to db main at 02:56 UTC: Shrink the pool, 4 min before onset" {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("outbox %+v: want the commit as a change of %s, 4 min before onset", out, res.Incidents[0])
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.ContainsFunc(asked, func(q string) bool {
		return strings.Contains(q, "/commits?") && strings.Contains(q, "until=2026-11-24T03%3A00%3A00Z")
	}) {
		t.Errorf("GitHub was asked %v; want commits until the onset 03:00", asked)
	}
}
