package workflows

import (
	"cmp"
	"fmt"
	"time"

	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/workflows/contract"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/vigilops/vigil/activities"
	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/incident"
)

// maxAuditOutput caps step output copied into an audit record.
const maxAuditOutput = 4096

// DefaultBackoff is the first wait before retrying a failed step whose runbook
// gives retries but no backoff.
const DefaultBackoff = 5 * time.Second

// remediationRun is one RemediationWorkflow's state.
type remediationRun struct {
	in     contract.RemediationInput
	p      *incident.Proposal
	run    incident.Run
	audits int

	gate     *Gate // the gate waiting for decisions, if any
	gateDone string
	gateBy   []incident.Actor

	waiting *incident.StepResult // an interrupted step waiting for a human's choice
	choice  string
	chooser incident.Actor

	abort      *contract.AbortSignal
	cancelStep workflow.CancelFunc
}

// RemediationWorkflow runs one approved proposal: its steps in order, each with
// its timeout and retries, holding at confirm and approval gates until the
// proposal's policy is satisfied again. A step interrupted by a crash is not
// re-run unless it is idempotent or a human chooses to. When a step fails or the
// run is aborted, the rollback steps run, last listed first. Every step is posted
// to the thread and audited. The returned Run says what happened; the workflow
// itself fails only if Temporal cannot run it.
func RemediationWorkflow(ctx workflow.Context, in contract.RemediationInput) (incident.Run, error) {
	ctx = withActivityDefaults(ctx)
	p := in.Proposal
	r := &remediationRun{in: in, p: &p, run: incident.Run{
		ID: in.RunID, ProposalID: p.ID, RunbookID: p.RunbookID, Status: incident.ProposalRunning, StartedAt: workflow.Now(ctx),
	}}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, contract.UpdateDecide, r.decideGate,
		workflow.UpdateHandlerOptions{Validator: func(req contract.DecideRequest) error { return CheckGate(r.p, r.gate, req) }}); err != nil {
		return r.run, err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, contract.ActStep, r.chooseStep,
		workflow.UpdateHandlerOptions{Validator: r.validateChoice}); err != nil {
		return r.run, err
	}
	aborts := workflow.GetSignalChannel(ctx, contract.SignalAbort)
	workflow.Go(ctx, func(ctx workflow.Context) {
		var s contract.AbortSignal
		aborts.Receive(ctx, &s)
		r.abort = &s
		if r.cancelStep != nil {
			r.cancelStep()
		}
	})

	if err := r.audit(ctx, audit.RunStart{Run: in.RunID, Proposal: p.ID, Runbook: p.RunbookID, Revision: p.Revision, Plan: p.Plan()}); err != nil {
		return r.run, err
	}
	for i, s := range p.Steps {
		if r.abort != nil {
			break
		}
		if s.Confirm || s.Run == incident.StepApproval {
			passed, err := r.passGate(ctx, i, s)
			if err != nil {
				return r.run, err
			}
			if !passed {
				break
			}
			if s.Run == incident.StepApproval {
				now := workflow.Now(ctx)
				r.run.Steps = append(r.run.Steps, incident.StepResult{StepID: s.ID, Status: incident.StepSucceeded,
					Output: "approved by " + names(r.gateBy), StartedAt: now, FinishedAt: now})
				continue
			}
		}
		res, err := r.runStep(ctx, i, s)
		if err != nil {
			return r.run, err
		}
		r.run.Steps = append(r.run.Steps, res)
		if r.abort != nil {
			break
		}
		if res.Status != incident.StepSucceeded {
			r.fail(fmt.Sprintf("step %s %s", s.ID, res.Status), res.Error)
			break
		}
	}
	if r.abort != nil && r.run.Status == incident.ProposalRunning {
		r.run.Status = incident.ProposalAborted
		r.run.Reason = fmt.Sprintf("aborted by %s", r.abort.Actor.Name())
		if r.abort.Reason != "" {
			r.run.Reason += ": " + r.abort.Reason
		}
	}
	if r.run.Status != incident.ProposalRunning && len(p.Rollback) > 0 {
		if err := r.rollback(ctx); err != nil {
			return r.run, err
		}
	}
	if r.run.Status == incident.ProposalRunning {
		r.run.Status = incident.ProposalSucceeded
	}
	r.run.FinishedAt = workflow.Now(ctx)
	if err := r.audit(ctx, audit.RunEnd{Run: in.RunID, Status: string(r.run.Status), Reason: r.run.Reason}); err != nil {
		return r.run, err
	}
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return r.run, err
	}
	return r.run, r.post(ctx, "result", bot.Status(fmt.Sprintf("Runbook %s %s", p.RunbookID, r.run.Status), r.run.Reason))
}

