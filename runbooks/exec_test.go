package runbooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigilops/vigil/incident"
)

const testSecret = "hunter2-very-secret"

func run(t *testing.T, e Executor, s incident.Step) incident.StepResult {
	t.Helper()
	res := e.Run(context.Background(), incident.RunRef{IncidentID: "inc-1", RunID: "run-1"}, s)
	if strings.Contains(res.Output+res.Error, testSecret) {
		t.Errorf("secret value in the result: %+v", res)
	}
	return res
}

func wantResult(t *testing.T, res incident.StepResult, status string, exit int, out, errMsg string) {
	t.Helper()
	if res.Status != status || res.ExitCode != exit {
		t.Errorf("status %s exit %d (error %q), want %s exit %d", res.Status, res.ExitCode, res.Error, status, exit)
	}
	if !strings.Contains(res.Output, out) {
		t.Errorf("output %q does not contain %q", res.Output, out)
	}
	if !strings.Contains(res.Error, errMsg) || (errMsg == "" && res.Error != "") {
		t.Errorf("error %q, want %q", res.Error, errMsg)
	}
}

func TestShellStepEnvironmentAndSecrets(t *testing.T) {
	t.Setenv("VIGIL_TEST_SECRET", testSecret)
	t.Setenv("VIGIL_NOT_FOR_STEPS", "leak")
	dir := t.TempDir()
	secrets := map[string]string{"DB_PASSWORD": "env:VIGIL_TEST_SECRET"}
	tests := []struct {
		name      string
		step      incident.Step
		max       int
		status    string
		exit      int
		out, err  string
		truncated bool
	}{
		{name: "plain env, secret env and dir", status: incident.StepSucceeded,
			step: incident.Step{Command: []string{"sh", "-c", `echo "mode=$MODE pw=$DB_PASSWORD in $(pwd) leak=$VIGIL_NOT_FOR_STEPS"`},
				Spec: marshalSpec(ShellSpec{Dir: dir, Env: []string{"MODE=soft"}}), Secrets: secrets},
			out: "mode=soft pw=<secret> in " + dir + " leak=\n"},
		{name: "secret redacted from a failure's output", status: incident.StepFailed, exit: 3,
			step: incident.Step{Command: []string{"sh", "-c", `echo "connect failed for $DB_PASSWORD" >&2; exit 3`}, Secrets: secrets},
			out:  "connect failed for <secret>", err: "exited with status 3"},
		{name: "a secret straddling the output cap is still redacted", status: incident.StepSucceeded, max: 12, truncated: true,
			step: incident.Step{Command: []string{"sh", "-c", `echo "0123456789$DB_PASSWORD"`}, Secrets: secrets},
			out:  "0123456789<s"},
		{name: "a missing secret fails before anything runs", status: incident.StepFailed, exit: -1,
			step: incident.Step{Command: []string{"touch", filepath.Join(dir, "ran")}, Secrets: map[string]string{"API_KEY": "env:VIGIL_TEST_UNSET"}},
			err:  "secret API_KEY: secret env:VIGIL_TEST_UNSET: environment variable VIGIL_TEST_UNSET is not set"},
		{name: "missing working directory", status: incident.StepFailed, exit: -1,
			step: incident.Step{Command: []string{"true"}, Spec: marshalSpec(ShellSpec{Dir: filepath.Join(dir, "nope")})},
			err:  "no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.step.ID, tt.step.Run = "s", incident.StepShell
			res := run(t, Executor{Shell: Shell{MaxOutput: tt.max}}, tt.step)
			wantResult(t, res, tt.status, tt.exit, tt.out, tt.err)
			if res.Truncated != tt.truncated {
				t.Errorf("truncated = %v, want %v", res.Truncated, tt.truncated)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Error("the step ran although its secret could not be resolved")
	}
}

func TestStepsStopWhenCancelled(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer slow.Close()
	steps := []incident.Step{
		{ID: "shell", Run: incident.StepShell, Command: []string{"sleep", "30"}},
		{ID: "http", Run: incident.StepHTTP, Spec: marshalSpec(HTTPSpec{Method: "GET", URL: slow.URL})},
		{ID: "wait", Run: incident.StepWait, Spec: marshalSpec(WaitSpec{Duration: time.Minute})},
		{ID: "verify", Run: incident.StepVerify, Timeout: time.Minute, Spec: marshalSpec(VerifySpec{Interval: time.Second, Shell: &ShellCheck{Command: []string{"false"}}})},
	}
	for _, s := range steps {
		t.Run(s.ID, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(150*time.Millisecond, cancel)
			start := time.Now()
			res := Executor{}.Run(ctx, incident.RunRef{}, s)
			if res.Status != incident.StepFailed || res.Error != "cancelled" || time.Since(start) > 5*time.Second {
				t.Errorf("after cancel: %s %q in %s", res.Status, res.Error, time.Since(start))
			}
		})
	}
}

func TestStepTimeouts(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer slow.Close()
	tests := []struct {
		step incident.Step
		err  string
	}{
		{incident.Step{ID: "shell", Run: incident.StepShell, Command: []string{"sleep", "30"}, Timeout: 150 * time.Millisecond}, "timed out after 150ms and was killed"},
		{incident.Step{ID: "http", Run: incident.StepHTTP, Timeout: 150 * time.Millisecond, Spec: marshalSpec(HTTPSpec{Method: "GET", URL: slow.URL})}, "timed out after 150ms"},
	}
	for _, tt := range tests {
		t.Run(tt.step.ID, func(t *testing.T) {
			res := run(t, Executor{}, tt.step)
			wantResult(t, res, incident.StepFailed, -1, "", tt.err)
		})
	}
}

func TestHTTPStep(t *testing.T) {
	t.Setenv("VIGIL_TEST_SECRET", testSecret)
	var mu sync.Mutex
	var got *http.Request
	var gotBody string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, gotBody = r, string(b)
		mu.Unlock()
		switch r.URL.Path {
		case "/ok":
			fmt.Fprint(w, `{"status": "ok", "items": [{"ready": true, "replicas": 3}], "n": null}`)
		case "/echo-token":
			fmt.Fprintf(w, "you sent %s", r.Header.Get("Authorization"))
		case "/down":
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"status": "down"}`)
		case "/text":
			fmt.Fprint(w, "plain text")
		}
	}))
	defer srv.Close()
	secrets := map[string]string{"TOKEN": "env:VIGIL_TEST_SECRET"}
	tests := []struct {
		name     string
		spec     HTTPSpec
		status   string
		exit     int
		out, err string
	}{
		{name: "assertions pass", status: incident.StepSucceeded,
			spec: HTTPSpec{Method: "POST", URL: srv.URL + "/ok", Body: `{"a":1}`, Headers: []Header{{"Authorization", "Bearer ${TOKEN}"}},
				Status: []int{200}, JSON: []JSONAssertion{{"status", "ok"}, {"items.0.ready", "true"}, {"$.items.0.replicas", "3"}, {"n", "null"}}},
			out: "HTTP 200 OK\n{\"status\": \"ok\""},
		{name: "unexpected status", status: incident.StepFailed, exit: 1,
			spec: HTTPSpec{Method: "GET", URL: srv.URL + "/down"}, out: "HTTP 503", err: "status 503, expect 2xx"},
		{name: "accepted non-2xx status", status: incident.StepSucceeded,
			spec: HTTPSpec{Method: "GET", URL: srv.URL + "/down", Status: []int{503}, JSON: []JSONAssertion{{"status", "down"}}}},
		{name: "value differs", status: incident.StepFailed, exit: 1,
			spec: HTTPSpec{Method: "GET", URL: srv.URL + "/ok", JSON: []JSONAssertion{{"items.0.replicas", "4"}}}, err: `items.0.replicas is "3", want "4"`},
		{name: "path missing", status: incident.StepFailed, exit: 1,
			spec: HTTPSpec{Method: "GET", URL: srv.URL + "/ok", JSON: []JSONAssertion{{"items.1.ready", "true"}}}, err: "items.1.ready: 1 is not an index of an array of 1"},
		{name: "not JSON", status: incident.StepFailed, exit: 1,
			spec: HTTPSpec{Method: "GET", URL: srv.URL + "/text", JSON: []JSONAssertion{{"status", "ok"}}}, err: "response is not JSON"},
		{name: "secret echoed back is redacted", status: incident.StepSucceeded,
			spec: HTTPSpec{Method: "GET", URL: srv.URL + "/echo-token", Headers: []Header{{"Authorization", "Bearer ${TOKEN}"}}}, out: "you sent Bearer <secret>"},
		{name: "connection refused", status: incident.StepFailed, exit: -1,
			spec: HTTPSpec{Method: "GET", URL: "http://127.0.0.1:1/"}, err: "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := run(t, Executor{}, incident.Step{ID: "h", Run: incident.StepHTTP, Spec: marshalSpec(tt.spec), Secrets: secrets})
			wantResult(t, res, tt.status, tt.exit, tt.out, tt.err)
		})
	}
	// The first case sent the secret where ${TOKEN} was, and the body as given.
	run(t, Executor{}, incident.Step{ID: "h", Run: incident.StepHTTP, Secrets: secrets, Spec: marshalSpec(tests[0].spec)})
	mu.Lock()
	defer mu.Unlock()
	if got.Method != "POST" || got.Header.Get("Authorization") != "Bearer "+testSecret || gotBody != `{"a":1}` {
		t.Errorf("request %s auth %q body %q", got.Method, got.Header.Get("Authorization"), gotBody)
	}
}

func TestWaitStep(t *testing.T) {
	start := time.Now()
	res := run(t, Executor{}, incident.Step{ID: "w", Run: incident.StepWait, Spec: marshalSpec(WaitSpec{Duration: 100 * time.Millisecond})})
	wantResult(t, res, incident.StepSucceeded, 0, "waited 100ms", "")
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("waited %s, want 100ms", d)
	}
}

func TestVerifyStep(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, `{"status": "ok"}`)
	}))
	defer srv.Close()
	flag := filepath.Join(t.TempDir(), "ready")
	time.AfterFunc(200*time.Millisecond, func() { _ = os.WriteFile(flag, nil, 0o600) })

	tests := []struct {
		name     string
		spec     VerifySpec
		timeout  time.Duration
		status   string
		exit     int
		out, err string
	}{
		{name: "http passes on the third attempt", timeout: 5 * time.Second, status: incident.StepSucceeded,
			spec: VerifySpec{Interval: 20 * time.Millisecond, HTTP: &HTTPSpec{Method: "GET", URL: srv.URL, JSON: []JSONAssertion{{"status", "ok"}}}},
			out:  "passed on attempt 3"},
		{name: "shell check passes once the file exists", timeout: 5 * time.Second, status: incident.StepSucceeded,
			spec: VerifySpec{Interval: 50 * time.Millisecond, Shell: &ShellCheck{Command: []string{"test", "-e", flag}}},
			out:  "passed on attempt"},
		{name: "gives up at the timeout with the last reason", timeout: 300 * time.Millisecond, status: incident.StepFailed, exit: 1,
			spec: VerifySpec{Interval: 50 * time.Millisecond, Shell: &ShellCheck{Command: []string{"sh", "-c", "echo not yet; exit 1"}}},
			out:  "not yet", err: "did not pass within 300ms ("},
		{name: "no check", timeout: time.Second, status: incident.StepFailed, exit: -1,
			spec: VerifySpec{Interval: time.Second}, err: "no check"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := run(t, Executor{}, incident.Step{ID: "v", Run: incident.StepVerify, Timeout: tt.timeout, Spec: marshalSpec(tt.spec)})
			wantResult(t, res, tt.status, tt.exit, tt.out, tt.err)
		})
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("the http check was called %d times, want 3 (it stops polling once it passes)", n)
	}
}

// githubAPI fakes the REST endpoints github steps use, recording each request.
type githubAPI struct {
	mu   sync.Mutex
	seen []string // "METHOD path body"
}

func (g *githubAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	g.mu.Lock()
	g.seen = append(g.seen, r.Method+" "+r.URL.Path+" "+strings.TrimSpace(string(b)))
	g.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer gh-token" {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"message": "Bad credentials"}`)
		return
	}
	switch r.Method + " " + r.URL.Path {
	case "POST /repos/acme/shop/actions/workflows/rollback.yml/dispatches":
		w.WriteHeader(http.StatusNoContent)
	case "POST /repos/acme/shop/issues":
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"number": 42, "html_url": "https://github.com/acme/shop/issues/42"}`)
	case "POST /repos/acme/shop/issues/12/comments":
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"id": 1, "html_url": "https://github.com/acme/shop/issues/12#issuecomment-1"}`)
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"message": "Not Found"}`)
	}
}

func TestGitHubStep(t *testing.T) {
	api := &githubAPI{}
	srv := httptest.NewServer(api)
	defer srv.Close()
	gh, err := NewGitHubClient(srv.URL+"/", "gh-token", nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		client   bool
		spec     GitHubSpec
		status   string
		out, err string
		request  string
	}{
		{name: "dispatch a workflow", client: true, status: incident.StepSucceeded,
			spec:    GitHubSpec{Action: GitHubDispatchWorkflow, Owner: "acme", Repo: "shop", Workflow: "rollback.yml", Ref: "main", Inputs: map[string]string{"version": "v1.2.3"}},
			out:     "dispatched workflow rollback.yml on acme/shop@main",
			request: `POST /repos/acme/shop/actions/workflows/rollback.yml/dispatches {"ref":"main","inputs":{"version":"v1.2.3"}}`},
		{name: "open an issue", client: true, status: incident.StepSucceeded,
			spec:    GitHubSpec{Action: GitHubCreateIssue, Owner: "acme", Repo: "shop", Title: "Checkout down", Body: "See the incident", Labels: []string{"incident"}},
			out:     "opened issue #42: https://github.com/acme/shop/issues/42",
			request: `POST /repos/acme/shop/issues {"title":"Checkout down","body":"See the incident","labels":["incident"]}`},
		{name: "comment", client: true, status: incident.StepSucceeded,
			spec:    GitHubSpec{Action: GitHubComment, Owner: "acme", Repo: "shop", Issue: 12, Body: "Rolled back"},
			out:     "commented on acme/shop#12: https://github.com/acme/shop/issues/12#issuecomment-1",
			request: `POST /repos/acme/shop/issues/12/comments {"body":"Rolled back"}`},
		{name: "API error is the step's error", client: true, status: incident.StepFailed,
			spec: GitHubSpec{Action: GitHubDispatchWorkflow, Owner: "acme", Repo: "other", Workflow: "x.yml", Ref: "main"},
			err:  "404 Not Found"},
		{name: "no client configured", status: incident.StepFailed,
			spec: GitHubSpec{Action: GitHubComment, Owner: "acme", Repo: "shop", Issue: 1, Body: "x"},
			err:  "set github.token in vigil.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := Executor{}
			if tt.client {
				e.GitHub = gh
			}
			api.mu.Lock()
			api.seen = nil
			api.mu.Unlock()
			res := run(t, e, incident.Step{ID: "g", Run: incident.StepGitHub, Spec: marshalSpec(tt.spec)})
			if res.Status != tt.status || !strings.Contains(res.Output, tt.out) || !strings.Contains(res.Error, tt.err) {
				t.Errorf("result %s %q %q, want %s %q %q", res.Status, res.Output, res.Error, tt.status, tt.out, tt.err)
			}
			if tt.request != "" && (len(api.seen) != 1 || api.seen[0] != tt.request) {
				t.Errorf("requests %q, want %q", api.seen, tt.request)
			}
		})
	}
}

type fakeNotifier struct {
	got []string
	err error
}

func (f *fakeNotifier) Notify(_ context.Context, ref incident.RunRef, channel, text string) error {
	f.got = append(f.got, ref.IncidentID+"|"+channel+"|"+text)
	return f.err
}

func TestNotifyAndApprovalSteps(t *testing.T) {
	ok, broken := &fakeNotifier{}, &fakeNotifier{err: errors.New("channel_not_found")}
	notify := func(ch string) incident.Step {
		return incident.Step{ID: "n", Run: incident.StepNotify, Spec: marshalSpec(NotifySpec{Channel: ch, Text: "done"})}
	}
	tests := []struct {
		name     string
		e        Executor
		step     incident.Step
		status   string
		out, err string
	}{
		{"thread", Executor{Notifier: ok}, notify(""), incident.StepSucceeded, "posted to the incident thread", ""},
		{"channel", Executor{Notifier: ok}, notify("#ops"), incident.StepSucceeded, "posted to #ops", ""},
		{"notifier fails", Executor{Notifier: broken}, notify("#nope"), incident.StepFailed, "", "channel_not_found"},
		{"no notifier", Executor{}, notify(""), incident.StepFailed, "", "notify steps need a chat surface"},
		{"approval is never executed", Executor{Notifier: ok}, incident.Step{ID: "a", Run: incident.StepApproval}, incident.StepFailed, "", "approval steps are gates the workflow holds"},
		{"unknown type", Executor{}, incident.Step{ID: "x", Run: "ssh"}, incident.StepFailed, "", `step type "ssh" cannot be executed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := run(t, tt.e, tt.step)
			if res.Status != tt.status || !strings.Contains(res.Output, tt.out) || !strings.Contains(res.Error, tt.err) {
				t.Errorf("result %s %q %q, want %s %q %q", res.Status, res.Output, res.Error, tt.status, tt.out, tt.err)
			}
		})
	}
	if want := []string{"inc-1||done", "inc-1|#ops|done"}; strings.Join(ok.got, ",") != strings.Join(want, ",") {
		t.Errorf("notified %q, want %q", ok.got, want)
	}
}

