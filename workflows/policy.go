package workflows

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/vigilops/vigil/workflows/contract"

	"go.temporal.io/sdk/temporal"

	"github.com/vigilops/vigil/incident"
)

func refuse(kind, format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), kind, nil)
}

// The approval policy is pure: given the incident, the proposal and the request,
// it says yes or why not. The workflow's validators call it, so no surface can get
// around it, and a refusal's message goes back to whoever asked.

// CheckDecision decides whether req may be applied to inc at now.
func CheckDecision(inc *incident.Incident, req contract.DecideRequest, now time.Time) error {
	if err := checkRequest(req.Decision, req.Actor); err != nil {
		return err
	}
	if inc.Status == incident.StatusResolved {
		return refuse(contract.RefusedConflict, "incident %s is resolved; there is nothing left to decide", inc.ID)
	}
	p := inc.Proposal(req.ProposalID)
	if p == nil {
		ids := make([]string, len(inc.Proposals))
		for i, q := range inc.Proposals {
			ids[i] = q.ID
		}
		return refuse(contract.RefusedNotFound, "incident %s has no proposal %q (proposals: %s)", inc.ID, req.ProposalID, orNone(ids))
	}
	if p.Status != incident.ProposalPending {
		return refuse(contract.RefusedConflict, "%s (%s) is already %s", p.ID, p.RunbookID, p.Status)
	}
	if expired(p, now) {
		return refuse(contract.RefusedConflict, "%s (%s) expired at %s without a decision; it will not run", p.ID, p.RunbookID, p.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if err := checkAuthority(p, req.Actor, req.Decision, p.Approvals); err != nil {
		return err
	}
	if req.Decision == incident.Reject {
		return nil
	}
	// Freshness: an approval is for the incident and plan the human saw.
	if p.RequestedBy == "" && len(inc.Alerts) > 0 && !inc.Firing() {
		return refuse(contract.RefusedConflict, "incident %s is no longer firing (every alert has resolved); %s was not approved", inc.ID, p.ID)
	}
	if req.PlanHash != "" && req.PlanHash != p.PlanHash {
		return refuse(contract.RefusedConflict, "the plan of %s changed after you saw it (the evidence moved on); review the new plan and approve again", p.ID)
	}
	return nil
}

// expired: past the deadline that aborts the proposal (the first with on_expiry:
// abort, the second with escalate, whose first expiry only restarts the clock).
func expired(p *incident.Proposal, now time.Time) bool {
	return !p.ExpiresAt.IsZero() && !now.Before(p.ExpiresAt) && (p.OnExpiry == OnExpiryAbort || p.Escalations > 0)
}

// On-expiry policies.
const (
	OnExpiryEscalate = "escalate"
	OnExpiryAbort    = "abort"
)

// Gate is a point in a run where a step waits for the proposal's approval
// policy to be satisfied once more: a step with confirm: true, or an approval step.
type Gate struct {
	StepID    string           `json:"step_id"`
	Approvals []incident.Actor `json:"approvals,omitempty"`
}

// CheckGate decides whether req may be applied to an open gate of run p. It
// applies the proposal's approvers, N-of-M and self-approval rules to the gate.
func CheckGate(p *incident.Proposal, g *Gate, req contract.DecideRequest) error {
	if err := checkRequest(req.Decision, req.Actor); err != nil {
		return err
	}
	if g == nil || g.StepID != req.StepID {
		return refuse(contract.RefusedConflict, "step %q of %s is not waiting for a decision", req.StepID, p.ID)
	}
	return checkAuthority(p, req.Actor, req.Decision, g.Approvals)
}

// CheckActor decides whether actor may act on a running proposal (abort it,
// re-run or mark done an interrupted step): the proposal's approvers may.
func CheckActor(p *incident.Proposal, actor incident.Actor) error {
	if actor.User == "" {
		return refuse(contract.RefusedForbidden, "no verified user identity came with this request")
	}
	if !mayApprove(p, actor) {
		return refuse(contract.RefusedForbidden, "%s may not act on %s (%s): its approvers are %s", actor.User, p.ID, p.RunbookID, strings.Join(p.Approvers, ", "))
	}
	return nil
}

func checkRequest(decision string, actor incident.Actor) error {
	if decision != incident.Approve && decision != incident.Reject {
		return refuse(contract.RefusedBadRequest, "decision must be %q or %q, not %q", incident.Approve, incident.Reject, decision)
	}
	if actor.User == "" {
		return refuse(contract.RefusedForbidden, "no verified user identity came with this decision")
	}
	return nil
}

// checkAuthority applies who-may-decide rules: an approver of the proposal, not
// the requester unless self-approval is allowed, and for approvals one vote per
// person.
func checkAuthority(p *incident.Proposal, actor incident.Actor, decision string, approvals []incident.Actor) error {
	if !mayApprove(p, actor) {
		return refuse(contract.RefusedForbidden, "%s may not decide %s (%s): its approvers are %s", actor.User, p.ID, p.RunbookID, strings.Join(p.Approvers, ", "))
	}
	if decision == incident.Approve && !p.SelfApproval && p.RequestedBy != "" && p.RequestedBy == actor.User {
		return refuse(contract.RefusedForbidden, "%s requested %s and may not approve it too (self-approval is off for %s); ask another approver", actor.User, p.ID, p.RunbookID)
	}
	if decision == incident.Approve && slices.ContainsFunc(approvals, func(a incident.Actor) bool { return a.User == actor.User }) {
		return refuse(contract.RefusedConflict, "%s already approved %s; it needs %d approval(s) from %d distinct people", actor.User, p.ID, p.MinApprovals, p.MinApprovals)
	}
	return nil
}

// mayApprove: the actor is one of the users the approvers resolved to, or the
// surface verified that the actor belongs to one of the approver groups.
func mayApprove(p *incident.Proposal, actor incident.Actor) bool {
	if slices.Contains(p.Allowed, actor.User) {
		return true
	}
	for _, a := range p.Approvers {
		if g, ok := strings.CutPrefix(a, "group:"); ok && slices.Contains(actor.Groups, g) {
			return true
		}
	}
	return false
}

// needed is how many distinct approvals the proposal needs (at least 1).
func needed(p *incident.Proposal) int {
	return max(p.MinApprovals, 1)
}

// AutonomyFor returns the first rule that lets p run without a human on the
// incident's services. Only risk: low runbooks are ever eligible, and every
// service of the incident must be allowed by the rule.
func AutonomyFor(p *incident.Proposal, services []string, rules []contract.AutonomyRule) (string, bool) {
	if p.Risk != "low" || len(services) == 0 || p.RequestedBy != "" {
		return "", false
	}
	for _, r := range rules {
		if !matchAny(r.Runbooks, p.RunbookID) {
			continue
		}
		if !slices.ContainsFunc(services, func(s string) bool { return !matchAny(r.Services, s) }) {
			return r.Name, true
		}
	}
	return "", false
}

func matchAny(patterns []string, s string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool {
		ok, err := path.Match(p, s)
		return err == nil && ok
	})
}

func orNone(ss []string) string {
	if len(ss) == 0 {
		return "none"
	}
	return strings.Join(ss, ", ")
}
