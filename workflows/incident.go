package workflows

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/vigilops/vigil/activities"
	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/incident"
)

// a is the nil receiver through which workflows name activities.
var a *activities.Activities

// Actors of system acts in the audit trail.
const (
	actorVigil  = "system:vigil"
	actorIngest = "system:ingest"
)

// incidentRun is one IncidentWorkflow's state.
type incidentRun struct {
	inc     incident.Incident
	version int64 // projection saves so far
	audits  int   // audit records written so far (for idempotency keys)
	notes   int   // status notes posted so far (for message keys)
	pending []int // indexes into inc.Decisions the main loop has yet to act on
}

// IncidentWorkflow is one incident from detection to resolution. It posts the
// thread (summary, evidence, candidates, proposals), waits for decisions through
// the decide update, runs approved runbooks as child RemediationWorkflows, and
// resolves when a remediation succeeds or every alert has resolved. Every
// transition is saved to the store's projection and recorded in the audit trail.
func IncidentWorkflow(ctx workflow.Context, in IncidentInput) (incident.Incident, error) {
	r := &incidentRun{inc: incident.Incident{
		ID: in.ID, Key: in.Key, GroupLabels: in.GroupLabels,
		Title:  incident.TitleFor(in.GroupLabels),
		Status: incident.StatusOpen, DetectedAt: workflow.Now(ctx),
	}}
	ctx = withActivityDefaults(ctx)
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (incident.Incident, error) { return r.inc, nil }); err != nil {
		return r.inc, err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateDecide, r.decide,
		workflow.UpdateHandlerOptions{Validator: r.validateDecide}); err != nil {
		return r.inc, err
	}
	alerts := workflow.GetSignalChannel(ctx, SignalAlerts)

	// SignalWithStart delivers the first batch before the first workflow task.
	changed := r.receive(ctx, alerts)
	r.inc.DetectedAt = earliestStart(r.inc.Alerts, r.inc.DetectedAt)
	if err := r.post(ctx, "summary", bot.Summary(&r.inc)); err != nil {
		return r.inc, err
	}
	if err := r.audit(ctx, actorIngest, "incident.opened", map[string]any{
		"title": r.inc.Title, "group": r.inc.GroupLabels, "alerts": len(r.inc.Alerts),
	}); err != nil {
		return r.inc, err
	}
	if err := r.afterAlerts(ctx, changed); err != nil {
		return r.inc, err
	}

	for {
		if err := workflow.Await(ctx, func() bool { return alerts.Len() > 0 || len(r.pending) > 0 }); err != nil {
			return r.inc, err
		}
		if alerts.Len() > 0 {
			if err := r.afterAlerts(ctx, r.receive(ctx, alerts)); err != nil {
				return r.inc, err
			}
		}
		if err := r.actOnDecisions(ctx); err != nil {
			return r.inc, err
		}
		// Finish only when nothing is left to handle; a signal arriving now fails
		// the completion and replays into the loop, which may reopen the incident.
		if r.inc.Status == incident.StatusResolved && alerts.Len() == 0 && len(r.pending) == 0 {
			break
		}
	}
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return r.inc, err
	}
	return r.inc, nil
}

func withActivityDefaults(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
		},
	})
}

// receive applies every signal already queued and returns the indexes of alerts
// that are new or changed.
func (r *incidentRun) receive(ctx workflow.Context, ch workflow.ReceiveChannel) []int {
	var changed []int
	for {
		var s AlertsSignal
		if !ch.ReceiveAsync(&s) {
			return changed
		}
		for _, e := range s.Events {
			if i, ok := r.apply(e); ok && !slices.Contains(changed, i) {
				changed = append(changed, i)
			}
		}
	}
}