func (r *remediationRun) fail(reason, detail string) {
	r.run.Status, r.run.Reason = incident.ProposalFailed, reason
	if detail != "" {
		r.run.Reason += " (" + detail + ")"
	}
}

// runStep runs one step with its retries. An interrupted step that is not
// idempotent waits for a human to choose: re-run it, or mark it done.
func (r *remediationRun) runStep(ctx workflow.Context, i int, s incident.Step) (incident.StepResult, error) {
	n := len(r.p.Steps)
	rerun := false
	for attempt := 0; ; {
		key := fmt.Sprintf("%s/%s", r.in.RunID, s.ID)
		if attempt > 0 {
			key = fmt.Sprintf("%s#%d", key, attempt+1)
		}
		if err := r.post(ctx, "step-"+s.ID, bot.StepRunning(i+1, n, s)); err != nil {
			return incident.StepResult{}, err
		}
		res := r.execute(ctx, s, key, rerun)
		rerun = false
		if res.Status == incident.StepInterrupted && r.abort == nil {
			choice, err := r.askAboutInterruption(ctx, s, res)
			if err != nil {
				return res, err
			}
			switch choice {
			case contract.ChoiceRerun:
				rerun = true
				continue
			case contract.ChoiceMarkDone:
				res.Status, res.Error = incident.StepSucceeded, ""
				res.Output += fmt.Sprintf("\n(interrupted; marked done by %s)", r.chooser.Name())
			}
		}
		if err := r.post(ctx, "step-"+s.ID, bot.Step(i+1, n, s, res)); err != nil {
			return res, err
		}
		if err := r.audit(ctx, stepDetails(r.in.RunID, s, res, attempt, false)); err != nil {
			return res, err
		}
		if res.Status == incident.StepSucceeded || attempt >= s.Retries || r.abort != nil {
			return res, nil
		}
		attempt++
		wait := cmp.Or(s.Backoff, DefaultBackoff) << (attempt - 1)
		if err := r.post(ctx, "step-"+s.ID+"-retry", bot.Status(fmt.Sprintf("Step %s failed; retry %d of %d in %s", s.ID, attempt, s.Retries, wait), res.Error)); err != nil {
			return res, err
		}
		if _, err := workflow.AwaitWithTimeout(ctx, wait, func() bool { return r.abort != nil }); err != nil {
			return res, err
		}
		if r.abort != nil {
			return res, nil
		}
	}
}

// execute runs one attempt of a step as an activity that an abort can cancel:
// the activity's context is cancelled, its heartbeat notices, the step's process
// is killed, and the workflow waits for that before going on.
func (r *remediationRun) execute(ctx workflow.Context, s incident.Step, key string, rerun bool) incident.StepResult {
	sctx, cancel := workflow.WithCancel(ctx)
	r.cancelStep = cancel
	defer func() { r.cancelStep = nil; cancel() }()
	sctx = workflow.WithActivityOptions(sctx, workflow.ActivityOptions{
		StartToCloseTimeout: s.Timeout + 30*time.Second,
		HeartbeatTimeout:    5 * activities.HeartbeatInterval,
		WaitForCancellation: true,
		// Retries of the activity are safe: RunStep never re-runs a step that may
		// have started unless the step is idempotent or a human said so.
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second},
	})
	var res incident.StepResult
	err := workflow.ExecuteActivity(sctx, a.RunStep, activities.RunStepInput{
		IncidentID: r.in.IncidentID, RunID: r.in.RunID, Key: key, Step: s, Rerun: rerun,
	}).Get(ctx, &res)
	if err != nil {
		now := workflow.Now(ctx)
		res = incident.StepResult{StepID: s.ID, Command: s.Command, Status: incident.StepFailed, ExitCode: -1, Error: err.Error(), FinishedAt: now}
		if temporal.IsCanceledError(err) {
			res.Error = "stopped: the run was aborted"
		}
	}
	return res
}

