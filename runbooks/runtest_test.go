package runbooks

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/internal/golden"
)

func TestDryRun(t *testing.T) {
	p := incident.Proposal{
		Steps:    []incident.Step{{ID: "check"}, {ID: "gate", Run: incident.StepApproval}, {ID: "change"}, {ID: "verify"}},
		Rollback: []incident.Step{{ID: "notify-undo"}, {ID: "undo"}},
	}
	tests := []struct {
		name string
		fail []string
		want DryRunResult
	}{
		{"all pass", nil, DryRunResult{Ran: []string{"check", "gate", "change", "verify"}, Outcome: OutcomeSucceeded}},
		{"verify fails: rollback last listed first", []string{"verify"},
			DryRunResult{Ran: []string{"check", "gate", "change", "verify"}, RolledBack: []string{"undo", "notify-undo"}, Outcome: OutcomeRolledBack}},
		{"refused gate stops the run", []string{"gate"},
			DryRunResult{Ran: []string{"check", "gate"}, RolledBack: []string{"undo", "notify-undo"}, Outcome: OutcomeRolledBack}},
		{"a failing rollback step does not stop the others", []string{"change", "undo"},
			DryRunResult{Ran: []string{"check", "gate", "change"}, RolledBack: []string{"undo", "notify-undo"}, Outcome: OutcomeRollbackFailed}},
		{"a failing rollback step alone changes nothing", []string{"undo"},
			DryRunResult{Ran: []string{"check", "gate", "change", "verify"}, Outcome: OutcomeSucceeded}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DryRun(p, tt.fail); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("DryRun = %+v, want %+v", got, tt.want)
			}
		})
	}
	p.Rollback = nil
	if got := DryRun(p, []string{"change"}); got.Outcome != OutcomeFailed || got.RolledBack != nil {
		t.Errorf("no rollback: %+v", got)
	}
}

// TestRunTestsReportsWhatDiffers runs tests whose expectations are wrong and
// checks each failure says what was expected and what happened.
func TestRunTestsReportsWhatDiffers(t *testing.T) {
	rb := parseOne(t, `id: r
title: R
match: {matchers: ['alertname="X"', 'svc=~".+"']}
params:
  svc: {from: label.svc, pattern: '[a-z]+'}
  n: {type: int, from: input, description: "How many?"}
approval: {approvers: [user:a]}
steps:
  - {id: one, run: shell, command: [echo, "{{ .params.svc }}", "{{ .params.n }}"]}
  - {id: two, run: shell, command: [echo, two]}
rollback:
  - {id: undo, run: shell, command: [echo, undo]}
tests:
  - name: right
    alert: {labels: {alertname: X, svc: web}}
    inputs: {n: "2"}
    expect: {params: {svc: web, n: "2"}, plan: ["one: echo web 2", "two: echo two", "rollback undo: echo undo"]}
    dry_run: {fail: [two], ran: [one, two], rolled_back: [undo], outcome: rolled_back}
  - name: wrong match
    alert: {labels: {alertname: X}}
  - name: unexpected match
    alert: {labels: {alertname: X, svc: web}}
    expect: {match: false}
  - name: wrong params and plan
    alert: {labels: {alertname: X, svc: web}}
    inputs: {n: "3"}
    expect: {params: {svc: api}, plan: ["one: echo web 2", "two: echo two"]}
  - name: wrong dry run
    alert: {labels: {alertname: X, svc: web}}
    inputs: {n: "3"}
    dry_run: {fail: [one], ran: [one, two], rolled_back: [], outcome: succeeded}
  - name: input not asked
    alert: {labels: {alertname: X, svc: web}}
    inputs: {n: "3"}
    expect: {needs_input: [n]}
  - name: refusal expected but proposed
    alert: {labels: {alertname: X, svc: web}}
    inputs: {n: "3"}
    expect: {error: pattern}
  - name: refused unexpectedly
    alert: {labels: {alertname: X, svc: "we b"}}
    inputs: {n: "3"}
`, Directory{})
	want := map[string][]string{
		"right":            nil,
		"wrong match":      {`did not match: svc=~".+" (label is "")`},
		"unexpected match": {"matched, want no match"},
		"wrong params and plan": {`param svc = "web", want "api"`,
			"plan differs:\n  - one: echo web 2\n  + one: echo web 3\n    two: echo two\n  + rollback undo: echo undo\n  (- want, + got)"},
		"wrong dry run":                 {"dry run ran [one], want [one two]", "dry run rolled back [undo], want []", "dry run outcome rolled_back, want succeeded"},
		"input not asked":               {"rendered without asking for input (err: <nil>), want needs_input [n]"},
		"refusal expected but proposed": {`render error <nil>, want one containing "pattern"`},
		"refused unexpectedly":          {`not proposed: runbook r: param svc: value "we b" does not match its pattern ^(?:[a-z]+)$`},
	}
	results := rb.RunTests(Directory{})
	if len(results) != len(want) {
		t.Fatalf("%d results, want %d", len(results), len(want))
	}
	for _, res := range results {
		if !reflect.DeepEqual(res.Failures, want[res.Name]) {
			t.Errorf("%s: failures\n%q\nwant\n%q", res.Name, res.Failures, want[res.Name])
		}
	}
	if s := results[1].String(); !strings.HasPrefix(s, "FAIL test.yaml:19:5: r / wrong match\n") {
		t.Errorf("String() = %q", s)
	}
}

// TestPlanText checks the plan people approve, for every example runbook's first
// test, against golden files in testdata/plans (UPDATE=1 rewrites them).
func TestPlanText(t *testing.T) {
	lib, ps, err := LoadDir("../examples/runbooks", map[string][]string{"oncall": {"local-operator"}})
	if err != nil || len(ps) > 0 {
		t.Fatal(err, ps)
	}
	for _, rb := range lib.Runbooks {
		t.Run(rb.ID, func(t *testing.T) {
			var p incident.Proposal
			for _, tc := range rb.Tests {
				if !tc.Expect.Match || tc.Expect.Error != "" || tc.Expect.NeedsInput != nil {
					continue
				}
				var err error
				p, err = rb.Render(Context{Labels: tc.Labels, Annotations: tc.Annotations, Inputs: tc.Inputs,
					Incident: testIncident(tc.Labels), Directory: lib.Directory})
				if err != nil {
					t.Fatal(err)
				}
				break
			}
			p.Revision = "0123456789ab" // file hashes change with every edit
			got := p.PlanText() + "\n"
			golden.AssertString(t, filepath.Join("testdata", "plans", rb.ID+".txt"), got)
		})
	}
}
