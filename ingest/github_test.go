package ingest

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/changes"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/store"
)

const webhookSecret = "It's a Secret to Everybody"

// changeRecorder records what the handler stores.
type changeRecorder struct {
	mu   sync.Mutex
	got  []store.SignalIn
	fail bool
}

func (r *changeRecorder) IngestEvents(_ context.Context, source string, in []store.SignalIn, _ time.Time) (store.IngestResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return store.IngestResult{}, errors.New("disk full")
	}
	if source != "github" {
		return store.IngestResult{}, errors.New("source " + source)
	}
	r.got = append(r.got, in...)
	return store.IngestResult{Accepted: len(in)}, nil
}

func (r *changeRecorder) stored() []store.SignalIn {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]store.SignalIn(nil), r.got...)
}

func testCatalog() *changes.Catalog {
	return changes.NewCatalog([]changes.Service{
		{Name: "checkout", Repo: "acme/checkout", Environments: []string{"production"}},
		{Name: "inventory", Repo: "acme/checkout"},
		{Name: "payments", Repo: "acme/payments"},
	})
}

func newGitHubServer(t *testing.T, st ChangeStore) (*httptest.Server, *int) {
	t.Helper()
	woken := new(int)
	h := &GitHub{Store: st, Secret: []byte(webhookSecret), Catalog: testCatalog(), MaxBody: 8192, Notify: func() { *woken++ }, Logger: slog.New(slog.DiscardHandler)}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, woken
}

func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// delivery is one webhook request; by default a JSON body signed with the
// secret.
type delivery struct {
	event       string
	body        []byte
	contentType string
	headers     map[string]string // replace the defaults; "" removes one
}