// askAboutInterruption posts the choice to the thread and waits for it.
func (r *remediationRun) askAboutInterruption(ctx workflow.Context, s incident.Step, res incident.StepResult) (string, error) {
	if err := r.audit(ctx, audit.Interrupted{Run: r.in.RunID, Step: s.ID, StartedAt: res.StartedAt, Error: res.Error}); err != nil {
		return "", err
	}
	r.waiting, r.choice = &res, ""
	target := r.in.RunID + "/" + s.ID
	if err := r.post(ctx, "step-"+s.ID+"-interrupted", bot.Interrupted(s, res, target, "")); err != nil {
		return "", err
	}
	if err := workflow.Await(ctx, func() bool { return r.choice != "" || r.abort != nil }); err != nil {
		return "", err
	}
	r.waiting = nil
	if r.abort != nil {
		return "", nil
	}
	if err := r.audit(ctx, audit.Choice{Run: r.in.RunID, Step: s.ID, Choice: r.choice, Actor: r.chooser}); err != nil {
		return "", err
	}
	answered := fmt.Sprintf("%s chose %s", r.chooser.Name(), r.choice)
	return r.choice, r.post(ctx, "step-"+s.ID+"-interrupted", bot.Interrupted(s, res, target, answered))
}

func (r *remediationRun) validateChoice(req contract.ActRequest) error {
	if r.waiting == nil || r.waiting.StepID != req.StepID {
		return refuse(contract.RefusedConflict, "step %q of %s is not waiting for a choice", req.StepID, r.in.RunID)
	}
	if req.Choice != contract.ChoiceRerun && req.Choice != contract.ChoiceMarkDone {
		return refuse(contract.RefusedBadRequest, "choice must be %q or %q, not %q", contract.ChoiceRerun, contract.ChoiceMarkDone, req.Choice)
	}
	return CheckActor(r.p, req.Actor)
}

func (r *remediationRun) chooseStep(_ workflow.Context, req contract.ActRequest) (contract.Answer, error) {
	r.choice, r.chooser = req.Choice, req.Actor
	return contract.Answer{Message: fmt.Sprintf("%s chose %s for step %s.", req.Actor.Name(), req.Choice, req.StepID)}, nil
}

// passGate holds the run until the proposal's policy is satisfied for this step,
// or someone rejects, or the run is aborted. It reports whether the run goes on.
func (r *remediationRun) passGate(ctx workflow.Context, i int, s incident.Step) (bool, error) {
	r.gate, r.gateDone, r.gateBy = &Gate{StepID: s.ID}, "", nil
	defer func() { r.gate = nil }()
	target := r.in.RunID + "/" + s.ID
	if err := r.audit(ctx, audit.GateOpen{Run: r.in.RunID, Step: s.ID, MinApprovals: needed(r.p)}); err != nil {
		return false, err
	}
	if err := r.post(ctx, "gate-"+s.ID, bot.Gate(r.p, i+1, len(r.p.Steps), s, target, nil, "")); err != nil {
		return false, err
	}
	if err := workflow.Await(ctx, func() bool { return r.gateDone != "" || r.abort != nil }); err != nil {
		return false, err
	}
	if r.abort != nil {
		return false, r.post(ctx, "gate-"+s.ID, bot.Gate(r.p, i+1, len(r.p.Steps), s, target, r.gate.Approvals, "aborted"))
	}
	if err := r.audit(ctx, audit.Gate{Decision: r.gateDone, Run: r.in.RunID, Step: s.ID, By: r.gateBy}); err != nil {
		return false, err
	}
	outcome := "approved by " + names(r.gateBy)
	if r.gateDone == incident.Reject {
		outcome = "rejected by " + names(r.gateBy)
		r.fail(fmt.Sprintf("step %s was rejected at its gate by %s", s.ID, names(r.gateBy)), "")
	}
	return r.gateDone == incident.Approve, r.post(ctx, "gate-"+s.ID, bot.Gate(r.p, i+1, len(r.p.Steps), s, target, r.gate.Approvals, outcome))
}

