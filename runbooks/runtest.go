package runbooks

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vigilops/vigil/incident"
)

// TestCase is one entry of a runbook's tests: a fixture alert and what the author
// expects Vigil to do with it. Tests run with `vigil runbook test DIR`.
//
//	tests:
//	  - name: cleans the alerting directory
//	    alert:
//	      labels: {alertname: DiskFillingUp, path: /srv/scratch}
//	      annotations: {tmp_age_minutes: "15"}
//	    inputs: {replicas: "3"}        # answers to input params
//	    expect:
//	      match: true                  # default true
//	      params: {dir: /srv/scratch}
//	      plan: ["check-dir: test -d /srv/scratch", ...]   # every line, in order
//	      # or error: "does not match its pattern", or needs_input: [replicas]
//	    dry_run:                       # simulate the run; nothing is executed
//	      fail: [delete-old-tmp]       # stubbed results: these steps fail, others succeed
//	      ran: [check-dir, delete-old-tmp]
//	      rolled_back: [restore]
//	      outcome: rolled_back         # succeeded | rolled_back | rollback_failed | failed
type TestCase struct {
	Name        string
	Labels      map[string]string
	Annotations map[string]string
	Inputs      map[string]string
	Expect      Expectation
	DryRun      *DryRunCase
	Pos         Pos

	inputPos map[string]Pos
}

// Expectation is what a test expects from matching and rendering.
type Expectation struct {
	Match      bool
	Error      string   // rendering is refused with a message containing this
	NeedsInput []string // rendering asks for exactly these input params
	Params     []pair   // rendered param values
	Plan       []string // Proposal.Plan(), every line in order; nil: not checked
	planSet    bool
}

// DryRunCase simulates a run with stubbed step results and says what must happen.
type DryRunCase struct {
	Fail       []string
	Ran        []string
	RolledBack []string
	Outcome    string

	idsPos map[string]Pos // every step id mentioned, for checks
	ranSet bool
	rbSet  bool
	Pos    Pos
}

// Dry-run outcomes.
const (
	OutcomeSucceeded      = "succeeded"
	OutcomeRolledBack     = "rolled_back"
	OutcomeRollbackFailed = "rollback_failed"
	OutcomeFailed         = "failed" // a step failed and there is no rollback
)

var (
	testFields       = []string{"name", "alert", "inputs", "expect", "dry_run"}
	alertFields      = []string{"labels", "annotations"}
	testExpectFields = []string{"match", "error", "needs_input", "params", "plan"}
	dryRunFields     = []string{"fail", "ran", "rolled_back", "outcome"}
	outcomes         = []string{OutcomeSucceeded, OutcomeRolledBack, OutcomeRollbackFailed, OutcomeFailed}
)

// UnmarshalYAML decodes one test case.
func (tc *TestCase) UnmarshalYAML(n *yaml.Node) error {
	var p problems
	tc.Pos = posOf(n)
	tc.Expect.Match = true
	f := p.fields(n, "test", testFields...)
	if f == nil {
		return p.err()
	}
	tc.Name = p.str(f["name"], "test name")
	if tc.Name == "" {
		p.add(tc.Pos, "test needs a name")
	}
	what := fmt.Sprintf("test %q", tc.Name)
	if a := f["alert"]; a != nil {
		af := p.fields(a, what+" alert", alertFields...)
		tc.Labels = toMap(p.strMapOrNil(af["labels"], what+" alert.labels"))
		tc.Annotations = toMap(p.strMapOrNil(af["annotations"], what+" alert.annotations"))
	} else {
		p.add(tc.Pos, "%s needs an alert: {labels: {...}, annotations: {...}}", what)
	}
	ins := p.strMapOrNil(f["inputs"], what+" inputs")
	tc.Inputs, tc.inputPos = toMap(ins), map[string]Pos{}
	for _, kv := range ins {
		tc.inputPos[kv.Key] = kv.KeyPos
	}
	if e := f["expect"]; e != nil {
		ef := p.fields(e, what+" expect", testExpectFields...)
		if m := ef["match"]; m != nil {
			tc.Expect.Match = p.boolean(m, what+" expect.match")
		}
		tc.Expect.Error = p.str(ef["error"], what+" expect.error")
		if ni := ef["needs_input"]; ni != nil {
			tc.Expect.NeedsInput, _ = p.strList(ni, what+" expect.needs_input")
		}
		tc.Expect.Params = p.strMapOrNil(ef["params"], what+" expect.params")
		if pl := ef["plan"]; pl != nil {
			tc.Expect.Plan, _ = p.strList(pl, what+" expect.plan")
			tc.Expect.planSet = true
		}
	}
	if d := f["dry_run"]; d != nil {
		tc.DryRun = &DryRunCase{Pos: posOf(d), idsPos: map[string]Pos{}}
		df := p.fields(d, what+" dry_run", dryRunFields...)
		ids := func(key string) ([]string, bool) {
			n := df[key]
			if n == nil {
				return nil, false
			}
			vals, at := p.strList(n, what+" dry_run."+key)
			for i, v := range vals {
				tc.DryRun.idsPos[v] = at[i]
			}
			return vals, true
		}
		tc.DryRun.Fail, _ = ids("fail")
		tc.DryRun.Ran, tc.DryRun.ranSet = ids("ran")
		tc.DryRun.RolledBack, tc.DryRun.rbSet = ids("rolled_back")
		if o := df["outcome"]; o != nil {
			tc.DryRun.Outcome = p.str(o, what+" dry_run.outcome")
			if !slices.Contains(outcomes, tc.DryRun.Outcome) {
				p.add(posOf(o), "%s: dry_run.outcome %q must be one of %s", what, tc.DryRun.Outcome, strings.Join(outcomes, ", "))
			}
		}
		if !tc.DryRun.ranSet && !tc.DryRun.rbSet && tc.DryRun.Outcome == "" {
			p.add(tc.DryRun.Pos, "%s: dry_run expects nothing; say what must happen (ran, rolled_back, outcome)", what)
		}
	}
	return p.err()
}