func (d delivery) send(t *testing.T, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(string(d.body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-GitHub-Event", d.event)
	req.Header.Set("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
	req.Header.Set("Content-Type", "application/json")
	if d.contentType != "" {
		req.Header.Set("Content-Type", d.contentType)
	}
	req.Header.Set("X-Hub-Signature-256", sign(webhookSecret, d.body))
	for k, v := range d.headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGitHubWebhookChanges(t *testing.T) {
	form := url.Values{"payload": {string(fixture(t, "github-pull-request-merged.json"))}}.Encode()
	tests := []struct {
		name     string
		d        delivery
		want     []string // stored: "fingerprint | summary | service"
		wantBody string
	}{
		{
			name: "deployment: one change per service whose environments it deploys to",
			d:    delivery{event: "deployment", body: fixture(t, "github-deployment.json")},
			want: []string{
				"github:acme/checkout:deployment:42@checkout | deploy of checkout to production at 14:02 UTC by @ana (aaa1111) | checkout",
				"github:acme/checkout:deployment:42@inventory | deploy of inventory to production at 14:02 UTC by @ana (aaa1111) | inventory",
			},
			wantBody: `"accepted":2`,
		},
		{
			name: "deployment status",
			d:    delivery{event: "deployment_status", body: fixture(t, "github-deployment-status.json")},
			want: []string{
				"github:acme/checkout:deployment:42:failure:9@checkout | deploy of checkout to production at 14:04 UTC (failure) by @deploy-bot (aaa1111) | checkout",
				"github:acme/checkout:deployment:42:failure:9@inventory | deploy of inventory to production at 14:04 UTC (failure) by @deploy-bot (aaa1111) | inventory",
			},
		},
		{
			name: "push to the default branch",
			d:    delivery{event: "push", body: fixture(t, "github-push.json")},
			want: []string{
				"github:acme/checkout:push:bbb2222222222222222222222222222222222222@checkout | push of 2 commits to checkout main at 13:41 UTC by @bob: Fix the retry loop | checkout",
				"github:acme/checkout:push:bbb2222222222222222222222222222222222222@inventory | push of 2 commits to inventory main at 13:41 UTC by @bob: Fix the retry loop | inventory",
			},
		},
		{
			name: "merged pull request, form-encoded",
			d:    delivery{event: "pull_request", body: []byte(form), contentType: "application/x-www-form-urlencoded"},
			want: []string{
				"github:acme/checkout:pr:812@checkout | PR #812 by @ana merged into checkout main at 13:58 UTC: Raise the pool size | checkout",
				"github:acme/checkout:pr:812@inventory | PR #812 by @ana merged into inventory main at 13:58 UTC: Raise the pool size | inventory",
			},
		},
		{
			name: "a repository of no service: stored without one",
			d: delivery{event: "deployment", body: []byte(strings.ReplaceAll(string(fixture(t, "github-deployment.json")),
				`"full_name": "acme/checkout"`, `"full_name": "acme/website"`))},
			want: []string{"github:acme/website:deployment:42 | deploy of acme/website to production at 14:02 UTC by @ana (aaa1111) | "},
		},
		{
			name: "deployment to staging: only the service that counts every environment",
			d: delivery{event: "deployment", body: []byte(strings.ReplaceAll(string(fixture(t, "github-deployment.json")),
				`"environment": "production"`, `"environment": "staging"`))},
			want: []string{"github:acme/checkout:deployment:42@inventory | deploy of inventory to staging at 14:02 UTC by @ana (aaa1111) | inventory"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &changeRecorder{}
			srv, woken := newGitHubServer(t, rec)
			status, body := tt.d.send(t, srv.URL)
			if status != http.StatusOK || !strings.Contains(body, tt.wantBody) {
				t.Fatalf("status %d body %s", status, body)
			}
			var got []string
			for _, sg := range rec.stored() {
				e := sg.Event
				if sg.MayOpen || e.Kind != incident.KindChange || e.Source != "github" || e.Labels["repo"] == "" {
					t.Errorf("stored %+v", sg)
				}
				got = append(got, e.Fingerprint+" | "+e.Summary+" | "+e.Labels["service"])
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("stored:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if *woken != 1 {
				t.Errorf("dispatcher woken %d times, want 1", *woken)
			}
		})
	}
}

func TestGitHubWebhookRefuses(t *testing.T) {
	deployment := fixture(t, "github-deployment.json")
	sha1Sig := func(body []byte) string {
		m := hmac.New(sha1.New, []byte(webhookSecret))
		m.Write(body)
		return "sha1=" + hex.EncodeToString(m.Sum(nil))
	}
	tests := []struct {
		name       string
		d          delivery
		wantStatus int
		wantInBody string
	}{
		{"unsigned", delivery{event: "deployment", body: deployment, headers: map[string]string{"X-Hub-Signature-256": ""}}, 401, "missing X-Hub-Signature-256"},
		{"signed with another secret", delivery{event: "deployment", body: deployment, headers: map[string]string{"X-Hub-Signature-256": sign("guess", deployment)}}, 401, "does not match"},
		{"signature of another body", delivery{event: "deployment", body: deployment, headers: map[string]string{"X-Hub-Signature-256": sign(webhookSecret, []byte("{}"))}}, 401, "does not match"},
		{"garbage signature", delivery{event: "deployment", body: deployment, headers: map[string]string{"X-Hub-Signature-256": "sha256=zz"}}, 401, "does not match"},
		{"SHA-1 only, in its own header", delivery{event: "deployment", body: deployment, headers: map[string]string{"X-Hub-Signature-256": "", "X-Hub-Signature": sha1Sig(deployment)}}, 401, "missing X-Hub-Signature-256"},
		{"SHA-1 in the SHA-256 header", delivery{event: "deployment", body: deployment, headers: map[string]string{"X-Hub-Signature-256": sha1Sig(deployment)}}, 401, "missing X-Hub-Signature-256"},
		{"unsigned with a bad content type", delivery{event: "deployment", body: deployment, contentType: "text/plain", headers: map[string]string{"X-Hub-Signature-256": ""}}, 401, "missing X-Hub-Signature-256"},
		{"too large", delivery{event: "push", body: []byte(`{"commits": [` + strings.Repeat(`{"id": "x"},`, 1000) + `]}`)}, 413, "exceeds 8192 bytes"},
		{"malformed JSON", delivery{event: "deployment", body: []byte(`{"deployment": {`)}, 400, "malformed deployment payload"},
		{"wrong JSON type", delivery{event: "push", body: []byte(`{"commits": "many"}`)}, 400, "malformed push payload"},
		{"missing fields", delivery{event: "deployment", body: []byte(`{"deployment": {"sha": "abc"}}`)}, 400, "repository.full_name: is required"},
		{"no event header", delivery{event: "", body: deployment}, 400, "missing X-GitHub-Event"},
		{"unsupported content type", delivery{event: "deployment", body: deployment, contentType: "text/plain"}, 415, "send application/json"},
		{"form without payload", delivery{event: "deployment", body: []byte("other=1"), contentType: "application/x-www-form-urlencoded"}, 400, "without a payload field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &changeRecorder{}
			srv, _ := newGitHubServer(t, rec)
			status, body := tt.d.send(t, srv.URL)
			if status != tt.wantStatus || !strings.Contains(body, tt.wantInBody) {
				t.Errorf("status %d body %s, want %d with %q", status, body, tt.wantStatus, tt.wantInBody)
			}
			if n := len(rec.stored()); n != 0 {
				t.Errorf("%d changes stored", n)
			}
		})
	}
}

func TestGitHubWebhookWithoutSecretRefusesEverything(t *testing.T) {
	rec := &changeRecorder{}
	srv := httptest.NewServer(&GitHub{Store: rec, Catalog: testCatalog(), Logger: slog.New(slog.DiscardHandler)})
	defer srv.Close()
	body := fixture(t, "github-deployment.json")
	// Signed with the empty key, which anyone can do.
	status, resp := delivery{event: "deployment", body: body, headers: map[string]string{"X-Hub-Signature-256": sign("", body)}}.send(t, srv.URL)
	if status != 401 || !strings.Contains(resp, "no secret configured") || len(rec.stored()) != 0 {
		t.Errorf("status %d body %s stored %d", status, resp, len(rec.stored()))
	}
}

func TestGitHubWebhookIgnores(t *testing.T) {
	pr := string(fixture(t, "github-pull-request-merged.json"))
	push := string(fixture(t, "github-push.json"))
	status := string(fixture(t, "github-deployment-status.json"))
	tests := []struct {
		name       string
		event      string
		body       string
		wantInBody string
	}{
		{"ping", "ping", `{"zen": "Keep it logically awesome.", "hook_id": 1}`, "ping received"},
		{"an event type that is not a change", "issues", `{"action": "opened"}`, `event type \"issues\" is not a change`},
		{"an event type go-github does not know", "brand_new_event", `{}`, `event type \"brand_new_event\" is not a change`},
		{"a pull request opened", "pull_request", strings.Replace(pr, `"action": "closed"`, `"action": "opened"`, 1), "pull request #812 opened without a merge"},
		{"a pull request closed unmerged", "pull_request", strings.Replace(pr, `"merged": true`, `"merged": false`, 1), "pull request #812 closed without a merge"},
		{"a merge into a feature branch", "pull_request", strings.Replace(pr, `"ref": "main"`, `"ref": "feature"`, 1), "concerns no configured service of acme/checkout"},
		{"a push to a feature branch", "push", strings.Replace(push, "refs/heads/main", "refs/heads/feature", 1), "push of 2 commits to acme/checkout feature"},
		{"a tag", "push", strings.Replace(push, "refs/heads/main", "refs/tags/v1.2.0", 1), "push to refs/tags/v1.2.0 is not to a branch"},
		{"a branch deletion", "push", strings.Replace(push, `"deleted": false`, `"deleted": true`, 1), "push deleted refs/heads/main"},
		{"a pending deployment", "deployment_status", strings.Replace(status, `"state": "failure"`, `"state": "pending"`, 1), `deployment status \"pending\" changes nothing yet`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &changeRecorder{}
			srv, woken := newGitHubServer(t, rec)
			code, body := delivery{event: tt.event, body: []byte(tt.body)}.send(t, srv.URL)
			if code != 200 || !strings.Contains(body, tt.wantInBody) || !strings.Contains(body, `"accepted":0`) {
				t.Errorf("status %d body %s, want 200 with %q", code, body, tt.wantInBody)
			}
			if len(rec.stored()) != 0 || *woken != 0 {
				t.Errorf("stored %d, woke %d", len(rec.stored()), *woken)
			}
		})
	}
}

func TestGitHubWebhookStoreDown(t *testing.T) {
	srv, woken := newGitHubServer(t, &changeRecorder{fail: true})
	code, body := delivery{event: "deployment", body: fixture(t, "github-deployment.json")}.send(t, srv.URL)
	if code != 503 || !strings.Contains(body, "redeliver later") || *woken != 0 {
		t.Errorf("status %d body %s woken %d", code, body, *woken)
	}
}

// TestGitHubWebhookIntoTheStore delivers through the real store: a change
// opens no incident, and a redelivery is a duplicate.
func TestGitHubWebhookIntoTheStore(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	srv, _ := newGitHubServer(t, st)
	d := delivery{event: "deployment", body: fixture(t, "github-deployment.json")}
	if code, body := d.send(t, srv.URL); code != 200 || !strings.Contains(body, `"accepted":2,"duplicates":0,"incidents":[]`) {
		t.Fatalf("first delivery: %d %s", code, body)
	}
	if code, body := d.send(t, srv.URL); code != 200 || !strings.Contains(body, `"accepted":0,"duplicates":2`) {
		t.Fatalf("redelivery: %d %s", code, body)
	}
	incs, err := st.ListIncidents(context.Background(), store.IncidentFilter{})
	if err != nil || len(incs) != 0 {
		t.Fatalf("incidents %v %v: a change must not open one", incs, err)
	}
}
