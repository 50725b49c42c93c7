package changes

import (
	"context"
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

	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/store"
)

var onset = time.Date(2026, 11, 24, 14, 6, 0, 0, time.UTC)

// fakeGitHub answers the REST calls the fetcher makes, with GitHub's JSON
// shapes and Link-header pagination, under /api/v3/ as GitHub Enterprise
// does. It records every request.
type fakeGitHub struct {
	t     *testing.T
	mu    sync.Mutex
	calls []string
	// pages maps "METHOD path" to the JSON body of each page.
	pages map[string][]string
}

func (f *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.calls = append(f.calls, r.URL.Path+"?"+r.URL.RawQuery)
	f.mu.Unlock()
	if got := r.Header.Get("Authorization"); got != "Bearer t0ken" {
		http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
		return
	}
	pages, ok := f.pages[r.Method+" "+strings.TrimPrefix(r.URL.Path, "/api/v3")]
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}`)
		return
	}
	page := 1
	if p := r.URL.Query().Get("page"); p != "" {
		_, _ = fmt.Sscan(p, &page)
	}
	if page < len(pages) {
		next := *r.URL
		q := next.Query()
		q.Set("page", fmt.Sprint(page+1))
		next.RawQuery = q.Encode()
		w.Header().Set("Link", fmt.Sprintf(`<http://%s%s>; rel="next"`, r.Host, next.String()))
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, pages[page-1])
}