// apply folds one event into the incident. It is idempotent: an event already
// reflected changes nothing and reports false.
func (r *incidentRun) apply(e incident.Event) (int, bool) {
	i := slices.IndexFunc(r.inc.Alerts, func(al incident.Alert) bool { return al.Fingerprint == e.Fingerprint })
	if i < 0 {
		if e.Status != incident.AlertFiring {
			return 0, false
		}
		id := fmt.Sprintf("E%d", len(r.inc.Evidence)+1)
		r.inc.Alerts = append(r.inc.Alerts, incident.Alert{
			Fingerprint: e.Fingerprint, Status: e.Status, Labels: e.Labels, Annotations: e.Annotations,
			StartsAt: e.StartsAt, GeneratorURL: e.GeneratorURL, EvidenceID: id,
		})
		r.inc.Evidence = append(r.inc.Evidence, incident.Evidence{
			ID: id, Kind: incident.KindAlert, Summary: alertSummary(e), Start: e.StartsAt, Data: e.Labels,
		})
		r.refreshLabels()
		return len(r.inc.Alerts) - 1, true
	}
	al := &r.inc.Alerts[i]
	if al.Status == e.Status && al.StartsAt.Equal(e.StartsAt) {
		return i, false
	}
	al.Status, al.StartsAt, al.EndsAt = e.Status, e.StartsAt, e.EndsAt
	if len(e.Annotations) > 0 {
		al.Annotations = e.Annotations
	}
	ev := &r.inc.Evidence[slices.IndexFunc(r.inc.Evidence, func(x incident.Evidence) bool { return x.ID == al.EvidenceID })]
	ev.Start, ev.End = e.StartsAt, time.Time{}
	if e.Status == incident.AlertResolved {
		ev.End = cmp.Or(e.EndsAt, e.ReceivedAt)
	}
	return i, true
}

func alertSummary(e incident.Event) string {
	s := cmp.Or(e.Labels["alertname"], "alert")
	if inst := cmp.Or(e.Labels["instance"], e.Labels["service"]); inst != "" {
		s += " on " + inst
	}
	if sev := e.Labels["severity"]; sev != "" {
		s += " (" + sev + ")"
	}
	if sum := cmp.Or(e.Annotations["summary"], e.Annotations["description"]); sum != "" {
		s += ": " + sum
	}
	return s
}

var severityRank = map[string]int{"info": 1, "warning": 2, "error": 3, "critical": 4}

// refreshLabels recomputes the services and worst severity from the alerts.
func (r *incidentRun) refreshLabels() {
	svcs := map[string]bool{}
	worst := ""
	for _, al := range r.inc.Alerts {
		if s := al.Labels["service"]; s != "" {
			svcs[s] = true
		}
		if sev := al.Labels["severity"]; severityRank[sev] > severityRank[worst] || worst == "" {
			worst = sev
		}
	}
	r.inc.Services = slices.Sorted(maps.Keys(svcs))
	r.inc.Severity = worst
}

func earliestStart(alerts []incident.Alert, fallback time.Time) time.Time {
	t := fallback
	for _, al := range alerts {
		if !al.StartsAt.IsZero() && al.StartsAt.Before(t) {
			t = al.StartsAt
		}
	}
	return t
}

// afterAlerts posts what changed, re-ranks and re-proposes when new alerts fired,
// and resolves the incident when every alert has resolved.
func (r *incidentRun) afterAlerts(ctx workflow.Context, changed []int) error {
	if len(changed) == 0 {
		return nil
	}
	newFiring := false
	for _, i := range changed {
		al := &r.inc.Alerts[i]
		if err := r.post(ctx, "evidence-"+al.EvidenceID, bot.Evidence(al)); err != nil {
			return err
		}
		if err := r.audit(ctx, actorIngest, "alert."+al.Status, map[string]any{
			"evidence": al.EvidenceID, "fingerprint": al.Fingerprint, "labels": al.Labels,
		}); err != nil {
			return err
		}
		newFiring = newFiring || al.Status == incident.AlertFiring
	}
	if r.inc.Status == incident.StatusResolved && newFiring {
		r.inc.Status, r.inc.Reason, r.inc.ResolvedAt = incident.StatusOpen, "", time.Time{}
		if err := r.note(ctx, "Reopened", "An alert of this incident is firing again."); err != nil {
			return err
		}
		if err := r.audit(ctx, actorIngest, "incident.reopened", nil); err != nil {
			return err
		}
	}
	if newFiring {
		if err := r.analyze(ctx); err != nil {
			return err
		}
	}
	if !r.inc.Firing() && r.inc.Status != incident.StatusResolved {
		return r.resolve(ctx, actorIngest, "Every alert of this incident has resolved.")
	}
	return r.sync(ctx)
}