func (p *problems) strMapOrNil(n *yaml.Node, what string) []pair {
	if n == nil {
		return nil
	}
	return p.strMap(n, what)
}

func toMap(ps []pair) map[string]string {
	if ps == nil {
		return nil
	}
	m := make(map[string]string, len(ps))
	for _, kv := range ps {
		m[kv.Key] = kv.Value
	}
	return m
}

// checkTests reports tests that could never pass or contradict themselves: unknown
// params, inputs and step ids, and expectations of a render that cannot happen.
func (r *Runbook) checkTests(p *problems) {
	names := map[string]bool{}
	params := map[string]Param{}
	for _, pr := range r.Params {
		params[pr.Name] = pr
	}
	stepIDs := map[string]bool{}
	for _, s := range slices.Concat(r.Steps, r.Rollback) {
		stepIDs[s.ID] = true
	}
	for _, tc := range r.Tests {
		what := fmt.Sprintf("test %q", tc.Name)
		if names[tc.Name] && tc.Name != "" {
			p.add(tc.Pos, "%s: another test has the same name", what)
		}
		names[tc.Name] = true
		for _, name := range slices.Sorted(maps.Keys(tc.inputPos)) {
			if pr, ok := params[name]; !ok || pr.From != FromInput {
				p.add(tc.inputPos[name], "%s: inputs.%s is not an input param (from: input)", what, name)
			}
		}
		for _, kv := range tc.Expect.Params {
			if _, ok := params[kv.Key]; !ok {
				p.add(kv.KeyPos, "%s: expect.params.%s is not a declared param", what, kv.Key)
			}
		}
		rendered := tc.Expect.Match && tc.Expect.Error == "" && tc.Expect.NeedsInput == nil
		if !rendered && (tc.Expect.Params != nil || tc.Expect.planSet || tc.DryRun != nil) {
			p.add(tc.Pos, "%s: expects no proposal (match: false, error or needs_input) and also params, plan or dry_run", what)
		}
		if tc.DryRun != nil {
			for id, at := range tc.DryRun.idsPos {
				if !stepIDs[id] {
					p.add(at, "%s: dry_run names step %q, which the runbook does not have", what, id)
				}
			}
		}
	}
}

// TestResult is the outcome of one test case.
type TestResult struct {
	Runbook  string
	Name     string
	File     string
	Pos      Pos
	Failures []string // empty when the test passed
}

// Passed reports whether the test passed.
func (t TestResult) Passed() bool { return len(t.Failures) == 0 }

func (t TestResult) String() string {
	head := fmt.Sprintf("%s:%d:%d: %s / %s", t.File, t.Pos.Line, t.Pos.Col, t.Runbook, t.Name)
	if t.Passed() {
		return "ok   " + head
	}
	return "FAIL " + head + "\n       " + strings.Join(t.Failures, "\n       ")
}

// RunTests runs the runbook's tests, resolving approvers with d. Nothing is
// executed: a dry run simulates the order of steps and rollback.
func (r *Runbook) RunTests(d Directory) []TestResult {
	out := make([]TestResult, 0, len(r.Tests))
	for _, tc := range r.Tests {
		res := TestResult{Runbook: r.ID, Name: tc.Name, File: r.File, Pos: tc.Pos}
		res.Failures = r.runTest(tc, d)
		out = append(out, res)
	}
	return out
}

