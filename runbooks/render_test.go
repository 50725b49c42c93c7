package runbooks

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/incident"
)

// everyStep uses every step type, typed and input params and a secret.
const everyStep = `id: every-step
title: Every step type
match: {matchers: ['alertname="X"']}
params:
  svc: {from: label.service, pattern: '[a-z-]+'}
  replicas: {type: int, from: input, description: "How many replicas?"}
  mode: {type: enum, values: [soft, hard], from: input, description: "Which mode?"}
  grace: {type: duration, default: 30s}
  dry: {type: bool, from: annotation.dry, default: "false"}
risk: high
secrets:
  TOKEN: env:VIGIL_TEST_TOKEN
approval:
  approvers: [group:oncall, user:carol]
  expires: 30m
  escalate_to: [group:sre]
steps:
  - id: sh
    run: shell
    command: [kubectl, scale, "deploy/{{ .params.svc }}", "--replicas={{ .params.replicas }}"]
    dir: /srv
    env: [TOKEN, "MODE={{ .params.mode }}"]
    retries: 2
  - id: call
    run: http
    method: post
    url: "https://api.example.com/{{ .params.svc }}/restart?dry={{ .params.dry }}"
    headers: {Authorization: "Bearer ${TOKEN}"}
    body: '{"grace": "{{ .params.grace }}"}'
    env: [TOKEN]
    expect: {status: [200, 202], json: {"result.ok": "true"}}
  - id: pause
    run: wait
    duration: 45s
  - id: gate
    run: approval
    message: "Go on with {{ .params.svc }}?"
  - id: check
    run: verify
    interval: 5s
    timeout: 1m
    check: {shell: {command: [curl, -fsS, "http://{{ .params.svc }}/healthz"]}}
  - id: dispatch
    run: github
    action: dispatch_workflow
    repo: acme/shop
    workflow: deploy.yml
    ref: main
    inputs: {service: "{{ .params.svc }}"}
  - id: tell
    run: notify
    channel: "#ops"
    text: "{{ .incident.id }}: {{ .params.svc }} scaled to {{ .params.replicas }}"
rollback:
  - id: undo
    run: shell
    command: [kubectl, rollout, undo, "deploy/{{ .params.svc }}"]
`

func parseOne(t *testing.T, doc string, d Directory) *Runbook {
	t.Helper()
	rb, ps := Parse("test.yaml", []byte(doc), d)
	if len(ps) > 0 {
		t.Fatalf("problems:\n%v", ps)
	}
	return rb
}

