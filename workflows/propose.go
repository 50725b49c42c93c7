package workflows

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/vigilops/vigil/activities"
	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/incident"
)

// Proposals: ranking causes, rendering runbooks, offering them for decision.

// analyze ranks root-cause candidates and renders runbooks: new ones become
// proposals (or proposals waiting for input answers); a pending proposal whose
// plan changed with the evidence is replaced, and its approvals so far are void;
// a proposal whose inputs are all answered is rendered and offered.
func (r *incidentRun) analyze(ctx workflow.Context) error {
	inc := r.inc()
	var cands []incident.Candidate
	if err := workflow.ExecuteLocalActivity(ctx, a.RankCauses, activities.RankInput{Incident: *inc}).Get(ctx, &cands); err != nil {
		return err
	}
	inc.Candidates = cands
	if len(cands) > 0 {
		c := cands[0]
		if err := r.audit(ctx, actorVigil, audit.Ranked{Top: c.Component, Score: c.Score, Reason: c.Reason, Count: len(cands)}); err != nil {
			return err
		}
	}
	if err := r.post(ctx, "candidates", bot.Candidates(cands)); err != nil {
		return err
	}
	in := activities.ProposeInput{Incident: *inc, Requests: r.requests(), Inputs: map[string]map[string]string{}}
	for _, p := range inc.Proposals {
		switch p.Status {
		case incident.ProposalPending:
		case incident.ProposalNeedsInput:
			answers := map[string]string{}
			for _, q := range p.Inputs {
				if q.Answer != "" {
					answers[q.Name] = q.Answer
				}
			}
			in.Inputs[p.RunbookID] = answers
		default:
			if p.Request == "" {
				in.Exclude = append(in.Exclude, p.RunbookID)
			}
		}
	}
	var res activities.ProposeResult
	if err := workflow.ExecuteLocalActivity(ctx, a.ProposeRemediations, in).Get(ctx, &res); err != nil {
		return err
	}
	for _, n := range res.Notes {
		if slices.Contains(r.st.Told, n) {
			continue
		}
		r.st.Told = append(r.st.Told, n)
		if err := r.note(ctx, "Runbook not proposed", n); err != nil {
			return err
		}
	}
	now := workflow.Now(ctx)
	for _, p := range res.NeedsInput {
		if r.slot(p) == nil {
			if err := r.askInput(ctx, p, now); err != nil {
				return err
			}
		}
	}
	for _, p := range res.Proposals {
		p.SetPlanHash()
		cur := r.slot(p)
		switch {
		case cur == nil:
			if err := r.offer(ctx, p, now); err != nil {
				return err
			}
		case cur.Status == incident.ProposalNeedsInput:
			if err := r.fill(ctx, cur, p, now); err != nil {
				return err
			}
		default:
			if err := r.replan(ctx, cur, p); err != nil {
				return err
			}
		}
	}
	return r.brief(ctx)
}

// slot is the existing proposal a rendered one belongs to: the one answering
// the same request, or for matched runbooks the one of the same runbook.
func (r *incidentRun) slot(p incident.Proposal) *incident.Proposal {
	props := r.inc().Proposals
	i := slices.IndexFunc(props, func(q incident.Proposal) bool {
		return q.RunbookID == p.RunbookID && q.Request == p.Request
	})
	if i < 0 {
		return nil
	}
	return &props[i]
}

// requests are the manual run requests among the evidence that no proposal has
// answered yet.
func (r *incidentRun) requests() []activities.RunRequest {
	inc := r.inc()
	var out []activities.RunRequest
	for _, ev := range inc.Evidence {
		if ev.Kind != incident.KindManual || ev.Data["runbook"] == "" {
			continue
		}
		if slices.ContainsFunc(inc.Proposals, func(p incident.Proposal) bool { return p.Request == ev.ID }) {
			continue
		}
		out = append(out, activities.RunRequest{
			RunbookID: ev.Data["runbook"], Labels: map[string]string{"service": ev.Data["service"]},
			RequestedBy: ev.Data["requested_by"], EvidenceID: ev.ID,
		})
	}
	return out
}

// offer adds a new proposal.
func (r *incidentRun) offer(ctx workflow.Context, p incident.Proposal, now time.Time) error {
	inc := r.inc()
	p.ID = fmt.Sprintf("P%d", len(inc.Proposals)+1)
	inc.Proposals = append(inc.Proposals, p)
	return r.offerAt(ctx, &inc.Proposals[len(inc.Proposals)-1], now)
}

