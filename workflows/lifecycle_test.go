package workflows

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/workflows/contract"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/vigilops/vigil/activities"
	"github.com/vigilops/vigil/incident"
)

// propose makes the incident offer exactly these proposals (besides what the
// example runbooks would), so tests can set policy fields directly.
func (f *fixture) propose(ps ...incident.Proposal) {
	f.env.OnActivity(f.acts.ProposeRemediations, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ProposeInput) (activities.ProposeResult, error) {
			var out []incident.Proposal
			for _, p := range ps {
				if !slices.Contains(in.Exclude, p.RunbookID) {
					out = append(out, p)
				}
			}
			return activities.ProposeResult{Proposals: out}, nil
		})
}

func (f *fixture) proposal(id, risk string, mod func(*incident.Proposal)) incident.Proposal {
	p := incident.Proposal{RunbookID: id, Title: id, Risk: risk, Revision: "r1",
		Approvers: []string{"group:oncall"}, Allowed: []string{"alice", "bob"},
		Steps: []incident.Step{{ID: "touch", Run: incident.StepShell, Command: []string{"touch", f.scratch + "/" + id + ".ran"}, Timeout: 5 * time.Second}}}
	if mod != nil {
		mod(&p)
	}
	return p
}

func (f *fixture) act(at time.Duration, name string, req contract.ActRequest, ans *decideAnswer) {
	f.env.RegisterDelayedCallback(func() {
		f.env.UpdateWorkflow(name, name+at.String(), &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { ans.rejected = err },
			OnComplete: func(res any, err error) {
				if r, ok := res.(contract.Answer); ok {
					ans.message = r.Message
				}
				ans.err = err
			},
		}, req)
	}, at)
}

func (f *fixture) ran(id string) bool {
	_, err := os.Stat(f.scratch + "/" + id + ".ran")
	return err == nil
}

func refusedAs(t *testing.T, ans decideAnswer, kind, msg string) {
	t.Helper()
	var appErr *temporal.ApplicationError
	if !errors.As(ans.rejected, &appErr) || appErr.Type() != kind || !strings.Contains(appErr.Error(), msg) {
		t.Errorf("got %v (answer %q), want %s refusal containing %q", ans.rejected, ans.message, kind, msg)
	}
}

func TestExpiredProposalEscalatesThenExpiresAndNeverRuns(t *testing.T) {
	f := newFixture(t)
	f.policy = contract.IncidentPolicy{EscalateTo: []string{"group:sre-leads"}}
	f.propose(f.proposal("restart-db", "medium", func(p *incident.Proposal) { p.Expires = 30 * time.Minute }))
	f.signal(0, f.alerts(t, incident.AlertFiring, "db-1"))
	var late decideAnswer
	f.decide(61*time.Minute, approve("P1", "alice"), &late)
	f.signal(2*time.Hour, f.alerts(t, incident.AlertResolved, "db-1"))
	inc := f.run(t)

	if f.ran("restart-db") || len(inc.Runs) != 0 {
		t.Fatal("an expired proposal ran")
	}
	refusedAs(t, late, contract.RefusedConflict, "P1 (restart-db) is already expired")
	p := inc.Proposal("P1")
	if p.Status != incident.ProposalExpired || p.Escalations != 1 {
		t.Errorf("P1 = %s after %d escalations", p.Status, p.Escalations)
	}
	thread := f.thread.text()
	for _, want := range []string{"P1 (restart-db) was not decided within 30m0s; the clock restarts once", "Paging group:sre-leads.", "P1 expired", "expired at"} {
		if !strings.Contains(thread, want) {
			t.Errorf("thread lacks %q:\n%s", want, thread)
		}
	}
	acts := f.auditActions(t)
	if i, j := slices.Index(acts, "proposal.expiry_escalated"), slices.Index(acts, "proposal.expired"); i < 0 || j < i {
		t.Errorf("audit %v: want expiry_escalated then expired", acts)
	}
}

func TestOnExpiryAbortEndsAtFirstDeadline(t *testing.T) {
	f := newFixture(t)
	f.propose(f.proposal("restart-db", "medium", func(p *incident.Proposal) { p.Expires = 10 * time.Minute; p.OnExpiry = OnExpiryAbort }))
	f.signal(0, f.alerts(t, incident.AlertFiring, "db-1"))
	f.signal(time.Hour, f.alerts(t, incident.AlertResolved, "db-1"))
	inc := f.run(t)
	if p := inc.Proposal("P1"); p.Status != incident.ProposalExpired || p.Escalations != 0 {
		t.Errorf("P1 = %s after %d escalations, want expired without escalation", p.Status, p.Escalations)
	}
}