func TestRenderEveryStepType(t *testing.T) {
	t.Setenv("VIGIL_TEST_TOKEN", "s3cr3t-value")
	d := Directory{Groups: map[string][]string{"oncall": {"alice"}, "sre": {"bob"}}}
	rb := parseOne(t, everyStep, d)
	ctx := Context{
		Labels:    map[string]string{"alertname": "X", "service": "checkout"},
		Incident:  &incident.Incident{ID: "incident-7"},
		Directory: d,
	}

	_, err := rb.Render(ctx)
	var ni *NeedsInputError
	if !errors.As(err, &ni) {
		t.Fatalf("render without inputs: %v, want *NeedsInputError", err)
	}
	wantInputs := []InputParam{
		{Name: "replicas", Type: TypeInt, Prompt: "How many replicas?"},
		{Name: "mode", Type: TypeEnum, Values: []string{"soft", "hard"}, Prompt: "Which mode?"},
	}
	if !reflect.DeepEqual(ni.Params, wantInputs) || ni.RunbookID != "every-step" {
		t.Errorf("needs input %+v, want %+v", ni, wantInputs)
	}

	ctx.Inputs = map[string]string{"replicas": "007", "mode": "soft"}
	p, err := rb.Render(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := paramMap(p); !reflect.DeepEqual(got, map[string]string{"svc": "checkout", "replicas": "7", "mode": "soft", "grace": "30s", "dry": "false"}) {
		t.Errorf("params = %v (ints are normalised, defaults applied)", got)
	}
	if p.MinApprovals != 2 || p.SelfApproval || p.Expires != 30*time.Minute || p.OnExpiry != OnExpiryEscalate ||
		!reflect.DeepEqual(p.EscalateTo, []string{"group:sre"}) || !reflect.DeepEqual(p.Allowed, []string{"alice", "carol"}) ||
		!reflect.DeepEqual(p.Approvers, []string{"group:oncall", "user:carol"}) {
		t.Errorf("approval policy = min %d self %v expires %v on %q escalate %v allowed %v approvers %v",
			p.MinApprovals, p.SelfApproval, p.Expires, p.OnExpiry, p.EscalateTo, p.Allowed, p.Approvers)
	}

	steps := map[string]incident.Step{}
	for _, s := range append(p.Steps, p.Rollback...) {
		steps[s.ID] = s
	}
	tests := []struct {
		id      string
		display string
		spec    any
		check   func(s incident.Step) string
	}{
		{id: "sh", display: "env TOKEN=<secret> MODE=soft kubectl scale deploy/checkout --replicas=7  (in /srv)",
			spec: &ShellSpec{Dir: "/srv", Env: []string{"MODE=soft"}},
			check: func(s incident.Step) string {
				if !reflect.DeepEqual(s.Command, []string{"kubectl", "scale", "deploy/checkout", "--replicas=7"}) ||
					!reflect.DeepEqual(s.Secrets, map[string]string{"TOKEN": "env:VIGIL_TEST_TOKEN"}) || s.Retries != 2 || s.Backoff != DefaultBackoff {
					return "shell step fields wrong"
				}
				return ""
			}},
		{id: "call", display: `POST https://api.example.com/checkout/restart?dry=false -H 'Authorization: Bearer ${TOKEN}' -d '{"grace": "30s"}' → expect 200 or 202, result.ok == "true"`,
			spec: &HTTPSpec{Method: "POST", URL: "https://api.example.com/checkout/restart?dry=false", Headers: []Header{{"Authorization", "Bearer ${TOKEN}"}},
				Body: `{"grace": "30s"}`, Status: []int{200, 202}, JSON: []JSONAssertion{{Path: "result.ok", Equals: "true"}}}},
		{id: "pause", display: "wait 45s", spec: &WaitSpec{Duration: 45 * time.Second},
			check: func(s incident.Step) string {
				if s.Timeout != 45*time.Second || !s.Idempotent {
					return "a wait lasts its duration and is idempotent"
				}
				return ""
			}},
		{id: "gate", display: `wait for approval: "Go on with checkout?"`, spec: &ApprovalSpec{Message: "Go on with checkout?"}},
		{id: "check", display: "verify every 5s for up to 1m: curl -fsS http://checkout/healthz exits 0",
			spec: &VerifySpec{Interval: 5 * time.Second, Shell: &ShellCheck{Command: []string{"curl", "-fsS", "http://checkout/healthz"}}},
			check: func(s incident.Step) string {
				if !s.Idempotent || s.Timeout != time.Minute {
					return "verify steps are idempotent and keep trying for their timeout"
				}
				return ""
			}},
		{id: "dispatch", display: "github: run workflow deploy.yml on acme/shop@main with service=checkout",
			spec: &GitHubSpec{Action: GitHubDispatchWorkflow, Owner: "acme", Repo: "shop", Workflow: "deploy.yml", Ref: "main", Inputs: map[string]string{"service": "checkout"}}},
		{id: "tell", display: `notify #ops: "incident-7: checkout scaled to 7"`, spec: &NotifySpec{Channel: "#ops", Text: "incident-7: checkout scaled to 7"}},
		{id: "undo", display: "kubectl rollout undo deploy/checkout"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			s, ok := steps[tt.id]
			if !ok {
				t.Fatal("not rendered")
			}
			if s.Display != tt.display {
				t.Errorf("display\n got %s\nwant %s", s.Display, tt.display)
			}
			if tt.spec != nil {
				got := reflect.New(reflect.TypeOf(tt.spec).Elem()).Interface()
				if err := json.Unmarshal(s.Spec, got); err != nil || !reflect.DeepEqual(got, tt.spec) {
					t.Errorf("spec %s (%v), want %+v", s.Spec, err, tt.spec)
				}
			}
			if tt.check != nil {
				if msg := tt.check(s); msg != "" {
					t.Error(msg)
				}
			}
		})
	}
	whole, _ := json.Marshal(p)
	if strings.Contains(string(whole), "s3cr3t-value") || strings.Contains(p.PlanText(), "s3cr3t-value") {
		t.Error("a secret value reached the proposal")
	}
}

func TestRenderRefusesBadValues(t *testing.T) {
	rb := parseOne(t, everyStep, Directory{Groups: map[string][]string{"oncall": {"alice"}, "sre": {"bob"}}})
	base := func() Context {
		return Context{Labels: map[string]string{"alertname": "X", "service": "checkout"}, Inputs: map[string]string{"replicas": "3", "mode": "hard"}}
	}
	tests := []struct {
		name    string
		mutate  func(c *Context)
		wantErr string
	}{
		{"label breaks its pattern", func(c *Context) { c.Labels["service"] = "checkout; reboot" }, `param svc: value "checkout; reboot" does not match its pattern`},
		{"input not a number", func(c *Context) { c.Inputs["replicas"] = "3 --all" }, `param replicas: value "3 --all" is not a whole number`},
		{"input not a choice", func(c *Context) { c.Inputs["mode"] = "nuclear" }, `param mode: value "nuclear" is not one of soft, hard`},
		{"annotation not a bool", func(c *Context) { c.Annotations = map[string]string{"dry": "maybe"} }, `param dry: value "maybe" is not true or false`},
		{"incident missing for a template that needs it", func(c *Context) {}, `step tell: text: "{{ .incident.id }}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			tt.mutate(&c)
			_, err := rb.Render(c)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestMatchSpecificity(t *testing.T) {
	mk := func(id, matchers string) File {
		return File{Name: id + ".yaml", Data: []byte("id: " + id + "\ntitle: t\nmatch: {matchers: [" + matchers + "]}\napproval: {approvers: [user:a]}\nsteps: [{id: s, run: wait, duration: 1s}]\n")}
	}
	lib, ps := Load([]File{
		mk("broad", `'severity=~"warning|critical"'`),
		mk("exact-pair", `'alertname="HighLatency"', 'service="checkout"'`),
		mk("name-and-regex", `'alertname="HighLatency"', 'service=~"check.*"'`),
		mk("two-regexes", `'alertname=~"High.*"', 'service=~".+"'`),
		mk("not-this", `'alertname="Other"'`),
	}, "", Directory{})
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	var got []string
	for _, h := range lib.Match(map[string]string{"alertname": "HighLatency", "service": "checkout", "severity": "critical"}) {
		got = append(got, h.Runbook.ID)
	}
	want := []string{"exact-pair", "name-and-regex", "two-regexes", "broad"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order %v, want %v (equality beats regexp, more matchers beat fewer)", got, want)
	}
}
