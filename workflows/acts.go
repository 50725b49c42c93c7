package workflows

import (
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/workflows/contract"

	"go.temporal.io/sdk/workflow"

	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/incident"
)

// Limits on human input carried by acts.
const (
	maxNoteLen = 4000
	maxSnooze  = 24 * time.Hour
)

// nextDeadline is the earliest moment a timer must act: the no-ack escalation,
// or a pending proposal's expiry.
func (r *incidentRun) nextDeadline() (time.Time, bool) {
	var next time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	consider(r.ackDeadline())
	for _, p := range r.inc().Proposals {
		if p.Status == incident.ProposalPending {
			consider(p.ExpiresAt)
		}
	}
	return next, !next.IsZero()
}

// ackDeadline is when nobody having acked escalates; a snooze holds it off.
func (r *incidentRun) ackDeadline() time.Time {
	inc := r.inc()
	if r.policy.NoAckAfter <= 0 || !inc.AckedAt.IsZero() || r.st.AckEscalated || !inc.ResolvedAt.IsZero() {
		return time.Time{}
	}
	d := r.st.Started.Add(r.policy.NoAckAfter)
	if inc.SnoozedUntil.After(d) {
		d = inc.SnoozedUntil
	}
	return d
}

// fireDeadlines acts on every deadline that has passed. A proposal's first expiry
// escalates and restarts its clock (on_expiry: escalate); the next expiry, or the
// first with on_expiry: abort, ends the proposal unrun. Nothing is ever approved
// by a timer.
func (r *incidentRun) fireDeadlines(ctx workflow.Context) error {
	now := workflow.Now(ctx)
	if d := r.ackDeadline(); !d.IsZero() && !now.Before(d) {
		r.st.AckEscalated = true
		reason := fmt.Sprintf("Nobody acknowledged this incident within %s.", r.policy.NoAckAfter)
		if err := r.escalate(ctx, actorTimer, reason, nil); err != nil {
			return err
		}
	}
	inc := r.inc()
	for i := range inc.Proposals {
		p := &inc.Proposals[i]
		if p.Status != incident.ProposalPending || p.ExpiresAt.IsZero() || now.Before(p.ExpiresAt) {
			continue
		}
		if p.OnExpiry == OnExpiryEscalate && p.Escalations == 0 {
			if err := r.audit(ctx, actorTimer, audit.ExpiryEscalated{Proposal: p.ID, ExpiredAt: p.ExpiresAt, NewDeadline: now.Add(p.Expires)}); err != nil {
				return err
			}
			p.Escalations++
			p.ExpiresAt = now.Add(p.Expires)
			if err := r.escalate(ctx, actorTimer, fmt.Sprintf("%s (%s) was not decided within %s; the clock restarts once, until %s. If it is not decided by then it will not run.",
				p.ID, p.RunbookID, p.Expires, p.ExpiresAt.UTC().Format(time.RFC3339)), p.EscalateTo); err != nil {
				return err
			}
			continue
		}
		if err := r.audit(ctx, actorTimer, audit.Expired{Proposal: p.ID, ExpiredAt: p.ExpiresAt, OnExpiry: p.OnExpiry}); err != nil {
			return err
		}
		p.Status, p.Outcome = incident.ProposalExpired, fmt.Sprintf("expired at %s without a decision; not run", p.ExpiresAt.UTC().Format(time.RFC3339))
		if err := r.post(ctx, "proposal-"+p.ID, bot.Proposal(p, r.inc().Decisions...)); err != nil {
			return err
		}
		if err := r.note(ctx, p.ID+" expired", fmt.Sprintf("%s (%s) was not decided in time and will not run. Propose it again by hand (run %s for SERVICE) if it is still needed.", p.ID, p.RunbookID, p.RunbookID)); err != nil {
			return err
		}
		if err := r.sync(ctx); err != nil {
			return err
		}
	}
	return nil
}

// validateAct checks an act before it is accepted; a refusal goes back to the
// surface that sent it.
func (r *incidentRun) validateAct(act string, req contract.ActRequest) error {
	inc := r.inc()
	if req.Actor.User == "" {
		return refuse(contract.RefusedForbidden, "no verified user identity came with this request")
	}
	if !inc.ResolvedAt.IsZero() && act != contract.ActNote {
		return refuse(contract.RefusedConflict, "incident %s is resolved", inc.ID)
	}
	switch act {
	case contract.ActAck:
		if !inc.AckedAt.IsZero() && inc.Assignee == req.Actor.User {
			return refuse(contract.RefusedConflict, "%s already acknowledged %s", req.Actor.User, inc.ID)
		}
	case contract.ActAssign:
		if req.Assignee == "" {
			return refuse(contract.RefusedBadRequest, "assign needs a user to assign the incident to")
		}
	case contract.ActSnooze:
		if req.Duration <= 0 || req.Duration > maxSnooze {
			return refuse(contract.RefusedBadRequest, "snooze needs a duration between 1s and %s, got %s", maxSnooze, req.Duration)
		}
	case contract.ActResolve:
		if r.active != nil {
			return refuse(contract.RefusedConflict, "runbook %s (%s) is running; abort it first or wait for it to finish", r.active.RunbookID, r.active.ID)
		}
	case contract.ActAbort:
		if r.active == nil {
			return refuse(contract.RefusedConflict, "no remediation is running on %s", inc.ID)
		}
		return CheckActor(r.active, req.Actor)
	case contract.ActNote:
		if req.Text == "" || utf8.RuneCountInString(req.Text) > maxNoteLen {
			return refuse(contract.RefusedBadRequest, "a note needs text of at most %d characters", maxNoteLen)
		}
	case contract.ActStep:
		return refuse(contract.RefusedBadRequest, "answer an interrupted step on its run (run_id), not on the incident")
	}
	return nil
}

