package activities

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/store"
)

// fakeGitHub is just enough of GitHub's issues API, recording what it was asked.
type fakeGitHub struct {
	mu     sync.Mutex
	issues []map[string]any
	auth   []string
	lists  []string // query strings of list calls
	fail   bool
}

func (f *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	if f.fail {
		http.Error(w, `{"message":"Server Error"}`, http.StatusInternalServerError)
		return
	}
	const base = "/api/v3/repos/acme/incidents/issues" // a GitHub Enterprise Server API root
	var req map[string]any
	if r.Body != nil {
		_ = json.NewDecoder(r.Body).Decode(&req)
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == base:
		f.lists = append(f.lists, r.URL.RawQuery)
		_ = json.NewEncoder(w).Encode(f.issues)
	case r.Method == http.MethodPost && r.URL.Path == base:
		n := len(f.issues) + 1
		req["number"], req["html_url"] = n, fmt.Sprintf("https://github.example/acme/incidents/issues/%d", n)
		var labels []map[string]any // GitHub answers with label objects
		for _, l := range req["labels"].([]any) {
			labels = append(labels, map[string]any{"name": l})
		}
		req["labels"] = labels
		f.issues = append(f.issues, req)
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(req)
	case r.Method == http.MethodPatch && strings.HasPrefix(r.URL.Path, base+"/"):
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, base+"/"))
		is := f.issues[n-1]
		is["title"], is["body"] = req["title"], req["body"]
		_ = json.NewEncoder(w).Encode(is)
	default:
		http.NotFound(w, r)
	}
}

// threadRecorder is a chat surface that keeps the last post of each key.
type threadRecorder struct {
	mu    sync.Mutex
	posts map[string]bot.Message
}

func (t *threadRecorder) Post(_ context.Context, _, key string, m bot.Message) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.posts[key] = m
	return nil
}

func reviewEnv(t *testing.T, signed bool, gh http.Handler) (*testsuite.TestActivityEnvironment, *Review, *threadRecorder, *store.Store) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if signed {
		_, key, _ := ed25519.GenerateKey(rand.Reader)
		if _, err := st.EnableSigning(context.Background(), audit.NewSigner(key)); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	for i, action := range []string{"incident.opened", "alert.firing", "incident.resolved"} {
		if _, err := st.AppendAudit(context.Background(), audit.Entry{
			Key: fmt.Sprintf("inc-1/%d", i), Incident: "inc-1", At: at.Add(time.Duration(i) * time.Minute), Actor: "system:vigil", Action: action,
			Details: map[string]any{"evidence": "E1", "reason": "Every alert of this incident has resolved."},
		}); err != nil {
			t.Fatal(err)
		}
	}
	thread := &threadRecorder{posts: map[string]bot.Message{}}
	rv := &Review{Store: st, Chat: thread, Logger: slog.New(slog.DiscardHandler)}
	if gh != nil {
		srv := httptest.NewServer(gh)
		t.Cleanup(srv.Close)
		issues, err := NewGitHubIssues(srv.URL+"/api/v3", "s3cret", "acme/incidents", []string{"postmortem", "sev2"}, srv.Client())
		if err != nil {
			t.Fatal(err)
		}
		rv.Issues = issues
	}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(rv)
	return env, rv, thread, st
}

var resolvedIncident = incident.Incident{
	ID: "inc-1", Title: "DiskFillingUp on db", Severity: "critical", Status: incident.StatusResolved, Services: []string{"db"},
	Reason: "Every alert of this incident has resolved.", DetectedAt: time.Date(2026, 11, 24, 2, 59, 0, 0, time.UTC),
}

