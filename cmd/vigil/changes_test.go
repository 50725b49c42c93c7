package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
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

// TestGitHubWebhookJoinsTheOpenIncident runs `vigil dev` with a webhook
// secret: a signed deployment of the repository that builds the alerting
// service joins its open incident as evidence; an unsigned one is refused.
func TestGitHubWebhookJoinsTheOpenIncident(t *testing.T) {
	t.Setenv("VIGIL_TEST_WEBHOOK_SECRET", "s3cret")
	cfg := config.Default()
	cfg.DataDir, cfg.HTTP.Addr, cfg.Runbooks.Dir = t.TempDir(), "127.0.0.1:0", "../../examples/runbooks"
	cfg.Changes = config.Changes{WebhookSecret: "env:VIGIL_TEST_WEBHOOK_SECRET", Services: map[string]config.ServiceSpec{"db": {Repo: "acme/db"}}}
	logs, out := &syncBuffer{}, &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- devMain(ctx, cfg, false, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})), out)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("vigil dev: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	v := &vigil{}
	for deadline := time.Now().Add(60 * time.Second); v.url == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := consoleURL.FindStringSubmatch(out.String()); m != nil {
			v.url = m[1]
		}
	}
	if v.url == "" {
		t.Fatalf("vigil dev did not start:\n%s", logs)
	}

	status, res := call(t, "POST", v.url+"/api/v1/alerts/alertmanager", alertPayload(t.TempDir()))
	if status != 200 {
		t.Fatalf("alert: %d %v", status, res)
	}
	id := res["incidents"].([]any)[0].(string)
	waitFor(t, v, id, "unresolved with service db", func(inc map[string]any) bool {
		return inc["status"] != "resolved" && fmt.Sprint(inc["services"]) == "[db]"
	})

	body := `{"deployment": {"id": 7, "sha": "abc1234def", "ref": "main", "environment": "production",
	  "creator": {"login": "ana"}, "created_at": "2026-11-24T02:58:00Z"},
	  "repository": {"full_name": "acme/db", "default_branch": "main"}}`
	deliver := func(signature string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, v.url+"/api/v1/github/webhook", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "deployment")
		if signature != "" {
			req.Header.Set("X-Hub-Signature-256", signature)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, b := deliver(""); code != 401 {
		t.Fatalf("unsigned delivery: %d %s", code, b)
	}
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write([]byte(body))
	if code, b := deliver("sha256=" + hex.EncodeToString(mac.Sum(nil))); code != 200 || !strings.Contains(b, id) {
		t.Fatalf("signed delivery: %d %s, want it to join %s", code, b, id)
	}
	waitFor(t, v, id, "holding the deployment as evidence", func(inc map[string]any) bool {
		return strings.Contains(fmt.Sprint(inc["evidence"]), "deploy of db to production at 02:58 UTC by @ana (abc1234)")
	})
	stop()
}

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
	if hook := changeLookup(ctx, cfg, nil, st, nil, slog.New(slog.DiscardHandler)); hook != nil {
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
	hook := changeLookup(ctx, cfg, gh, st, func() { woke <- struct{}{} }, slog.New(slog.DiscardHandler))
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
