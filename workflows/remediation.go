package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/vigilops/vigil/activities"
	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/incident"
)

// maxAuditOutput caps step output copied into an audit record.
const maxAuditOutput = 4096

// RemediationWorkflow runs one approved proposal's steps in order, posting each
// step's progress and outcome to the incident thread and recording each in the
// audit trail. It stops at the first step that does not succeed. The returned Run
// says what happened; the workflow itself fails only if Temporal cannot run it.
func RemediationWorkflow(ctx workflow.Context, in RemediationInput) (incident.Run, error) {
	ctx = withActivityDefaults(ctx)
	p := in.Proposal
	run := incident.Run{ID: in.RunID, ProposalID: p.ID, RunbookID: p.RunbookID, Status: incident.ProposalRunning, StartedAt: workflow.Now(ctx)}
	audits := 0
	audit := func(action string, details map[string]any) error {
		audits++
		return workflow.ExecuteActivity(ctx, a.Audit, activities.AuditInput{
			Key: fmt.Sprintf("%s/%d", in.RunID, audits), IncidentID: in.IncidentID, At: workflow.Now(ctx),
			Actor: actorVigil, Action: action, Details: details,
		}).Get(ctx, nil)
	}
	post := func(key string, m bot.Message) error {
		return workflow.ExecuteActivity(ctx, a.PostMessage, activities.PostInput{IncidentID: in.IncidentID, Key: in.RunID + "-" + key, Message: m}).Get(ctx, nil)
	}
	if err := audit("run.started", map[string]any{"run": in.RunID, "proposal": p.ID, "runbook": p.RunbookID, "revision": p.Revision, "plan": p.Plan()}); err != nil {
		return run, err
	}
	for i, s := range p.Steps {
		if err := post("step-"+s.ID, bot.StepRunning(i+1, len(p.Steps), s)); err != nil {
			return run, err
		}
		sctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: s.Timeout + 30*time.Second,
			HeartbeatTimeout:    5 * activities.HeartbeatInterval,
			// Retries are safe: RunStep never re-runs a step that may have started.
			RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second},
		})
		var res incident.StepResult
		if err := workflow.ExecuteActivity(sctx, a.RunStep, activities.RunStepInput{IncidentID: in.IncidentID, RunID: in.RunID, Step: s}).Get(ctx, &res); err != nil {
			res = incident.StepResult{StepID: s.ID, Command: s.Command, Status: incident.StepFailed, ExitCode: -1, Error: err.Error()}
		}
		run.Steps = append(run.Steps, res)
		if err := post("step-"+s.ID, bot.Step(i+1, len(p.Steps), res)); err != nil {
			return run, err
		}
		out := res.Output
		if len(out) > maxAuditOutput {
			out = out[:maxAuditOutput]
		}
		if err := audit("step.finished", map[string]any{
			"run": in.RunID, "step": s.ID, "command": s.Command, "status": res.Status, "exit_code": res.ExitCode,
			"duration_ms": res.Duration.Milliseconds(), "error": res.Error, "output": out,
		}); err != nil {
			return run, err
		}
		if res.Status != incident.StepSucceeded {
			run.Status = incident.ProposalFailed
			run.Reason = fmt.Sprintf("step %s %s", s.ID, res.Status)
			if res.Error != "" {
				run.Reason += " (" + res.Error + ")"
			}
			break
		}
	}
	if run.Status == incident.ProposalRunning {
		run.Status = incident.ProposalSucceeded
	}
	run.FinishedAt = workflow.Now(ctx)
	if err := audit("run.finished", map[string]any{"run": in.RunID, "status": run.Status, "reason": run.Reason}); err != nil {
		return run, err
	}
	title := fmt.Sprintf("Runbook %s %s", p.RunbookID, run.Status)
	return run, post("result", bot.Status(title, run.Reason))
}