func TestTwoPersonRule(t *testing.T) {
	f := newFixture(t)
	f.propose(f.proposal("failover-db", "high", func(p *incident.Proposal) { p.MinApprovals = 2 }))
	f.signal(0, f.alerts(t, incident.AlertFiring, "db-1"))
	var first, twice, second decideAnswer
	f.decide(time.Minute, approve("P1", "alice"), &first)
	f.decide(3*time.Minute, approve("P1", "alice"), &twice)
	f.decide(4*time.Minute, approve("P1", "bob"), &second)
	inc := f.run(t)
	if !strings.Contains(first.message, "alice approved P1 (1 of 2); it needs 1 more approval(s) from other approvers") {
		t.Errorf("first answer %q", first.message)
	}
	refusedAs(t, twice, contract.RefusedConflict, "alice already approved P1")
	if !strings.Contains(second.message, "bob approved P1; running failover-db now") || !f.ran("failover-db") {
		t.Errorf("second approval: %q, ran %v", second.message, f.ran("failover-db"))
	}
	if p := inc.Proposal("P1"); len(p.Approvals) != 2 || p.Status != incident.ProposalSucceeded {
		t.Errorf("P1 = %+v", p)
	}
	acts := f.auditActions(t)
	lastApprove := len(acts) - 1 - slices.Index(reversed(acts), "decision.approve")
	if countOf(acts, "decision.approve") != 2 || slices.Index(acts, "run.started") < lastApprove {
		t.Errorf("audit %v: both approvals must be recorded before the run starts", acts)
	}
}

