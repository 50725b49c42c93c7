package workflows

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/workflows/contract"

	"go.temporal.io/sdk/testsuite"

	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/store"
)

// manualRequest is what a surface's `run RUNBOOK for SERVICE` stores.
func manualRequest(runbook, service, user string) store.SignalIn {
	return store.SignalIn{
		Event: incident.Event{Kind: incident.KindManual, Fingerprint: "manual-" + runbook + "-" + user, Status: incident.AlertFiring,
			StartsAt: time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC),
			Labels:   map[string]string{"runbook": runbook, "service": service, "requested_by": user},
			Summary:  user + " asked to run " + runbook + " for " + service},
		MayOpen: true, GroupKey: "manual/" + runbook, GroupLabels: map[string]string{"runbook": runbook, "service": service},
	}
}

func TestManualRunNeedsSomeoneElsesApproval(t *testing.T) {
	f := newFixture(t)
	f.signal(0, f.signals(t, manualRequest("collect-diagnostics", "db", "alice")))
	var self, other decideAnswer
	f.decide(time.Minute, approve("P1", "alice"), &self)
	f.decide(2*time.Minute, approve("P1", "bob"), &other)
	inc := f.run(t)
	refusedAs(t, self, contract.RefusedForbidden, "alice requested P1 and may not approve it too")
	if other.rejected != nil || len(inc.Runs) != 1 || inc.Runs[0].Status != incident.ProposalSucceeded {
		t.Fatalf("bob's approval: %+v, runs %+v", other, inc.Runs)
	}
	p := inc.Proposal("P1")
	if p.RequestedBy != "alice" || p.Request != "E1" || !strings.Contains(p.Why, "Requested by alice for db on E1") {
		t.Errorf("proposal = %+v", p)
	}
	if inc.Status != incident.StatusResolved || inc.Reason != "Runbook collect-diagnostics (P1) succeeded." {
		t.Errorf("status %s (%s)", inc.Status, inc.Reason)
	}
	st, err := f.store.OutcomeStats(context.Background(), "collect-diagnostics", "db")
	if err != nil || st.Succeeded != 1 {
		t.Errorf("outcome not recorded for ranking: %+v %v", st, err)
	}
}

func TestRejectedManualRequestResolves(t *testing.T) {
	f := newFixture(t)
	f.signal(0, f.signals(t, manualRequest("collect-diagnostics", "db", "alice")))
	var reject decideAnswer
	f.decide(time.Minute, contract.DecideRequest{ProposalID: "P1", Decision: incident.Reject, Actor: actor("bob"), Comment: "not during the sale"}, &reject)
	inc := f.run(t)
	if len(inc.Runs) != 0 || inc.Status != incident.StatusResolved || !strings.Contains(inc.Reason, "was rejected by bob") {
		t.Errorf("runs %v, status %s (%s)", inc.Runs, inc.Status, inc.Reason)
	}
	if st, _ := f.store.OutcomeStats(context.Background(), "collect-diagnostics", "db"); st.Rejected != 1 {
		t.Errorf("rejection not recorded: %+v", st)
	}
}

func TestInputParamsAreAskedBeforeThePlan(t *testing.T) {
	f := newFixture(t)
	latency := f.alerts(t, incident.AlertFiring, "web-1")
	for i := range latency.Events {
		latency.Events[i].Labels = map[string]string{"alertname": "HighRequestLatency", "service": "web", "severity": "warning",
			"namespace": "shop", "deployment": "web"}
	}
	f.signal(0, latency)
	var bad, outsider, partial decideAnswer
	send := func(at time.Duration, req contract.InputRequest, ans *decideAnswer) {
		f.env.RegisterDelayedCallback(func() {
			f.env.UpdateWorkflow(contract.UpdateInput, "input-"+at.String(), testCallback(ans), req)
		}, at)
	}
	var pID string
	f.env.RegisterDelayedCallback(func() {
		v, _ := f.env.QueryWorkflow(contract.QueryState)
		var inc incident.Incident
		_ = v.Get(&inc)
		for _, p := range inc.Proposals {
			if p.RunbookID == "scale-deployment" {
				pID = p.ID
			}
		}
	}, 30*time.Second)
	send(time.Minute, contract.InputRequest{ProposalID: "P1", Answers: map[string]string{"replicas": "lots"}, Actor: actor("alice")}, &bad)
	send(2*time.Minute, contract.InputRequest{ProposalID: "P1", Answers: map[string]string{"replicas": "5"}, Actor: actor("mallory")}, &outsider)
	send(3*time.Minute, contract.InputRequest{ProposalID: "P1", Answers: map[string]string{"replicas": "5"}, Actor: actor("alice")}, &partial)
	f.signal(time.Hour, f.alerts(t, incident.AlertResolved, "web-1"))
	inc := f.run(t)
	if pID != "P1" {
		t.Fatalf("scale-deployment was proposed as %q, want P1 waiting for input", pID)
	}
	refusedAs(t, bad, contract.RefusedBadRequest, `replicas: "lots" is not a valid int`)
	refusedAs(t, outsider, contract.RefusedForbidden, "mallory may not act on P1")
	if partial.rejected != nil || !strings.Contains(partial.message, "P1 has every answer it needs") {
		t.Fatalf("answer: %+v", partial)
	}
	p := inc.Proposal("P1")
	plan := strings.Join(p.Plan(), "\n")
	if p.PlanHash == "" || !strings.Contains(plan, "--replicas=5") || len(p.Inputs) != 1 || p.Inputs[0].Answer != "5" {
		t.Errorf("P1 after its answer: status %s, plan:\n%s\ninputs %+v", p.Status, plan, p.Inputs)
	}
	thread := f.thread.everything() // the question is edited into the plan once answered
	for _, want := range []string{"P1 · Needs input: Scale a Kubernetes deployment (scale-deployment)", "replicas (int): How many replicas", "/vigil input P1 replicas=VALUE", "P1 · Proposed: Scale a Kubernetes deployment"} {
		if !strings.Contains(thread, want) {
			t.Errorf("thread lacks %q:\n%s", want, thread)
		}
	}
}

// testCallback records an update's answer or refusal.
func testCallback(ans *decideAnswer) *testsuite.TestUpdateCallback {
	return &testsuite.TestUpdateCallback{
		OnAccept: func() {},
		OnReject: func(err error) { ans.rejected = err },
		OnComplete: func(res any, err error) {
			if r, ok := res.(contract.Answer); ok {
				ans.message = r.Message
			}
			ans.err = err
		},
	}
}