func (f *fakeGitHub) requested(prefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

// shop is two repositories: acme/checkout builds checkout (production
// deployments only) and inventory (every environment); acme/payments builds
// payments from its release branch. acme/gone builds ledger and no longer
// exists.
func shop() map[string][]string {
	return map[string][]string{
		"GET /repos/acme/checkout": {`{"id": 1, "full_name": "acme/checkout", "default_branch": "main"}`},
		"GET /repos/acme/checkout/pulls": {
			`[
			  {"number": 812, "title": "Raise the pool size", "user": {"login": "ana"}, "state": "closed",
			   "merged_at": "2026-11-24T13:58:00Z", "updated_at": "2026-11-24T13:59:00Z",
			   "merge_commit_sha": "aaa1111111111111111111111111111111111111", "base": {"ref": "main"},
			   "html_url": "https://github.com/acme/checkout/pull/812"},
			  {"number": 805, "title": "Abandoned", "user": {"login": "bob"}, "state": "closed",
			   "merged_at": null, "updated_at": "2026-11-24T13:30:00Z", "base": {"ref": "main"}}
			]`,
			`[
			  {"number": 800, "title": "Old", "user": {"login": "cy"}, "state": "closed",
			   "merged_at": "2026-11-24T10:00:00Z", "updated_at": "2026-11-24T10:01:00Z", "base": {"ref": "main"}}
			]`,
			`[{"number": 1, "title": "never read", "updated_at": "2020-01-01T00:00:00Z"}]`,
		},
		"GET /repos/acme/checkout/commits": {`[
			{"sha": "aaa1111111111111111111111111111111111111", "html_url": "https://github.com/acme/checkout/commit/aaa1111",
			 "commit": {"message": "Raise the pool size (#812)", "author": {"name": "Ana", "date": "2026-11-24T13:50:00Z"},
			            "committer": {"name": "GitHub", "date": "2026-11-24T13:58:00Z"}}, "author": {"login": "ana"}},
			{"sha": "bbb2222222222222222222222222222222222222", "html_url": "https://github.com/acme/checkout/commit/bbb2222",
			 "commit": {"message": "Fix the retry loop\n\nIt spun.", "author": {"name": "Bob", "date": "2026-11-24T13:40:00Z"},
			            "committer": {"name": "Bob", "date": "2026-11-24T13:41:00Z"}}, "author": {"login": "bob"}}
		]`},
		"GET /repos/acme/checkout/deployments": {
			`[{"id": 42, "sha": "aaa1111111111111111111111111111111111111", "ref": "main", "environment": "production",
			   "creator": {"login": "deploy-bot"}, "created_at": "2026-11-24T14:02:00Z",
			   "url": "https://api.github.com/repos/acme/checkout/deployments/42"}]`,
			`[{"id": 41, "sha": "ccc3333333333333333333333333333333333333", "ref": "feature", "environment": "staging",
			   "creator": {"login": "cy"}, "created_at": "2026-11-24T13:50:00Z"},
			  {"id": 30, "sha": "ddd", "environment": "production", "created_at": "2026-11-24T11:00:00Z"}]`,
			`[{"id": 1, "created_at": "2020-01-01T00:00:00Z"}]`,
		},
		"GET /repos/acme/payments/pulls": {`[]`},
		"GET /repos/acme/payments/commits": {`[
			{"sha": "eee5555555555555555555555555555555555555",
			 "commit": {"message": "Hotfix", "author": {"name": "Dee", "date": "2026-11-24T14:05:00Z"},
			            "committer": {"name": "Dee", "date": "2026-11-24T14:05:30Z"}}, "author": {"login": "dee"}}
		]`},
		"GET /repos/acme/payments/deployments": {`[]`},
	}
}

func newTestFetcher(t *testing.T, pages map[string][]string) (*Fetcher, *fakeGitHub) {
	return newTestFetcherWithToken(t, pages, "t0ken")
}

func newTestFetcherWithToken(t *testing.T, pages map[string][]string, token string) (*Fetcher, *fakeGitHub) {
	t.Helper()
	fake := &fakeGitHub{t: t, pages: pages}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	c := github.NewClient(srv.Client()).WithAuthToken(token)
	base, err := url.Parse(srv.URL + "/api/v3/")
	if err != nil {
		t.Fatal(err)
	}
	c.BaseURL = base
	cat := NewCatalog([]Service{
		{Name: "checkout", Repo: "acme/checkout", Environments: []string{"production"}},
		{Name: "inventory", Repo: "acme/checkout"},
		{Name: "payments", Repo: "acme/payments", Branch: "release"},
		{Name: "ledger", Repo: "acme/gone"},
	})
	return NewFetcher(c, cat, 2*time.Hour, slog.New(slog.DiscardHandler)), fake
}

func TestBefore(t *testing.T) {
	f, fake := newTestFetcher(t, shop())
	got, err := f.Before(context.Background(), []string{"checkout", "inventory", "payments"}, onset)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, c := range got {
		lines = append(lines, c.ID+" | "+c.SummaryBefore(onset))
	}
	want := []string{
		"github:acme/checkout:commit:bbb2222222222222222222222222222222222222@checkout | commit bbb2222 by @bob to checkout main at 13:41 UTC: Fix the retry loop, 25 min before onset",
		"github:acme/checkout:commit:bbb2222222222222222222222222222222222222@inventory | commit bbb2222 by @bob to inventory main at 13:41 UTC: Fix the retry loop, 25 min before onset",
		"github:acme/checkout:deployment:41@inventory | deploy of inventory to staging at 13:50 UTC by @cy (ccc3333), 16 min before onset",
		"github:acme/checkout:pr:812@checkout | PR #812 by @ana merged into checkout main at 13:58 UTC: Raise the pool size, 8 min before onset",
		"github:acme/checkout:pr:812@inventory | PR #812 by @ana merged into inventory main at 13:58 UTC: Raise the pool size, 8 min before onset",
		"github:acme/checkout:deployment:42@checkout | deploy of checkout to production at 14:02 UTC, PR #812 by @ana, 4 min before onset",
		"github:acme/checkout:deployment:42@inventory | deploy of inventory to production at 14:02 UTC, PR #812 by @ana, 4 min before onset",
		"github:acme/payments:commit:eee5555555555555555555555555555555555555@payments | commit eee5555 by @dee to payments release at 14:05 UTC: Hotfix, 30 s before onset",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}

	// The listings stop at the first item older than the window: page 3 is
	// never read.
	if calls := fake.requested("/api/v3/repos/acme/checkout/deployments"); len(calls) != 2 {
		t.Errorf("deployment listings %v, want pages 1 and 2", calls)
	}
	if calls := fake.requested("/api/v3/repos/acme/checkout/pulls"); len(calls) != 2 || !strings.Contains(calls[0], "base=main") || !strings.Contains(calls[0], "sort=updated") {
		t.Errorf("pull request listings %v", calls)
	}
	if calls := fake.requested("/api/v3/repos/acme/checkout/commits"); len(calls) != 1 ||
		!strings.Contains(calls[0], "since=2026-11-24T12%3A06%3A00Z") || !strings.Contains(calls[0], "until=2026-11-24T14%3A06%3A00Z") || !strings.Contains(calls[0], "sha=main") {
		t.Errorf("commit listings %v", calls)
	}
	if calls := fake.requested("/api/v3/repos/acme/payments"); slices.Contains(calls, "/api/v3/repos/acme/payments?") {
		t.Errorf("payments names its branch; its default branch was looked up anyway: %v", calls)
	}
	// The default branch is looked up once per fetcher.
	if _, err := f.Before(context.Background(), []string{"checkout"}, onset); err != nil {
		t.Fatal(err)
	}
	if calls := fake.requested("/api/v3/repos/acme/checkout?"); len(calls) != 1 {
		t.Errorf("repository looked up %d times, want once", len(calls))
	}
}

func TestBetweenSkipsAnUnreadableRepository(t *testing.T) {
	f, _ := newTestFetcher(t, shop())
	got, err := f.Between(context.Background(), nil, onset.Add(-time.Hour), onset)
	if err == nil || !strings.Contains(err.Error(), "changes: acme/gone: read the default branch:") || !strings.Contains(err.Error(), "404 Not Found") {
		t.Fatalf("err = %v, want acme/gone's 404", err)
	}
	if len(got) != 8 {
		t.Errorf("got %d changes, want the other repositories' 8", len(got))
	}
}

func TestBetweenWithABadToken(t *testing.T) {
	f, _ := newTestFetcherWithToken(t, shop(), "wrong")
	_, err := f.Between(context.Background(), []string{"payments"}, onset.Add(-time.Hour), onset)
	if err == nil || !strings.Contains(err.Error(), "401 Bad credentials") {
		t.Fatalf("err = %v", err)
	}
}

func TestChangeEventAndRCA(t *testing.T) {
	c := Change{
		ID: "github:acme/checkout:deployment:42@checkout", Kind: KindDeploy, Service: "checkout", Repo: "acme/checkout",
		SHA: "aaa1111", Branch: "main", Author: "deploy-bot", At: onset.Add(-4 * time.Minute), Environment: "production",
		PR: &PullRef{Number: 812, Author: "ana"}, URL: "https://example/42",
	}
	e := c.Event(onset)
	want := map[string]string{"change": "deploy", "service": "checkout", "repo": "acme/checkout", "sha": "aaa1111", "author": "deploy-bot",
		"branch": "main", "environment": "production", "pr": "812", "pr_author": "ana"}
	if e.Kind != incident.KindChange || e.Source != "github" || e.Fingerprint != c.ID || !e.StartsAt.Equal(c.At) || e.GeneratorURL != c.URL || fmt.Sprint(e.Labels) != fmt.Sprint(want) {
		t.Errorf("event = %+v", e)
	}
	if e.Summary != "deploy of checkout to production at 14:02 UTC, PR #812 by @ana, 4 min before onset" {
		t.Errorf("summary = %q", e.Summary)
	}
	if e := c.Event(time.Time{}); e.Summary != "deploy of checkout to production at 14:02 UTC, PR #812 by @ana" {
		t.Errorf("summary without onset = %q", e.Summary)
	}
	r := c.RCA(onset)
	if r.ID != c.ID || r.Component != "checkout" || r.Time != c.At.Unix() || !strings.HasSuffix(r.Summary, "4 min before onset") {
		t.Errorf("rca = %+v", r)
	}
}

func TestHuman(t *testing.T) {
	for d, want := range map[time.Duration]string{
		40 * time.Second: "40 s", 4 * time.Minute: "4 min", 59*time.Minute + 59*time.Second: "59 min",
		2 * time.Hour: "2 h", 2*time.Hour + 5*time.Minute: "2 h 5 min",
	} {
		if got := human(d); got != want {
			t.Errorf("human(%s) = %q, want %q", d, got, want)
		}
	}
}

// fakeStore records what the poller stores.
type fakeStore struct {
	mu   sync.Mutex
	got  []store.SignalIn
	seen map[string]bool
}

func (s *fakeStore) IngestEvents(_ context.Context, source string, in []store.SignalIn, _ time.Time) (store.IngestResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var res store.IngestResult
	for _, sg := range in {
		if source != Source || s.seen[sg.Event.Fingerprint] {
			res.Duplicates++
			continue
		}
		s.seen[sg.Event.Fingerprint] = true
		s.got = append(s.got, sg)
		res.Accepted++
	}
	return res, nil
}

func TestPollerStoresChangesThatNeverOpenIncidents(t *testing.T) {
	f, _ := newTestFetcher(t, shop())
	st := &fakeStore{seen: map[string]bool{}}
	woken := 0
	p := &Poller{Fetcher: f, Store: st, Interval: time.Minute, Notify: func() { woken++ }, Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return onset }}
	err := p.poll(context.Background(), onset.Add(-time.Hour), onset)
	if err == nil || !strings.Contains(err.Error(), "acme/gone") {
		t.Fatalf("poll error = %v, want acme/gone reported", err)
	}
	if len(st.got) != 8 || woken != 1 {
		t.Fatalf("stored %d changes, woke %d times; want 8 and 1", len(st.got), woken)
	}
	for _, sg := range st.got {
		if sg.MayOpen || sg.Event.Kind != incident.KindChange {
			t.Errorf("stored %+v", sg)
		}
	}
	// Polling the same window again stores nothing new and wakes nobody.
	_ = p.poll(context.Background(), onset.Add(-time.Hour), onset)
	if len(st.got) != 8 || woken != 1 {
		t.Errorf("second poll: %d stored, %d wake-ups", len(st.got), woken)
	}
}