// act carries out an accepted act: audit first, so an act that cannot be recorded
// does not happen, then change the incident, post, and save.
func (r *incidentRun) act(ctx workflow.Context, act string, req contract.ActRequest) (contract.Answer, error) {
	// Handlers get the workflow's root context, without the activity options.
	ctx = withActivityDefaults(ctx)
	inc := r.inc()
	who := req.Actor.Name()
	actor := auditActor(req.Actor)
	now := workflow.Now(ctx)
	record := func(d audit.Act) error {
		d.Actor = req.Actor
		return r.audit(ctx, actor, d)
	}
	switch act {
	case contract.ActAck:
		if err := record(audit.Act{Act: audit.ActAcked}); err != nil {
			return contract.Answer{}, err
		}
		if inc.AckedAt.IsZero() {
			inc.AckedAt = now
		}
		inc.Assignee, inc.Escalated = req.Actor.User, false
		r.wake = true
		return r.answer(ctx, "Acknowledged", fmt.Sprintf("%s acknowledged the incident and owns it.", who))
	case contract.ActAssign:
		if err := record(audit.Act{Act: audit.ActAssigned, Assignee: req.Assignee}); err != nil {
			return contract.Answer{}, err
		}
		inc.Assignee = req.Assignee
		return r.answer(ctx, "Assigned", fmt.Sprintf("%s assigned the incident to %s.", who, req.Assignee))
	case contract.ActEscalate:
		reason := fmt.Sprintf("%s escalated the incident.", who)
		if req.Text != "" {
			reason = fmt.Sprintf("%s escalated the incident: %s", who, req.Text)
		}
		if err := r.escalate(ctx, actor, reason, nil); err != nil {
			return contract.Answer{}, err
		}
		return contract.Answer{Message: reason}, nil
	case contract.ActSnooze:
		until := now.Add(req.Duration)
		if err := record(audit.Act{Act: audit.ActSnoozed, Until: &until, Duration: req.Duration.String()}); err != nil {
			return contract.Answer{}, err
		}
		inc.SnoozedUntil = until
		r.wake = true
		return r.answer(ctx, "Snoozed", fmt.Sprintf("%s snoozed escalation until %s.", who, until.UTC().Format(time.RFC3339)))
	case contract.ActResolve:
		reason := fmt.Sprintf("Resolved by %s.", who)
		if req.Text != "" {
			reason = fmt.Sprintf("Resolved by %s: %s", who, req.Text)
		}
		if err := r.resolve(ctx, actor, reason); err != nil {
			return contract.Answer{}, err
		}
		r.wake = true
		return contract.Answer{Message: reason}, nil
	case contract.ActAbort:
		p, runID := r.active, r.runID
		if err := r.audit(ctx, actor, audit.AbortRequested{Run: runID, Proposal: p.ID, Reason: req.Text, Actor: req.Actor}); err != nil {
			return contract.Answer{}, err
		}
		if err := workflow.SignalExternalWorkflow(ctx, runID, "", contract.SignalAbort, contract.AbortSignal{Actor: req.Actor, Reason: req.Text}).Get(ctx, nil); err != nil {
			return contract.Answer{}, err
		}
		return contract.Answer{Message: fmt.Sprintf("%s asked to abort %s (%s); the running step is being stopped and the rollback will run.", who, p.ID, p.RunbookID)}, nil
	case contract.ActNote:
		if err := record(audit.Act{Act: audit.ActNote, Text: req.Text}); err != nil {
			return contract.Answer{}, err
		}
		inc.Notes = append(inc.Notes, incident.Note{Actor: req.Actor, Text: req.Text, At: now})
		return r.answer(ctx, "Note from "+who, req.Text)
	}
	return contract.Answer{}, refuse(contract.RefusedBadRequest, "unknown act %q", act)
}

// answer posts a note about an act, saves, and returns the text to the actor.
func (r *incidentRun) answer(ctx workflow.Context, title, text string) (contract.Answer, error) {
	if err := r.note(ctx, title, text); err != nil {
		return contract.Answer{}, err
	}
	if err := r.sync(ctx); err != nil {
		return contract.Answer{}, err
	}
	return contract.Answer{Message: text}, nil
}