// fill renders a proposal whose inputs are all answered, then offers it.
func (r *incidentRun) fill(ctx workflow.Context, cur *incident.Proposal, p incident.Proposal, now time.Time) error {
	p.ID, p.Inputs = cur.ID, cur.Inputs
	*cur = p
	return r.offerAt(ctx, cur, now)
}

// offerAt puts a rendered proposal up for decision and, where an autonomy rule
// allows, approves it on the rule's authority. The audit record comes first.
func (r *incidentRun) offerAt(ctx workflow.Context, p *incident.Proposal, now time.Time) error {
	inc := r.inc()
	p.Status, p.OfferedAt = incident.ProposalPending, now
	p.OnExpiry = cmp.Or(p.OnExpiry, OnExpiryEscalate)
	if p.Expires > 0 {
		p.ExpiresAt = now.Add(p.Expires)
	}
	if rule, ok := AutonomyFor(p, inc.Services, r.policy.Autonomy); ok {
		p.Autonomy = rule
	}
	if err := r.audit(ctx, actorVigil, audit.Offered{
		Proposal: p.ID, Runbook: p.RunbookID, Revision: p.Revision, Risk: p.Risk, Plan: p.Plan(),
		PlanHash: p.PlanHash, Why: p.Why, Approvers: p.Approvers, MinApprovals: needed(p), Autonomy: p.Autonomy,
		RequestedBy: p.RequestedBy,
	}); err != nil {
		return err
	}
	if err := r.post(ctx, "proposal-"+p.ID, bot.Proposal(p, inc.Decisions...)); err != nil {
		return err
	}
	if p.Autonomy == "" {
		return nil
	}
	d := incident.Decision{ProposalID: p.ID, Decision: incident.Approve, At: now,
		Actor:   incident.Actor{User: actorAutonomy, DisplayName: "Vigil autonomy", Surface: "system", Verification: "autonomy rule " + p.Autonomy},
		Comment: fmt.Sprintf("Runs without a human: %s is low risk and autonomy rule %q allows it for %s.", p.RunbookID, p.Autonomy, strings.Join(inc.Services, ", ")),
	}
	p.Status = incident.ProposalApproved
	inc.Decisions = append(inc.Decisions, d)
	r.st.Pending = append(r.st.Pending, len(inc.Decisions)-1)
	return nil
}

// askInput adds a proposal that waits for a human to answer its input params.
func (r *incidentRun) askInput(ctx workflow.Context, p incident.Proposal, now time.Time) error {
	inc := r.inc()
	p.ID = fmt.Sprintf("P%d", len(inc.Proposals)+1)
	p.Status, p.OfferedAt = incident.ProposalNeedsInput, now
	names := make([]string, len(p.Inputs))
	for i, q := range p.Inputs {
		names[i] = q.Name
	}
	if err := r.audit(ctx, actorVigil, audit.NeedsInput{
		Proposal: p.ID, Runbook: p.RunbookID, Revision: p.Revision, Inputs: names, Why: p.Why, RequestedBy: p.RequestedBy,
	}); err != nil {
		return err
	}
	inc.Proposals = append(inc.Proposals, p)
	return r.post(ctx, "proposal-"+p.ID, bot.Proposal(&inc.Proposals[len(inc.Proposals)-1], inc.Decisions...))
}

// replan replaces a pending proposal's plan when the evidence changed it.
func (r *incidentRun) replan(ctx workflow.Context, cur *incident.Proposal, next incident.Proposal) error {
	if cur.Status != incident.ProposalPending || cur.PlanHash == next.PlanHash {
		return nil
	}
	old := cur.Plan()
	if err := r.audit(ctx, actorVigil, audit.Replanned{
		Proposal: cur.ID, OldPlan: old, NewPlan: next.Plan(), PlanHash: next.PlanHash, VoidedApprovals: len(cur.Approvals),
	}); err != nil {
		return err
	}
	cur.Params, cur.Steps, cur.Rollback, cur.Revision, cur.Why = next.Params, next.Steps, next.Rollback, next.Revision, next.Why
	cur.PlanHash, cur.Approvals = next.PlanHash, nil
	if err := r.post(ctx, "proposal-"+cur.ID, bot.Proposal(cur, r.inc().Decisions...)); err != nil {
		return err
	}
	return r.note(ctx, "Plan of "+cur.ID+" changed", "The evidence moved on, so the plan of "+cur.ID+" was rendered again. Approvals given so far no longer count: review the new plan and approve again.")
}