// When an incident opens, the changes to its services before its onset are
// stored and join it, saying how long before the onset they happened; a
// second look for the same incident asks GitHub nothing.
func TestLookupJoinsChangesToTheOpenedIncident(t *testing.T) {
	f, fake := newTestFetcher(t, shop())
	st, err := store.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	res, err := st.IngestAlerts(ctx, "am", []store.AlertIn{{
		Fingerprint: "a1", Status: "firing", StartsAt: onset,
		Labels:   map[string]string{"alertname": "HighLatency", "service": "checkout"},
		GroupKey: "HighLatency/checkout", GroupLabels: map[string]string{"alertname": "HighLatency", "service": "checkout"},
	}}, onset)
	if err != nil {
		t.Fatal(err)
	}
	id := res.Incidents[0]
	woken := 0
	l := &Lookup{Fetcher: f, Store: st, Notify: func() { woken++ }, Logger: slog.New(slog.DiscardHandler)}
	n, err := l.Opened(ctx, id, []string{"checkout"}, onset)
	if err != nil || n != 3 || woken != 1 {
		t.Fatalf("lookup stored %d changes (%v), woke %d; want checkout's 3 changes (commit, PR, deploy) and one wake-up", n, err, woken)
	}
	out, err := st.Outbox(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	var summaries []string
	for _, d := range out {
		for _, e := range d.Events {
			if e.Kind == "change" {
				if d.IncidentID != id {
					t.Errorf("change %s joined %s, want %s", e.Fingerprint, d.IncidentID, id)
				}
				summaries = append(summaries, e.Summary)
			}
		}
	}
	if len(summaries) != 3 || !slices.Contains(summaries, "deploy of checkout to production at 14:02 UTC, PR #812 by @ana, 4 min before onset") {
		t.Errorf("change summaries %q", summaries)
	}
	calls := len(fake.requested("/api/v3/"))
	if n, err := l.Opened(ctx, id, []string{"checkout"}, onset); n != 0 || err != nil || len(fake.requested("/api/v3/")) != calls {
		t.Errorf("second lookup: %d %v, %d more API calls; want nothing", n, err, len(fake.requested("/api/v3/"))-calls)
	}
}
