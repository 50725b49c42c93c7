package workflows

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/workflows/contract"

	"go.temporal.io/sdk/workflow"

	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/incident"
)

// Settling: remediation runs, escalation and resolution.

// remediate runs an approved proposal as a child workflow and settles the incident
// on its outcome.
func (r *incidentRun) remediate(ctx workflow.Context, p *incident.Proposal) error {
	inc := r.inc()
	if inc.Status == incident.StatusResolved {
		p.Status, p.Outcome = incident.ProposalFailed, "not run: the incident resolved first"
		return r.sync(ctx)
	}
	now := workflow.Now(ctx)
	if inc.ApprovedAt.IsZero() {
		inc.ApprovedAt = now
	}
	p.Status = incident.ProposalRunning
	runID := fmt.Sprintf("%s-run-%d", inc.ID, len(inc.Runs)+1)
	inc.Runs = append(inc.Runs, incident.Run{ID: runID, ProposalID: p.ID, RunbookID: p.RunbookID, Status: incident.ProposalRunning, StartedAt: now})
	r.active, r.runID = p, runID
	defer func() { r.active, r.runID = nil, "" }()
	if err := r.post(ctx, "proposal-"+p.ID, bot.Proposal(p, r.inc().Decisions...)); err != nil {
		return err
	}
	if err := r.sync(ctx); err != nil {
		return err
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: runID})
	var run incident.Run
	err := workflow.ExecuteChildWorkflow(cctx, RemediationWorkflow, contract.RemediationInput{IncidentID: inc.ID, RunID: runID, Proposal: *p}).Get(ctx, &run)
	if err != nil {
		run = inc.Runs[len(inc.Runs)-1]
		run.Status, run.Reason, run.FinishedAt = incident.ProposalFailed, "the remediation workflow failed: "+err.Error(), workflow.Now(ctx)
	}
	inc.Runs[len(inc.Runs)-1] = run
	p.Status, p.Outcome = run.Status, run.Reason
	r.active, r.runID = nil, ""
	r.recordOutcome(ctx, p, outcomeOf(run.Status))
	if err := r.post(ctx, "proposal-"+p.ID, bot.Proposal(p, r.inc().Decisions...)); err != nil {
		return err
	}
	if run.Status == incident.ProposalSucceeded {
		inc.MitigatedAt = run.FinishedAt
		return r.resolve(ctx, actorVigil, fmt.Sprintf("Runbook %s (%s) succeeded.", p.RunbookID, p.ID))
	}
	verb := "failed"
	if run.Status == incident.ProposalAborted {
		verb = "was aborted"
	}
	return r.escalate(ctx, actorVigil, fmt.Sprintf("Runbook %s (%s) %s: %s. A human needs to look.", p.RunbookID, p.ID, verb, run.Reason), p.EscalateTo)
}

// escalate marks the incident as needing more people and mentions the escalation
// targets in the thread. The audit record comes first.
func (r *incidentRun) escalate(ctx workflow.Context, actor, reason string, targets []string) error {
	if len(targets) == 0 {
		targets = r.policy.EscalateTo
	}
	if err := r.audit(ctx, actor, audit.Escalated{Reason: reason, Mentioned: targets}); err != nil {
		return err
	}
	inc := r.inc()
	inc.Escalated, inc.Reason = true, reason
	text := reason
	if len(targets) > 0 {
		text += "\nPaging " + strings.Join(targets, ", ") + "."
	}
	if err := r.note(ctx, "Escalated", text); err != nil {
		return err
	}
	return r.sync(ctx)
}

func (r *incidentRun) resolve(ctx workflow.Context, actor, reason string) error {
	if err := r.audit(ctx, actor, audit.Resolved{Reason: reason}); err != nil {
		return err
	}
	inc := r.inc()
	inc.ResolvedAt, inc.Reason, inc.Escalated = workflow.Now(ctx), reason, false
	for i := range inc.Proposals {
		if p := &inc.Proposals[i]; p.Status == incident.ProposalPending {
			p.Status, p.Outcome = incident.ProposalRejected, "not needed: the incident resolved"
			if err := r.post(ctx, "proposal-"+p.ID, bot.Proposal(p, r.inc().Decisions...)); err != nil {
				return err
			}
		}
	}
	if err := r.note(ctx, "Resolved", reason); err != nil {
		return err
	}
	if err := r.sync(ctx); err != nil {
		return err
	}
	return r.postmortem(ctx)
}

// requestsOnly reports whether the incident holds nothing but manual run
// requests: no alerts, no signals.
func (r *incidentRun) requestsOnly() bool {
	inc := r.inc()
	return len(inc.Alerts) == 0 && !slices.ContainsFunc(inc.Evidence, func(e incident.Evidence) bool { return e.Kind != incident.KindManual })
}

// hasOpenProposals reports whether a proposal still waits for a decision or input.
func (r *incidentRun) hasOpenProposals() bool {
	return slices.ContainsFunc(r.inc().Proposals, func(p incident.Proposal) bool {
		return p.Status == incident.ProposalPending || p.Status == incident.ProposalNeedsInput
	})
}