// analyze ranks root-cause candidates and proposes runbooks not yet proposed.
func (r *incidentRun) analyze(ctx workflow.Context) error {
	var cands []incident.Candidate
	if err := workflow.ExecuteActivity(ctx, a.RankCauses, activities.RankInput{Incident: r.inc}).Get(ctx, &cands); err != nil {
		return err
	}
	r.inc.Candidates = cands
	if err := r.post(ctx, "candidates", bot.Candidates(cands)); err != nil {
		return err
	}
	if len(cands) > 0 {
		c := cands[0]
		if err := r.audit(ctx, actorVigil, "candidates.ranked", map[string]any{
			"top": c.Component, "score": c.Score, "reason": c.Reason, "count": len(cands),
		}); err != nil {
			return err
		}
	}
	exclude := make([]string, len(r.inc.Proposals))
	for i, p := range r.inc.Proposals {
		exclude[i] = p.RunbookID
	}
	var res activities.ProposeResult
	if err := workflow.ExecuteActivity(ctx, a.ProposeRemediations, activities.ProposeInput{Incident: r.inc, Exclude: exclude}).Get(ctx, &res); err != nil {
		return err
	}
	for _, n := range res.Notes {
		if err := r.note(ctx, "Runbook not proposed", n); err != nil {
			return err
		}
	}
	for _, p := range res.Proposals {
		p.ID = fmt.Sprintf("P%d", len(r.inc.Proposals)+1)
		p.Status = incident.ProposalPending
		r.inc.Proposals = append(r.inc.Proposals, p)
		if err := r.audit(ctx, actorVigil, "proposal.offered", map[string]any{
			"proposal": p.ID, "runbook": p.RunbookID, "revision": p.Revision, "risk": p.Risk,
			"plan": p.Plan(), "why": p.Why, "approvers": p.Approvers,
		}); err != nil {
			return err
		}
		if err := r.post(ctx, "proposal-"+p.ID, bot.Proposal(&p)); err != nil {
			return err
		}
	}
	if r.inc.Status == incident.StatusOpen && r.hasPending() {
		r.inc.Status = incident.StatusAwaitingApproval
	}
	return nil
}

func (r *incidentRun) hasPending() bool {
	return slices.ContainsFunc(r.inc.Proposals, func(p incident.Proposal) bool { return p.Status == incident.ProposalPending })
}

func (r *incidentRun) validateDecide(req DecideRequest) error {
	return CheckDecision(&r.inc, req)
}

// decide records an accepted decision; the main loop acts on it. Marking the
// proposal decided here, before any await, makes a second decision on it fail
// validation even while the first is still being acted on.
func (r *incidentRun) decide(ctx workflow.Context, req DecideRequest) (Answer, error) {
	d := incident.Decision{
		ProposalID: req.ProposalID, Decision: req.Decision, Actor: req.Actor, Comment: req.Comment, At: workflow.Now(ctx),
	}
	p := r.inc.Proposal(req.ProposalID)
	r.inc.Decisions = append(r.inc.Decisions, d)
	r.pending = append(r.pending, len(r.inc.Decisions)-1)
	if d.Decision == incident.Reject {
		p.Status = incident.ProposalRejected
		return Answer{Message: fmt.Sprintf("%s rejected %s (%s).", d.Actor.Name(), p.ID, p.RunbookID)}, nil
	}
	p.Status = incident.ProposalApproved
	return Answer{Message: fmt.Sprintf("%s approved %s; running %s now.", d.Actor.Name(), p.ID, p.RunbookID)}, nil
}