func TestPostmortemIsPostedAndFiledOnce(t *testing.T) {
	gh := &fakeGitHub{}
	env, rv, thread, _ := reviewEnv(t, true, gh)
	var first, second PostmortemResult
	for _, res := range []*PostmortemResult{&first, &second} {
		v, err := env.ExecuteActivity(rv.Postmortem, PostmortemInput{Incident: resolvedIncident})
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Get(res); err != nil {
			t.Fatal(err)
		}
	}
	if len(gh.issues) != 1 {
		t.Fatalf("%d issues filed for one incident posted twice, want 1", len(gh.issues))
	}
	is := gh.issues[0]
	body, _ := is["body"].(string)
	if is["title"] != "Postmortem: DiskFillingUp on db (inc-1)" || fmt.Sprint(is["labels"]) != "[map[name:postmortem] map[name:sev2]]" ||
		!strings.Contains(body, "## Follow-ups") || !strings.Contains(body, "<!-- vigil:postmortem incident=inc-1 -->") {
		t.Errorf("issue = %v", is)
	}
	for _, a := range gh.auth {
		if a != "Bearer s3cret" {
			t.Errorf("request authorized with %q", a)
		}
	}
	if len(gh.lists) != 2 || !strings.Contains(gh.lists[0], "labels=postmortem%2Csev2") || !strings.Contains(gh.lists[0], "state=all") {
		t.Errorf("list calls = %v", gh.lists)
	}
	if first.IssueURL != "https://github.example/acme/incidents/issues/1" || second.IssueURL != first.IssueURL {
		t.Errorf("issue URLs %q then %q", first.IssueURL, second.IssueURL)
	}
	if !first.Checkpoint.Signed || first.Checkpoint.Checkpoint.N != second.Checkpoint.Checkpoint.N || first.Checkpoint.Checkpoint.IncidentRecords != 3 {
		t.Errorf("checkpoints %+v then %+v: want one signed checkpoint over 3 records, reused", first.Checkpoint, second.Checkpoint)
	}
	m := thread.posts[PostmortemKey]
	if m.Title != "Postmortem draft" || len(m.Fields) != 1 || m.Fields[0].Value != first.IssueURL ||
		!strings.Contains(m.Code, fmt.Sprintf("sealed by signed checkpoint #%d", first.Checkpoint.Checkpoint.N)) {
		t.Errorf("thread post = %+v", m)
	}
}

func TestPostmortemReachesTheThreadWhenGitHubFails(t *testing.T) {
	env, rv, thread, _ := reviewEnv(t, false, &fakeGitHub{fail: true})
	_, err := env.ExecuteActivity(rv.Postmortem, PostmortemInput{Incident: resolvedIncident})
	if err == nil || !strings.Contains(err.Error(), "file issue") {
		t.Fatalf("postmortem with GitHub down = %v, want a filing error (so Temporal retries)", err)
	}
	m, ok := thread.posts[PostmortemKey]
	if !ok || !strings.Contains(m.Fields[0].Value, "not filed yet") || !strings.Contains(m.Code, "The audit trail is not signed") {
		t.Errorf("thread post = %+v (posted %v)", m, ok)
	}
}

func TestCheckpointActivity(t *testing.T) {
	for _, signed := range []bool{true, false} {
		t.Run(fmt.Sprintf("signed=%v", signed), func(t *testing.T) {
			env, rv, _, _ := reviewEnv(t, signed, nil)
			v, err := env.ExecuteActivity(rv.Checkpoint, CheckpointInput{IncidentID: "inc-1"})
			if err != nil {
				t.Fatal(err)
			}
			var res CheckpointResult
			if err := v.Get(&res); err != nil {
				t.Fatal(err)
			}
			if res.Signed != signed || (signed && (res.Checkpoint.Incident != "inc-1" || res.Checkpoint.IncidentRecords != 3)) {
				t.Errorf("checkpoint = %+v", res)
			}
			_, err = env.ExecuteActivity(rv.Checkpoint, CheckpointInput{IncidentID: "no-such-incident"})
			if signed && (err == nil || !strings.Contains(err.Error(), "no audit records")) {
				t.Errorf("checkpoint of an incident without records = %v", err)
			}
		})
	}
}
