package workflows

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/workflows/contract"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/vigilops/vigil/activities"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/runbooks"
	"github.com/vigilops/vigil/store"
)

// runFixture runs RemediationWorkflow as the root workflow so tests can send it
// gate decisions, interrupted-step choices and aborts directly.
type runFixture struct {
	env    *testsuite.TestWorkflowEnvironment
	store  *store.Store
	thread *thread
	log    string // a file steps append their names to, to observe order
}

func newRunFixture(t *testing.T) *runFixture {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetTestTimeout(time.Minute)
	st, err := store.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	f := &runFixture{env: env, store: st, thread: &thread{}, log: filepath.Join(t.TempDir(), "steps.log")}
	env.RegisterActivity(&activities.Activities{Store: st, Chat: f.thread, Steps: runbooks.Executor{}})
	env.RegisterActivity(&activities.Review{Store: st, Chat: f.thread})
	return f
}

// step appends its id to the log, and exits with code when code != 0.
func (f *runFixture) step(id string, code int) incident.Step {
	script := "echo " + id + " >> " + f.log
	if code != 0 {
		script += "; exit " + string(rune('0'+code))
	}
	return incident.Step{ID: id, Run: incident.StepShell, Command: []string{"sh", "-c", script}, Timeout: 10 * time.Second}
}

func (f *runFixture) lines(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(f.log)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(b))
}

func (f *runFixture) run(t *testing.T, p incident.Proposal) incident.Run {
	t.Helper()
	if p.ID == "" {
		p.ID, p.RunbookID = "P1", "test-runbook"
	}
	if p.Allowed == nil {
		p.Approvers, p.Allowed = []string{"group:oncall"}, []string{"alice", "bob", "carol"}
	}
	f.env.ExecuteWorkflow(RemediationWorkflow, contract.RemediationInput{IncidentID: "inc-1", RunID: "inc-1-run-1", Proposal: p})
	if !f.env.IsWorkflowCompleted() {
		t.Fatal("run did not complete")
	}
	var run incident.Run
	if err := f.env.GetWorkflowResult(&run); err != nil {
		t.Fatal(err)
	}
	return run
}

func (f *runFixture) update(at time.Duration, name string, arg any, ans *decideAnswer) {
	f.env.RegisterDelayedCallback(func() {
		f.env.UpdateWorkflow(name, name+time.Duration(at).String(), &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { ans.rejected = err },
			OnComplete: func(res any, err error) {
				if r, ok := res.(contract.Answer); ok {
					ans.message = r.Message
				}
				ans.err = err
			},
		}, arg)
	}, at)
}

func TestRollbackRunsInReverseAfterFailure(t *testing.T) {
	f := newRunFixture(t)
	run := f.run(t, incident.Proposal{
		Steps:    []incident.Step{f.step("drain", 0), f.step("migrate", 3), f.step("undrain", 0)},
		Rollback: []incident.Step{f.step("restore-backup", 0), f.step("restart-old", 0), f.step("page-dba", 0)},
	})
	if got, want := f.lines(t), []string{"drain", "migrate", "page-dba", "restart-old", "restore-backup"}; !slices.Equal(got, want) {
		t.Errorf("execution order %v, want %v (stop at the failed step, then roll back last-listed first)", got, want)
	}
	if run.Status != incident.ProposalFailed || !strings.Contains(run.Reason, "step migrate failed (exited with status 3)") {
		t.Errorf("run = %s (%s)", run.Status, run.Reason)
	}
	if len(run.Rollback) != 3 || run.Rollback[0].StepID != "page-dba" {
		t.Errorf("rollback results = %+v", run.Rollback)
	}
	text := f.thread.text()
	for _, want := range []string{"Rollback 1/3 page-dba: succeeded", "Rollback 3/3 restore-backup: succeeded", "Runbook test-runbook failed"} {
		if !strings.Contains(text, want) {
			t.Errorf("thread lacks %q:\n%s", want, text)
		}
	}
}