// actOnDecisions records and carries out accepted decisions in order.
func (r *incidentRun) actOnDecisions(ctx workflow.Context) error {
	for len(r.pending) > 0 {
		n := r.pending[0]
		r.pending = r.pending[1:]
		d := r.inc.Decisions[n]
		p := r.inc.Proposal(d.ProposalID)
		if err := r.audit(ctx, "user:"+d.Actor.User, "decision."+d.Decision, map[string]any{
			"proposal": p.ID, "runbook": p.RunbookID, "revision": p.Revision, "plan": p.Plan(),
			"actor": d.Actor, "comment": d.Comment, "approvers": p.Approvers,
		}); err != nil {
			return err
		}
		if err := r.post(ctx, fmt.Sprintf("decision-%d", n+1), bot.Decision(d, p)); err != nil {
			return err
		}
		if err := r.post(ctx, "proposal-"+p.ID, bot.Proposal(p)); err != nil {
			return err
		}
		if d.Decision == incident.Reject {
			if r.inc.Status == incident.StatusAwaitingApproval && !r.hasPending() {
				r.inc.Status = incident.StatusOpen
			}
			if err := r.sync(ctx); err != nil {
				return err
			}
			continue
		}
		if err := r.remediate(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// remediate runs an approved proposal as a child workflow and settles the incident
// on its outcome.
func (r *incidentRun) remediate(ctx workflow.Context, p *incident.Proposal) error {
	if r.inc.Status == incident.StatusResolved {
		p.Status, p.Outcome = incident.ProposalFailed, "not run: the incident resolved first"
		return r.sync(ctx)
	}
	now := workflow.Now(ctx)
	if r.inc.ApprovedAt.IsZero() {
		r.inc.ApprovedAt = now
	}
	r.inc.Status = incident.StatusRemediating
	p.Status = incident.ProposalRunning
	runID := fmt.Sprintf("%s-run-%d", r.inc.ID, len(r.inc.Runs)+1)
	r.inc.Runs = append(r.inc.Runs, incident.Run{ID: runID, ProposalID: p.ID, RunbookID: p.RunbookID, Status: incident.ProposalRunning, StartedAt: now})
	if err := r.post(ctx, "proposal-"+p.ID, bot.Proposal(p)); err != nil {
		return err
	}
	if err := r.sync(ctx); err != nil {
		return err
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: runID})
	var run incident.Run
	err := workflow.ExecuteChildWorkflow(cctx, RemediationWorkflow, RemediationInput{IncidentID: r.inc.ID, RunID: runID, Proposal: *p}).Get(ctx, &run)
	if err != nil {
		run = r.inc.Runs[len(r.inc.Runs)-1]
		run.Status, run.Reason, run.FinishedAt = incident.ProposalFailed, "the remediation workflow failed: "+err.Error(), workflow.Now(ctx)
	}
	r.inc.Runs[len(r.inc.Runs)-1] = run
	p.Status, p.Outcome = run.Status, run.Reason
	if err := r.post(ctx, "proposal-"+p.ID, bot.Proposal(p)); err != nil {
		return err
	}
	if run.Status == incident.ProposalSucceeded {
		r.inc.MitigatedAt = run.FinishedAt
		return r.resolve(ctx, actorVigil, fmt.Sprintf("Runbook %s (%s) succeeded.", p.RunbookID, p.ID))
	}
	r.inc.Status, r.inc.Reason = incident.StatusEscalated, fmt.Sprintf("Runbook %s (%s) failed: %s. A human needs to look.", p.RunbookID, p.ID, run.Reason)
	if err := r.audit(ctx, actorVigil, "incident.escalated", map[string]any{"reason": r.inc.Reason, "run": run.ID}); err != nil {
		return err
	}
	if err := r.note(ctx, "Escalated", r.inc.Reason); err != nil {
		return err
	}
	return r.sync(ctx)
}

func (r *incidentRun) resolve(ctx workflow.Context, actor, reason string) error {
	r.inc.Status, r.inc.Reason, r.inc.ResolvedAt = incident.StatusResolved, reason, workflow.Now(ctx)
	for i := range r.inc.Proposals {
		if p := &r.inc.Proposals[i]; p.Status == incident.ProposalPending {
			p.Status, p.Outcome = incident.ProposalRejected, "not needed: the incident resolved"
			if err := r.post(ctx, "proposal-"+p.ID, bot.Proposal(p)); err != nil {
				return err
			}
		}
	}
	if err := r.audit(ctx, actor, "incident.resolved", map[string]any{"reason": reason}); err != nil {
		return err
	}
	if err := r.note(ctx, "Resolved", reason); err != nil {
		return err
	}
	return r.sync(ctx)
}

// sync edits the thread's root message and saves the projection.
func (r *incidentRun) sync(ctx workflow.Context) error {
	r.inc.UpdatedAt = workflow.Now(ctx)
	if err := r.post(ctx, "summary", bot.Summary(&r.inc)); err != nil {
		return err
	}
	r.version++
	return workflow.ExecuteActivity(ctx, a.SaveIncident, activities.SaveInput{Incident: r.inc, Version: r.version}).Get(ctx, nil)
}

func (r *incidentRun) post(ctx workflow.Context, key string, m bot.Message) error {
	return workflow.ExecuteActivity(ctx, a.PostMessage, activities.PostInput{IncidentID: r.inc.ID, Key: key, Message: m}).Get(ctx, nil)
}

func (r *incidentRun) note(ctx workflow.Context, title, text string) error {
	r.notes++
	return r.post(ctx, fmt.Sprintf("note-%d", r.notes), bot.Status(title, text))
}

func (r *incidentRun) audit(ctx workflow.Context, actor, action string, details map[string]any) error {
	r.audits++
	return workflow.ExecuteActivity(ctx, a.Audit, activities.AuditInput{
		Key: fmt.Sprintf("%s/%d", r.inc.ID, r.audits), IncidentID: r.inc.ID, At: workflow.Now(ctx),
		Actor: actor, Action: action, Details: details,
	}).Get(ctx, nil)
}