func (r *remediationRun) decideGate(ctx workflow.Context, req contract.DecideRequest) (contract.Answer, error) {
	g := r.gate
	if req.Decision == incident.Reject {
		r.gateDone, r.gateBy = incident.Reject, []incident.Actor{req.Actor}
		return contract.Answer{Message: fmt.Sprintf("%s rejected step %s; the run stops and rolls back.", req.Actor.Name(), g.StepID)}, nil
	}
	g.Approvals = append(g.Approvals, req.Actor)
	if len(g.Approvals) < needed(r.p) {
		return contract.Answer{Message: fmt.Sprintf("%s approved step %s (%d of %d).", req.Actor.Name(), g.StepID, len(g.Approvals), needed(r.p))}, nil
	}
	r.gateDone, r.gateBy = incident.Approve, g.Approvals
	return contract.Answer{Message: fmt.Sprintf("%s approved step %s; it runs now.", req.Actor.Name(), g.StepID)}, nil
}

// rollback runs the rollback steps, last listed first. A failing rollback step is
// reported and the rest still run: each undoes something different.
func (r *remediationRun) rollback(ctx workflow.Context) error {
	steps := r.p.Rollback
	if err := r.audit(ctx, audit.Rollback{Run: r.in.RunID, Reason: r.run.Reason, Steps: len(steps)}); err != nil {
		return err
	}
	for j := len(steps) - 1; j >= 0; j-- {
		s := steps[j]
		n := len(steps) - j
		if err := r.post(ctx, "rollback-"+s.ID, bot.RollbackStep(n, len(steps), s, nil)); err != nil {
			return err
		}
		res := r.execute(ctx, s, fmt.Sprintf("%s/rollback/%s", r.in.RunID, s.ID), false)
		r.run.Rollback = append(r.run.Rollback, res)
		if err := r.post(ctx, "rollback-"+s.ID, bot.RollbackStep(n, len(steps), s, &res)); err != nil {
			return err
		}
		if err := r.audit(ctx, stepDetails(r.in.RunID, s, res, 0, true)); err != nil {
			return err
		}
	}
	return nil
}

func stepDetails(runID string, s incident.Step, res incident.StepResult, attempt int, rollback bool) audit.Step {
	out := res.Output
	if len(out) > maxAuditOutput {
		out = out[:maxAuditOutput]
	}
	return audit.Step{
		Rollback: rollback, Run: runID, Step: s.ID, Type: s.Run, Plan: s.Describe(), Attempt: attempt + 1,
		Status: string(res.Status), ExitCode: res.ExitCode, DurationMS: res.Duration.Milliseconds(), Error: res.Error, Output: out,
	}
}

func (r *remediationRun) audit(ctx workflow.Context, d audit.Details) error {
	details, err := audit.Fields(d)
	if err != nil {
		return err
	}
	r.audits++
	return workflow.ExecuteActivity(ctx, a.Audit, activities.AuditInput{
		Key: fmt.Sprintf("%s/%d", r.in.RunID, r.audits), IncidentID: r.in.IncidentID, At: workflow.Now(ctx),
		Actor: actorVigil, Action: d.Action(), Details: details,
	}).Get(ctx, nil)
}

func (r *remediationRun) post(ctx workflow.Context, key string, m bot.Message) error {
	return workflow.ExecuteActivity(ctx, a.PostMessage, activities.PostInput{IncidentID: r.in.IncidentID, Key: r.in.RunID + "-" + key, Message: m}).Get(ctx, nil)
}

func names(as []incident.Actor) string {
	s := ""
	for i, a := range as {
		if i > 0 {
			s += ", "
		}
		s += a.Name()
	}
	return s
}