func TestRetriesWithBackoff(t *testing.T) {
	f := newRunFixture(t)
	// Fails the first two times, then succeeds: a counter file drives it.
	counter := filepath.Join(filepath.Dir(f.log), "n")
	flaky := incident.Step{ID: "flaky", Run: incident.StepShell, Timeout: 10 * time.Second, Retries: 2, Backoff: time.Minute,
		Command: []string{"sh", "-c", "echo x >> " + counter + "; echo flaky >> " + f.log + "; [ $(wc -l < " + counter + ") -ge 3 ]"}}
	start := f.env.Now()
	run := f.run(t, incident.Proposal{Steps: []incident.Step{flaky}})
	if run.Status != incident.ProposalSucceeded || len(f.lines(t)) != 3 {
		t.Errorf("run %s after %d attempts, want success on the 3rd", run.Status, len(f.lines(t)))
	}
	if waited := f.env.Now().Sub(start); waited < 3*time.Minute {
		t.Errorf("waited %s between attempts, want at least 1m + 2m of backoff", waited)
	}
	if !strings.Contains(f.thread.text(), "Step flaky failed; retry 2 of 2 in 2m0s") {
		t.Errorf("thread lacks the retry notice:\n%s", f.thread.text())
	}
}

func TestGateNeedsPolicyAgain(t *testing.T) {
	f := newRunFixture(t)
	promote := f.step("promote", 0)
	promote.Confirm = true
	var first, again, second, outsider decideAnswer
	gate := func(user string) contract.DecideRequest {
		return contract.DecideRequest{RunID: "inc-1-run-1", StepID: "promote", Decision: incident.Approve, Actor: actor(user)}
	}
	f.update(time.Minute, contract.UpdateDecide, gate("alice"), &first)
	f.update(2*time.Minute, contract.UpdateDecide, gate("alice"), &again)
	f.update(3*time.Minute, contract.UpdateDecide, gate("mallory"), &outsider)
	f.update(4*time.Minute, contract.UpdateDecide, gate("bob"), &second)
	run := f.run(t, incident.Proposal{MinApprovals: 2, Steps: []incident.Step{f.step("prepare", 0), promote}})
	if run.Status != incident.ProposalSucceeded || !slices.Equal(f.lines(t), []string{"prepare", "promote"}) {
		t.Fatalf("run %s, steps %v", run.Status, f.lines(t))
	}
	if !strings.Contains(first.message, "alice approved step promote (1 of 2)") || !strings.Contains(second.message, "it runs now") {
		t.Errorf("answers: %q / %q", first.message, second.message)
	}
	var appErr *temporal.ApplicationError
	if !errors.As(again.rejected, &appErr) || appErr.Type() != contract.RefusedConflict {
		t.Errorf("same approver twice: %v", again.rejected)
	}
	if !errors.As(outsider.rejected, &appErr) || appErr.Type() != contract.RefusedForbidden {
		t.Errorf("outsider: %v", outsider.rejected)
	}
}

func TestGateRejectionStopsAndRollsBack(t *testing.T) {
	f := newRunFixture(t)
	gate := incident.Step{ID: "go-ahead", Run: incident.StepApproval}
	var ans decideAnswer
	f.update(time.Minute, contract.UpdateDecide, contract.DecideRequest{RunID: "inc-1-run-1", StepID: "go-ahead", Decision: incident.Reject, Actor: actor("carol")}, &ans)
	run := f.run(t, incident.Proposal{Steps: []incident.Step{f.step("prepare", 0), gate, f.step("cutover", 0)}, Rollback: []incident.Step{f.step("unprepare", 0)}})
	if got := f.lines(t); !slices.Equal(got, []string{"prepare", "unprepare"}) {
		t.Errorf("steps %v: the rejected gate must stop the run and roll back", got)
	}
	if run.Status != incident.ProposalFailed || !strings.Contains(run.Reason, "rejected at its gate by carol") {
		t.Errorf("run = %s (%s)", run.Status, run.Reason)
	}
}

