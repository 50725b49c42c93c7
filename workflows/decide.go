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

// Decisions: the decide update and the main loop's acting on accepted ones.

func (r *incidentRun) validateDecide(ctx workflow.Context, req contract.DecideRequest) error {
	if req.RunID != "" {
		return refuse(contract.RefusedBadRequest, "step %s of run %s is decided on the run, not the incident", req.StepID, req.RunID)
	}
	return CheckDecision(r.inc(), req, workflow.Now(ctx))
}

// decide records an accepted decision; the main loop audits it and acts. The
// proposal's status changes here, before any await, so a concurrent second
// decision is validated against it.
func (r *incidentRun) decide(ctx workflow.Context, req contract.DecideRequest) (contract.Answer, error) {
	inc := r.inc()
	p := inc.Proposal(req.ProposalID)
	d := incident.Decision{ProposalID: p.ID, Decision: req.Decision, Actor: req.Actor, Comment: req.Comment, At: workflow.Now(ctx)}
	inc.Decisions = append(inc.Decisions, d)
	r.st.Pending = append(r.st.Pending, len(inc.Decisions)-1)
	if d.Decision == incident.Reject {
		p.Status = incident.ProposalRejected
		return contract.Answer{Message: fmt.Sprintf("%s rejected %s (%s).", d.Actor.Name(), p.ID, p.RunbookID)}, nil
	}
	p.Approvals = append(p.Approvals, req.Actor)
	if len(p.Approvals) < needed(p) {
		return contract.Answer{Message: fmt.Sprintf("%s approved %s (%d of %d); it needs %d more approval(s) from other approvers.",
			d.Actor.Name(), p.ID, len(p.Approvals), needed(p), needed(p)-len(p.Approvals))}, nil
	}
	p.Status = incident.ProposalApproved
	return contract.Answer{Message: fmt.Sprintf("%s approved %s; running %s now.", d.Actor.Name(), p.ID, p.RunbookID)}, nil
}

// actOnDecisions records accepted decisions in order and carries out those that
// completed an approval.
func (r *incidentRun) actOnDecisions(ctx workflow.Context) error {
	inc := r.inc()
	for len(r.st.Pending) > 0 {
		n := r.st.Pending[0]
		d := inc.Decisions[n]
		p := inc.Proposal(d.ProposalID)
		kind := d.Decision
		if d.Actor.User == actorAutonomy {
			kind = audit.ByAutonomy
		}
		if err := r.audit(ctx, auditActor(d.Actor), audit.Decision{
			Decision: kind, Proposal: p.ID, Runbook: p.RunbookID, Revision: p.Revision, Plan: p.Plan(), PlanHash: p.PlanHash,
			Actor: d.Actor, Comment: d.Comment, Approvers: p.Approvers,
			Approvals: len(p.Approvals), MinApprovals: needed(p), Autonomy: p.Autonomy,
		}); err != nil {
			return err
		}
		r.st.Pending = r.st.Pending[1:]
		if err := r.post(ctx, fmt.Sprintf("decision-%d", n+1), bot.Decision(d, p)); err != nil {
			return err
		}
		if err := r.post(ctx, "proposal-"+p.ID, bot.Proposal(p, r.inc().Decisions...)); err != nil {
			return err
		}
		if d.Decision == incident.Reject {
			r.recordOutcome(ctx, p, incident.OutcomeRejected)
			if r.requestsOnly() && !r.hasOpenProposals() {
				if err := r.resolve(ctx, auditActor(d.Actor), fmt.Sprintf("The requested run of %s was rejected by %s; nothing is left to do.", p.RunbookID, d.Actor.Name())); err != nil {
					return err
				}
				continue
			}
		}
		if d.Decision == incident.Approve && p.Status == incident.ProposalApproved && !slices.ContainsFunc(r.st.Pending, func(m int) bool { return inc.Decisions[m].ProposalID == p.ID }) {
			if err := r.remediate(ctx, p); err != nil {
				return err
			}
			continue
		}
		if err := r.sync(ctx); err != nil {
			return err
		}
	}
	return nil
}

func auditActor(a incident.Actor) string {
	if strings.HasPrefix(a.User, "system:") {
		return a.User
	}
	return "user:" + a.User
}