// TestRenderedStepsExecute renders runbook steps and runs them, so the Spec the
// renderer writes is the Spec the executor reads.
func TestRenderedStepsExecute(t *testing.T) {
	t.Setenv("VIGIL_TEST_SECRET", testSecret)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Token") != testSecret || r.URL.Query().Get("svc") != "checkout" {
			w.WriteHeader(http.StatusForbidden)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"svc": r.URL.Query().Get("svc"), "token": r.Header.Get("X-Token")})
	}))
	defer srv.Close()
	rb := parseOne(t, `id: r
title: R
match: {matchers: ['alertname="X"']}
params: {svc: {from: label.service, pattern: '[a-z]+'}}
secrets: {TOKEN: env:VIGIL_TEST_SECRET}
approval: {approvers: [user:a]}
steps:
  - id: call
    run: http
    url: "`+srv.URL+`/?svc={{ .params.svc }}"
    headers: {X-Token: "${TOKEN}"}
    env: [TOKEN]
    expect: {json: {svc: checkout}}
  - id: sh
    run: shell
    command: [sh, -c, 'test "$TOKEN" = "$1" && echo "token is $TOKEN"', sh, `+testSecret+`]
    env: [TOKEN]
`, Directory{})
	p, err := rb.Render(Context{Labels: map[string]string{"alertname": "X", "service": "checkout"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.Steps {
		res := Executor{}.Run(context.Background(), incident.RunRef{}, s)
		if res.Status != incident.StepSucceeded || !strings.Contains(res.Output, "<secret>") || strings.Contains(res.Output, testSecret) {
			t.Errorf("%s: %s %q %q", s.ID, res.Status, res.Error, res.Output)
		}
	}
}