// interrupt makes a step look as if the worker died while running it: its
// "started" marker is durable but it has no result.
func (f *runFixture) interrupt(t *testing.T, stepID string) {
	t.Helper()
	if err := f.store.StartStep(context.Background(), "inc-1-run-1/"+stepID, "inc-1", "inc-1-run-1", stepID, time.Now()); err != nil {
		t.Fatal(err)
	}
}

func TestInterruptedStepIsNotRerunWithoutAHuman(t *testing.T) {
	tests := []struct {
		name       string
		idempotent bool
		choice     string
		user       string
		wantLines  []string
		wantStatus incident.ProposalStatus
		wantRefuse string
	}{
		{name: "mark done", choice: contract.ChoiceMarkDone, user: "alice", wantLines: []string{"after"}, wantStatus: incident.ProposalSucceeded},
		{name: "re-run", choice: contract.ChoiceRerun, user: "bob", wantLines: []string{"migrate", "after"}, wantStatus: incident.ProposalSucceeded},
		{name: "idempotent re-runs by itself", idempotent: true, wantLines: []string{"migrate", "after"}, wantStatus: incident.ProposalSucceeded},
		{name: "outsider cannot choose", choice: contract.ChoiceRerun, user: "mallory", wantRefuse: contract.RefusedForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newRunFixture(t)
			f.interrupt(t, "migrate")
			migrate := f.step("migrate", 0)
			migrate.Idempotent = tt.idempotent
			var ans, fallback decideAnswer
			if tt.choice != "" {
				f.update(time.Minute, contract.ActStep, contract.ActRequest{Actor: actor(tt.user), RunID: "inc-1-run-1", StepID: "migrate", Choice: tt.choice}, &ans)
			}
			if tt.wantRefuse != "" { // someone allowed ends the wait
				f.update(2*time.Minute, contract.ActStep, contract.ActRequest{Actor: actor("alice"), RunID: "inc-1-run-1", StepID: "migrate", Choice: contract.ChoiceMarkDone}, &fallback)
			}
			run := f.run(t, incident.Proposal{Steps: []incident.Step{migrate, f.step("after", 0)}})
			if tt.wantRefuse != "" {
				var appErr *temporal.ApplicationError
				if !errors.As(ans.rejected, &appErr) || appErr.Type() != tt.wantRefuse {
					t.Fatalf("choice by %s: %v, want %s refusal", tt.user, ans.rejected, tt.wantRefuse)
				}
				return
			}
			if got := f.lines(t); !slices.Equal(got, tt.wantLines) {
				t.Errorf("steps that ran: %v, want %v", got, tt.wantLines)
			}
			if run.Status != tt.wantStatus {
				t.Errorf("run %s (%s)", run.Status, run.Reason)
			}
			text := f.thread.text()
			if !tt.idempotent && (!strings.Contains(text, "Step migrate was interrupted and was not re-run") || !strings.Contains(text, tt.user+" chose "+tt.choice)) {
				t.Errorf("thread does not show the interruption and the choice:\n%s", text)
			}
		})
	}
}

func TestAbortStopsRunningStepAndRollsBack(t *testing.T) {
	f := newRunFixture(t)
	slow := incident.Step{ID: "slow", Run: incident.StepShell, Timeout: time.Minute, Command: []string{"sleep", "30"}}
	f.env.RegisterDelayedCallback(func() {
		f.env.SignalWorkflow(contract.SignalAbort, contract.AbortSignal{Actor: actor("alice"), Reason: "wrong host"})
	}, time.Second)
	started := time.Now()
	run := f.run(t, incident.Proposal{Steps: []incident.Step{slow, f.step("never", 0)}, Rollback: []incident.Step{f.step("undo", 0)}})
	if elapsed := time.Since(started); elapsed > 20*time.Second {
		t.Errorf("abort took %s: the running step was not stopped", elapsed)
	}
	if got := f.lines(t); !slices.Equal(got, []string{"undo"}) {
		t.Errorf("steps that ran: %v, want only the rollback", got)
	}
	if run.Status != incident.ProposalAborted || run.Reason != "aborted by alice: wrong host" {
		t.Errorf("run = %s (%s)", run.Status, run.Reason)
	}
}