func (r *Runbook) runTest(tc TestCase, d Directory) []string {
	var fails []string
	failf := func(format string, args ...any) { fails = append(fails, fmt.Sprintf(format, args...)) }
	var unmatched []string
	for _, m := range r.Match.Matchers {
		if !m.Matches(tc.Labels) {
			unmatched = append(unmatched, fmt.Sprintf("%s (label is %q)", m, tc.Labels[m.Name]))
		}
	}
	switch matched := len(unmatched) == 0; {
	case matched && !tc.Expect.Match:
		failf("matched, want no match")
		return fails
	case !matched && tc.Expect.Match:
		failf("did not match: %s", strings.Join(unmatched, ", "))
		return fails
	case !matched:
		return fails
	}
	p, err := r.Render(Context{Labels: tc.Labels, Annotations: tc.Annotations, Inputs: tc.Inputs, Directory: d, Incident: testIncident(tc.Labels)})
	var ni *NeedsInputError
	switch {
	case tc.Expect.NeedsInput != nil:
		if !errors.As(err, &ni) {
			failf("rendered without asking for input (err: %v), want needs_input %v", err, tc.Expect.NeedsInput)
			return fails
		}
		var got []string
		for _, ip := range ni.Params {
			got = append(got, ip.Name)
		}
		if !slices.Equal(got, tc.Expect.NeedsInput) {
			failf("needs input %v, want %v", got, tc.Expect.NeedsInput)
		}
		return fails
	case tc.Expect.Error != "":
		if err == nil || !strings.Contains(err.Error(), tc.Expect.Error) {
			failf("render error %v, want one containing %q", err, tc.Expect.Error)
		}
		return fails
	case err != nil:
		failf("not proposed: %v", err)
		return fails
	}
	got := paramMap(p)
	for _, kv := range tc.Expect.Params {
		if got[kv.Key] != kv.Value {
			failf("param %s = %q, want %q", kv.Key, got[kv.Key], kv.Value)
		}
	}
	if tc.Expect.planSet {
		if plan := p.Plan(); !slices.Equal(plan, tc.Expect.Plan) {
			failf("plan differs:\n%s", planDiff(plan, tc.Expect.Plan))
		}
	}
	if dr := tc.DryRun; dr != nil {
		sim := DryRun(p, dr.Fail)
		if dr.ranSet && !slices.Equal(sim.Ran, dr.Ran) {
			failf("dry run ran %v, want %v", sim.Ran, dr.Ran)
		}
		if dr.rbSet && !slices.Equal(sim.RolledBack, dr.RolledBack) {
			failf("dry run rolled back %v, want %v", sim.RolledBack, dr.RolledBack)
		}
		if dr.Outcome != "" && sim.Outcome != dr.Outcome {
			failf("dry run outcome %s, want %s", sim.Outcome, dr.Outcome)
		}
	}
	return fails
}

// testIncident is the incident tests render against.
func testIncident(labels map[string]string) *incident.Incident {
	return &incident.Incident{ID: "incident-test", Key: labels["alertname"], Title: labels["alertname"], Severity: labels["severity"]}
}

// planDiff shows each line of got and want, marking the differences.
func planDiff(got, want []string) string {
	var b strings.Builder
	for i := range max(len(got), len(want)) {
		g, w := at(got, i), at(want, i)
		if g == w {
			fmt.Fprintf(&b, "    %s\n", g)
			continue
		}
		if w != "" {
			fmt.Fprintf(&b, "  - %s\n", w)
		}
		if g != "" {
			fmt.Fprintf(&b, "  + %s\n", g)
		}
	}
	return strings.TrimRight(b.String(), "\n") + "\n  (- want, + got)"
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return ""
}

// DryRunResult is what a simulated run did.
type DryRunResult struct {
	Ran        []string // steps, in order, up to and including the first failure
	RolledBack []string // rollback steps, in the order they ran (last listed first)
	Outcome    string
}

// DryRun simulates a run of p in which the steps named in fail fail and every other
// step succeeds, nothing being executed. It follows the workflow's contract: steps
// run in order and stop at the first failure (an approval step that fails stands
// for a refused gate); then every rollback step runs, last listed first, even if
// one of them fails.
func DryRun(p incident.Proposal, fail []string) DryRunResult {
	var res DryRunResult
	failed := false
	for _, s := range p.Steps {
		res.Ran = append(res.Ran, s.ID)
		if slices.Contains(fail, s.ID) {
			failed = true
			break
		}
	}
	switch {
	case !failed:
		res.Outcome = OutcomeSucceeded
		return res
	case len(p.Rollback) == 0:
		res.Outcome = OutcomeFailed
		return res
	}
	res.Outcome = OutcomeRolledBack
	for _, s := range slices.Backward(p.Rollback) {
		res.RolledBack = append(res.RolledBack, s.ID)
		if slices.Contains(fail, s.ID) {
			res.Outcome = OutcomeRollbackFailed
		}
	}
	return res
}
