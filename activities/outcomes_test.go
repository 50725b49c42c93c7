package activities

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/runbooks"
	"github.com/vigilops/vigil/store"
)

// rankingLib holds three runbooks for HighLatency alerts: two equally specific
// ones (restart-pods, scale-up) and a more specific one (flush-cache).
func rankingLib(t *testing.T) *runbooks.Library {
	t.Helper()
	rb := func(id string, matchers ...string) runbooks.File {
		return runbooks.File{Name: id + ".yaml", Data: fmt.Appendf(nil, `
id: %s
title: %s
match: {matchers: [%s]}
approval: {approvers: ["oncall:primary"]}
steps: [{id: s, run: shell, command: ["true"]}]
`, id, id, strings.Join(matchers, ", "))}
	}
	lib, ps := runbooks.Load([]runbooks.File{
		rb("restart-pods", `'alertname="HighLatency"'`, `'service=~".+"'`),
		rb("scale-up", `'alertname="HighLatency"'`, `'service=~".+"'`),
		rb("flush-cache", `'alertname="HighLatency"'`, `'service="checkout"'`),
	}, "", runbooks.Directory{OnCall: map[string][]string{"primary": {"dana"}}})
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	return lib
}

func TestProposalsRankedBySpecificityThenHistory(t *testing.T) {
	_, _, _, acts := newEnv(t)
	acts.Runbooks = staticLib{rankingLib(t)}
	ctx := context.Background()
	record := func(runbook, service, outcome string, n int) {
		for i := range n {
			in := OutcomeInput{IncidentID: fmt.Sprintf("%s-%s-%s-%d", runbook, service, outcome, i), RunbookID: runbook, Service: service, Outcome: outcome}
			if err := acts.RecordOutcome(ctx, in); err != nil {
				t.Fatal(err)
			}
		}
	}
	// restart-pods mostly failed on checkout; scale-up mostly worked there. Their
	// runs on other services must not count for checkout.
	record("restart-pods", "checkout", incident.OutcomeSucceeded, 1)
	record("restart-pods", "checkout", incident.OutcomeFailed, 2)
	record("restart-pods", "checkout", incident.OutcomeRejected, 1)
	record("scale-up", "checkout", incident.OutcomeSucceeded, 7)
	record("scale-up", "checkout", incident.OutcomeFailed, 1)
	record("restart-pods", "payments", incident.OutcomeSucceeded, 20)

	inc := incident.Incident{ID: "inc", Alerts: []incident.Alert{{EvidenceID: "E1", Status: incident.AlertFiring,
		Labels: map[string]string{"alertname": "HighLatency", "service": "checkout"}}}}
	res, err := acts.ProposeRemediations(ctx, ProposeInput{Incident: inc})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range res.Proposals {
		got = append(got, p.RunbookID)
	}
	if strings.Join(got, ",") != "flush-cache,scale-up,restart-pods" {
		t.Fatalf("order = %v, want flush-cache (most specific), scale-up (7 of 8), restart-pods (1 of 3)", got)
	}
	want := map[string]struct{ why, history string }{
		"flush-cache":  {why: `Matched alertname="HighLatency", service="checkout" on E1.`},
		"scale-up":     {why: `Matched alertname="HighLatency", service=~".+" on E1; 7 of 8 past runs on checkout succeeded.`, history: "7 of 8 past runs on checkout succeeded"},
		"restart-pods": {why: `Matched alertname="HighLatency", service=~".+" on E1; 1 of 3 past runs on checkout succeeded; rejected 1 time before.`, history: "1 of 3 past runs on checkout succeeded; rejected 1 time before"},
	}
	for _, p := range res.Proposals {
		if w := want[p.RunbookID]; p.Why != w.why || p.History != w.history {
			t.Errorf("%s: why %q history %q\nwant why %q history %q", p.RunbookID, p.Why, p.History, w.why, w.history)
		}
		if strings.Join(p.Allowed, ",") != "dana" {
			t.Errorf("%s: allowed %v; oncall:primary should resolve from the library's directory", p.RunbookID, p.Allowed)
		}
	}
}

func TestRecordOutcome(t *testing.T) {
	_, st, _, acts := newEnv(t)
	ctx := context.Background()
	in := OutcomeInput{IncidentID: "inc-1", RunbookID: "restart", Service: "checkout", Outcome: incident.OutcomeSucceeded, Revision: "abc"}
	for range 3 { // retries record once
		if err := acts.RecordOutcome(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if s, err := st.OutcomeStats(ctx, "restart", "checkout"); err != nil || s != (store.OutcomeStats{Succeeded: 1}) {
		t.Errorf("stats = %+v, %v; want one success", s, err)
	}
	in.Outcome = "exploded"
	if err := acts.RecordOutcome(ctx, in); err == nil || !strings.Contains(err.Error(), `outcome "exploded" of restart in inc-1`) {
		t.Errorf("bad outcome: err = %v", err)
	}
	noOutcomes := &Activities{}
	if err := noOutcomes.RecordOutcome(ctx, OutcomeInput{IncidentID: "i", RunbookID: "r", Outcome: incident.OutcomeFailed}); err == nil {
		t.Error("a store without outcomes accepted one")
	}
}