func TestAutonomy(t *testing.T) {
	tests := []struct {
		name    string
		risk    string
		rules   []contract.AutonomyRule
		wantRun bool
	}{
		{name: "allowed rule runs without a human", risk: "low", rules: []contract.AutonomyRule{{Name: "cache-flush", Runbooks: []string{"flush-cache"}, Services: []string{"db"}}}, wantRun: true},
		{name: "no rule for the service", risk: "low", rules: []contract.AutonomyRule{{Name: "cache-flush", Runbooks: []string{"flush-cache"}, Services: []string{"web"}}}},
		{name: "medium risk needs a human", risk: "medium", rules: []contract.AutonomyRule{{Name: "cache-flush", Runbooks: []string{"flush-cache"}, Services: []string{"db"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.policy = contract.IncidentPolicy{Autonomy: tt.rules}
			f.propose(f.proposal("flush-cache", tt.risk, nil))
			f.signal(0, f.alerts(t, incident.AlertFiring, "db-1"))
			f.signal(time.Hour, f.alerts(t, incident.AlertResolved, "db-1"))
			inc := f.run(t)
			if f.ran("flush-cache") != tt.wantRun {
				t.Fatalf("ran = %v, want %v", f.ran("flush-cache"), tt.wantRun)
			}
			if !tt.wantRun {
				return
			}
			if inc.Decisions[0].Actor.User != "system:autonomy" || inc.Proposal("P1").Autonomy != "cache-flush" {
				t.Errorf("decision %+v", inc.Decisions)
			}
			if !strings.Contains(f.thread.text(), `autonomy rule "cache-flush" allows it for db`) {
				t.Errorf("thread does not say it ran on autonomy:\n%s", f.thread.text())
			}
			if acts := f.auditActions(t); !slices.Contains(acts, "decision.autonomy") {
				t.Errorf("audit lacks decision.autonomy: %v", acts)
			}
		})
	}
}

func TestEvidenceChangeMakesApprovalStale(t *testing.T) {
	f := newFixture(t)
	// clean-temp-files renders its directory from the first firing alert's path.
	first := f.alerts(t, incident.AlertFiring, "db-1")
	f.signal(0, first)
	var stale, fresh decideAnswer
	var oldHash string
	f.env.RegisterDelayedCallback(func() {
		// A second alert with another path fires, then the first resolves: the
		// plan moves to the second alert's path.
		v, _ := f.env.QueryWorkflow(contract.QueryState)
		var inc incident.Incident
		_ = v.Get(&inc)
		oldHash = inc.Proposal("P1").PlanHash
	}, time.Minute)
	other := t.TempDir()
	sig := f.alerts(t, incident.AlertFiring, "db-2")
	for i := range sig.Events {
		sig.Events[i].Labels["path"] = other
	}
	f.signal(2*time.Minute, sig)
	f.signal(3*time.Minute, f.alerts(t, incident.AlertResolved, "db-1"))
	f.env.RegisterDelayedCallback(func() {
		f.env.UpdateWorkflow(contract.UpdateDecide, "stale", &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { stale.rejected = err }, OnComplete: func(any, error) {},
		}, contract.DecideRequest{ProposalID: "P1", Decision: incident.Approve, Actor: actor("alice"), PlanHash: oldHash})
	}, 4*time.Minute)
	f.decide(5*time.Minute, approve("P1", "alice"), &fresh)
	inc := f.run(t)
	refusedAs(t, stale, contract.RefusedConflict, "the plan of P1 changed after you saw it")
	if fresh.rejected != nil {
		t.Errorf("approval of the current plan refused: %v", fresh.rejected)
	}
	p := inc.Proposal("P1")
	if p.PlanHash == oldHash || !strings.Contains(strings.Join(p.Plan(), "\n"), other) {
		t.Errorf("P1 was not re-planned onto %s: %v", other, p.Plan())
	}
	if !strings.Contains(f.thread.text(), "Plan of P1 changed") || !slices.Contains(f.auditActions(t), "proposal.replanned") {
		t.Error("the thread or the audit does not show the re-plan")
	}
}

func TestIncidentActs(t *testing.T) {
	f := newFixture(t)
	f.policy = contract.IncidentPolicy{NoAckAfter: 15 * time.Minute, EscalateTo: []string{"group:sre-leads"}}
	f.signal(0, f.alerts(t, incident.AlertFiring, "db-1"))
	var snooze, ack, ackAgain, assign, note, emptyNote, anonymous, abort, resolve decideAnswer
	f.act(time.Minute, contract.ActSnooze, contract.ActRequest{Actor: actor("alice"), Duration: 30 * time.Minute}, &snooze)
	// The snooze holds the no-ack escalation off until 31m; it fires then.
	f.act(40*time.Minute, contract.ActAck, contract.ActRequest{Actor: actor("bob")}, &ack)
	f.act(41*time.Minute, contract.ActAck, contract.ActRequest{Actor: actor("bob")}, &ackAgain)
	f.act(42*time.Minute, contract.ActAssign, contract.ActRequest{Actor: actor("bob"), Assignee: "alice"}, &assign)
	f.act(43*time.Minute, contract.ActNote, contract.ActRequest{Actor: actor("alice"), Text: "disk grows 2%/h since the deploy"}, &note)
	f.act(44*time.Minute, contract.ActNote, contract.ActRequest{Actor: actor("alice")}, &emptyNote)
	f.act(45*time.Minute, contract.ActAck, contract.ActRequest{}, &anonymous)
	f.act(46*time.Minute, contract.ActAbort, contract.ActRequest{Actor: actor("alice")}, &abort)
	f.act(47*time.Minute, contract.ActResolve, contract.ActRequest{Actor: actor("alice"), Text: "deleted old WAL files by hand"}, &resolve)
	inc := f.run(t)

	for name, ans := range map[string]decideAnswer{"snooze": snooze, "ack": ack, "assign": assign, "note": note, "resolve": resolve} {
		if ans.rejected != nil || ans.err != nil {
			t.Errorf("%s: %v %v", name, ans.rejected, ans.err)
		}
	}
	refusedAs(t, ackAgain, contract.RefusedConflict, "bob already acknowledged")
	refusedAs(t, emptyNote, contract.RefusedBadRequest, "a note needs text")
	refusedAs(t, anonymous, contract.RefusedForbidden, "no verified user identity")
	refusedAs(t, abort, contract.RefusedConflict, "no remediation is running")
	if inc.Status != incident.StatusResolved || inc.Reason != "Resolved by alice: deleted old WAL files by hand" {
		t.Errorf("status %s (%s)", inc.Status, inc.Reason)
	}
	if inc.Assignee != "alice" || inc.AckedAt.IsZero() || len(inc.Notes) != 1 {
		t.Errorf("assignee %q acked %v notes %v", inc.Assignee, inc.AckedAt, inc.Notes)
	}
	if got := inc.AckedAt.Sub(inc.DetectedAt); got < 40*time.Minute {
		t.Errorf("acked %s after detection", got)
	}
	thread := f.thread.text()
	for _, want := range []string{"Snoozed", "Nobody acknowledged this incident within 15m0s.\nPaging group:sre-leads.", "bob acknowledged the incident", "disk grows 2%/h"} {
		if !strings.Contains(thread, want) {
			t.Errorf("thread lacks %q:\n%s", want, thread)
		}
	}
	acts := f.auditActions(t)
	want := []string{"incident.snoozed", "incident.escalated", "incident.acked", "incident.assigned", "incident.note", "incident.resolved"}
	var got []string
	for _, a := range acts {
		if slices.Contains(want, a) {
			got = append(got, a)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("audit acts %v, want %v", got, want)
	}
	recs, _ := f.store.AuditTrail(context.Background(), f.id)
	for _, r := range recs {
		if r.Action == "incident.escalated" && r.Actor != "system:timer" {
			t.Errorf("no-ack escalation recorded as %s", r.Actor)
		}
		if r.Action == "incident.acked" && (r.Actor != "user:bob" || !strings.Contains(string(r.Details), `"surface":"test"`)) {
			t.Errorf("ack recorded as %s %s", r.Actor, r.Details)
		}
	}
}

func TestAbortFromIncidentRollsBack(t *testing.T) {
	f := newFixture(t)
	p := f.proposal("long-job", "medium", func(p *incident.Proposal) {
		// The test environment does not cancel activities of child workflows, so
		// the step is short; TestRemediationWorkflow's abort test and the
		// end-to-end test show the running process being killed.
		p.Steps = []incident.Step{{ID: "sleep", Run: incident.StepShell, Command: []string{"sleep", "2"}, Timeout: time.Minute}}
		p.Rollback = []incident.Step{{ID: "undo", Run: incident.StepShell, Command: []string{"touch", f.scratch + "/undo.ran"}, Timeout: 5 * time.Second}}
	})
	f.propose(p)
	f.signal(0, f.alerts(t, incident.AlertFiring, "db-1"))
	var ok, outsider, abort decideAnswer
	f.decide(time.Minute, approve("P1", "alice"), &ok)
	f.act(time.Minute+time.Second, contract.ActAbort, contract.ActRequest{Actor: actor("mallory")}, &outsider)
	f.act(time.Minute+2*time.Second, contract.ActAbort, contract.ActRequest{Actor: actor("bob"), Text: "wrong host"}, &abort)
	f.signal(time.Hour, f.alerts(t, incident.AlertResolved, "db-1"))
	inc := f.run(t)
	refusedAs(t, outsider, contract.RefusedForbidden, "mallory may not act on P1")
	if abort.rejected != nil || !strings.Contains(abort.message, "bob asked to abort P1 (long-job)") {
		t.Errorf("abort answer %+v", abort)
	}
	if !f.ran("undo") || inc.Runs[0].Status != incident.ProposalAborted {
		t.Errorf("rollback ran %v, run %+v", f.ran("undo"), inc.Runs)
	}
	if !strings.Contains(f.thread.text(), "Runbook long-job (P1) was aborted: aborted by bob: wrong host") {
		t.Errorf("thread:\n%s", f.thread.text())
	}
}

func TestContinueAsNewCarriesState(t *testing.T) {
	f := newFixture(t)
	f.signal(0, f.alerts(t, incident.AlertFiring, "db-1"))
	var ack, note decideAnswer
	f.act(time.Minute, contract.ActAck, contract.ActRequest{Actor: actor("alice")}, &ack)
	f.act(90*time.Second, contract.ActNote, contract.ActRequest{Actor: actor("bob"), Text: "still looking"}, &note)
	// Temporal suggests continuing as new when history grows; the workflow does
	// so at its next quiet point, with no handler in flight.
	f.env.RegisterDelayedCallback(func() { f.env.SetContinueAsNewSuggested(true) }, 2*time.Minute)
	f.env.ExecuteWorkflow(IncidentWorkflow, contract.IncidentInput{ID: f.id, Key: "k", GroupLabels: map[string]string{"alertname": "DiskFillingUp", "service": "db"}})
	err := f.env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("workflow ended with %v, want continue-as-new", err)
	}
	if note.err != nil || note.message != "still looking" {
		t.Errorf("the note in flight was lost: %+v", note)
	}
	var in contract.IncidentInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &in); err != nil {
		t.Fatal(err)
	}
	st := in.State
	if st == nil || st.Incident.AckedAt.IsZero() || len(st.Incident.Proposals) != 2 || len(st.Incident.Notes) != 1 || st.Audits == 0 || in.ID != f.id {
		t.Fatalf("carried state %+v", st)
	}

	// The new run picks up where the old one left off: same evidence ids, audit
	// keys that continue the sequence (no collision), resolution on the resolve.
	g := newFixtureOn(t, f.store)
	g.signal(time.Minute, g.alerts(t, incident.AlertResolved, "db-1"))
	g.env.ExecuteWorkflow(IncidentWorkflow, in)
	var inc incident.Incident
	if err := g.env.GetWorkflowResult(&inc); err != nil {
		t.Fatal(err)
	}
	if inc.Status != incident.StatusResolved || inc.AckedAt.IsZero() || inc.Evidence[0].ID != "E1" || len(inc.Notes) != 1 {
		t.Errorf("after continue-as-new: %+v", inc)
	}
	if acts := g.auditActions(t); acts[len(acts)-2] != "incident.resolved" || countOf(acts, "incident.opened") != 1 {
		t.Errorf("audit across runs: %v", acts)
	}
}

func reversed(ss []string) []string {
	out := slices.Clone(ss)
	slices.Reverse(out)
	return out
}
