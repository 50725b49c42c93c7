package workflows

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/vigilops/vigil/activities"
	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/store"
)

// a is the nil receiver through which workflows name activities.
var a *activities.Activities

// Actors of system acts in the audit trail.
const (
	actorVigil     = "system:vigil"
	actorIngest    = "system:ingest"
	actorTimer     = "system:timer"
	actorAutonomy  = "system:autonomy"
	actorCorrelate = "system:correlate"
)

// DefaultMaxHistory is the history length past which an incident continues as new
// even if Temporal has not suggested it yet.
const DefaultMaxHistory = 10000

// IncidentState is everything an incident carries across continue-as-new.
type IncidentState struct {
	Incident incident.Incident
	Started  time.Time // when the workflow first started; the no-ack clock runs from here
	Version  int64     // projection saves so far
	Audits   int       // audit records written so far (for idempotency keys)
	Notes    int       // status notes posted so far (for message keys)
	Pending  []int     // indexes into Incident.Decisions the main loop has yet to act on
	// AckEscalated is set once the no-ack timer has escalated.
	AckEscalated bool
	// Told lists notes about runbooks not proposed that were already posted,
	// so re-analysis does not repeat them.
	Told []string
	// Briefs counts incident briefs asked for (for their idempotency keys).
	Briefs int
	// Merges lists the merge notices already taken in, by fingerprint.
	Merges []string
}

// incidentRun is one IncidentWorkflow run's state.
type incidentRun struct {
	st        IncidentState
	policy    IncidentPolicy
	active    *incident.Proposal // the proposal whose remediation is running
	runID     string
	wake      bool             // a handler changed a deadline; recompute
	reanalyze bool             // input answers arrived; render proposals again
	merges    []incident.Event // merge notices received and not yet acted on
}

func (r *incidentRun) inc() *incident.Incident { return &r.st.Incident }

// IncidentWorkflow is one incident from detection to resolution. It posts the
// thread (summary, evidence, candidates, proposals), waits for decisions and acts
// through updates, escalates when nobody acks or decides in time, runs approved
// runbooks as child RemediationWorkflows, and resolves when a remediation succeeds,
// every alert has resolved, or a human resolves it. Every transition is audited
// before it takes effect and saved to the store's projection.
func IncidentWorkflow(ctx workflow.Context, in IncidentInput) (incident.Incident, error) {
	fresh := in.State == nil
	var r *incidentRun
	if fresh {
		r = newIncidentRun(in, workflow.Now(ctx))
	} else {
		r = &incidentRun{policy: in.Policy, st: *in.State}
	}
	ctx = withActivityDefaults(ctx)
	if err := r.register(ctx); err != nil {
		return *r.inc(), err
	}
	alerts := workflow.GetSignalChannel(ctx, SignalAlerts)

	if fresh {
		// SignalWithStart delivers the first batch before the first workflow task.
		changed := r.receive(alerts)
		r.detected()
		if err := r.post(ctx, "summary", bot.Summary(r.inc())); err != nil {
			return *r.inc(), err
		}
		opened := auditRecord{actorIngest, "incident.opened", map[string]any{
			"title": r.inc().Title, "group": r.inc().GroupLabels, "alerts": len(r.inc().Alerts),
		}}
		if err := r.afterAlerts(ctx, changed, opened); err != nil {
			return *r.inc(), err
		}
	}

	for {
		if r.continueAsNew(ctx) && alerts.Len() == 0 && len(r.st.Pending) == 0 && workflow.AllHandlersFinished(ctx) {
			in.State = &r.st
			return *r.inc(), workflow.NewContinueAsNewError(ctx, IncidentWorkflow, in)
		}
		ready := func() bool {
			return alerts.Len() > 0 || len(r.st.Pending) > 0 || r.wake || r.reanalyze ||
				(r.continueAsNew(ctx) && workflow.AllHandlersFinished(ctx))
		}
		if deadline, ok := r.nextDeadline(); ok {
			if wait := deadline.Sub(workflow.Now(ctx)); wait > 0 {
				if _, err := workflow.AwaitWithTimeout(ctx, wait, ready); err != nil {
					return *r.inc(), err
				}
			}
		} else if err := workflow.Await(ctx, ready); err != nil {
			return *r.inc(), err
		}
		r.wake = false
		if alerts.Len() > 0 {
			if err := r.afterAlerts(ctx, r.receive(alerts)); err != nil {
				return *r.inc(), err
			}
		}
		if r.reanalyze {
			r.reanalyze = false
			if err := r.analyze(ctx); err != nil {
				return *r.inc(), err
			}
			if err := r.sync(ctx); err != nil {
				return *r.inc(), err
			}
		}
		if err := r.fireDeadlines(ctx); err != nil {
			return *r.inc(), err
		}
		if err := r.actOnDecisions(ctx); err != nil {
			return *r.inc(), err
		}
		// Finish only when nothing is left to handle; a signal arriving now fails
		// the completion and replays into the loop, which may reopen the incident.
		if r.inc().Status == incident.StatusResolved && alerts.Len() == 0 && len(r.st.Pending) == 0 {
			break
		}
	}
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return *r.inc(), err
	}
	r.seal(ctx)
	return *r.inc(), nil
}

// newIncidentRun is the state of a new incident's first run, started now.
func newIncidentRun(in IncidentInput, now time.Time) *incidentRun {
	return &incidentRun{policy: in.Policy, st: IncidentState{Started: now, Incident: incident.Incident{
		ID: in.ID, Key: in.Key, GroupLabels: in.GroupLabels,
		Title: incident.TitleFor(in.GroupLabels), Status: incident.StatusOpen, DetectedAt: now,
	}}}
}

// detected dates a new incident from its earliest alert.
func (r *incidentRun) detected() {
	r.inc().DetectedAt = earliestStart(r.inc().Alerts, r.inc().DetectedAt)
}

// Announcement is the summary a new incident's thread opens with: what its
// workflow's first post says for the same input and events, rendered outside
// the workflow. Ingest posts it as soon as the incident is stored, so in a
// storm the thread does not wait for Temporal; the workflow's posts then edit
// it in place (same key). An incident already merged into another is
// announced resolved with the merge's reason, as its workflow will resolve it.
func Announcement(in IncidentInput, events []incident.Event, now time.Time) bot.Message {
	r := newIncidentRun(in, now)
	for _, e := range events {
		r.apply(e)
	}
	r.detected()
	for _, m := range r.merges {
		if m.Labels["into"] != "" {
			r.inc().ResolvedAt, r.inc().Reason = now, m.Summary
		}
	}
	r.refreshStatus()
	return bot.Summary(r.inc())
}

func (r *incidentRun) register(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (incident.Incident, error) { return *r.inc(), nil }); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateDecide, r.decide,
		workflow.UpdateHandlerOptions{Validator: r.validateDecide}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateInput, r.input,
		workflow.UpdateHandlerOptions{Validator: r.validateInput}); err != nil {
		return err
	}
	for _, act := range Acts {
		err := workflow.SetUpdateHandlerWithOptions(ctx, act,
			func(ctx workflow.Context, req ActRequest) (Answer, error) { return r.act(ctx, act, req) },
			workflow.UpdateHandlerOptions{Validator: func(req ActRequest) error { return r.validateAct(act, req) }})
		if err != nil {
			return err
		}
	}
	return nil
}

// continueAsNew reports whether history has grown enough to start afresh.
func (r *incidentRun) continueAsNew(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	limit := cmp.Or(r.policy.MaxHistory, DefaultMaxHistory)
	return info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() >= limit
}

// withActivityDefaults sets the options of activities and of local
// activities. Short, idempotent acts on Vigil's own store and the thread
// (audit records, saves, single posts, ranking, proposing) run as local
// activities: in the worker, inside the workflow task, with their results
// recorded in its completion. That spares Temporal a task dispatch and three
// history writes each, which during a storm of hundreds of incidents is what
// kept a new incident's first post waiting behind every other incident's
// bookkeeping. Runbook steps, model calls and batches of posts stay activities.
func withActivityDefaults(ctx workflow.Context) workflow.Context {
	retry := &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute}
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second, RetryPolicy: retry,
	})
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second, RetryPolicy: retry})
}

// receive applies every signal already queued and returns the ids of evidence
// that is new or changed.
func (r *incidentRun) receive(ch workflow.ReceiveChannel) []string {
	var changed []string
	for {
		var s AlertsSignal
		if !ch.ReceiveAsync(&s) {
			return changed
		}
		for _, e := range s.Events {
			if id, ok := r.apply(e); ok && !slices.Contains(changed, id) {
				changed = append(changed, id)
			}
		}
	}
}

// apply folds one event into the incident and returns the id of the evidence it
// added or changed. It is idempotent: an event already reflected changes nothing
// and reports false.
func (r *incidentRun) apply(e incident.Event) (string, bool) {
	inc := r.inc()
	if e.Kind == incident.KindMerge {
		if !slices.Contains(r.st.Merges, e.Fingerprint) {
			r.st.Merges = append(r.st.Merges, e.Fingerprint)
			r.merges = append(r.merges, e)
		}
		return "", false
	}
	if e.Kind != "" && e.Kind != incident.KindAlert {
		if slices.ContainsFunc(inc.Evidence, func(ev incident.Evidence) bool {
			return ev.Fingerprint == e.Fingerprint && ev.Start.Equal(e.StartsAt)
		}) {
			return "", false
		}
		id := fmt.Sprintf("E%d", len(inc.Evidence)+1)
		inc.Evidence = append(inc.Evidence, incident.Evidence{
			ID: id, Kind: e.Kind, Fingerprint: e.Fingerprint, Summary: cmp.Or(e.Summary, string(e.Kind)),
			Start: e.StartsAt, End: e.EndsAt, Data: e.Labels, Value: e.Value, Series: e.Series, Examples: e.Examples,
		})
		r.refreshLabels()
		return id, true
	}
	i := slices.IndexFunc(inc.Alerts, func(al incident.Alert) bool { return al.Fingerprint == e.Fingerprint })
	if i < 0 {
		if e.Status != incident.AlertFiring {
			return "", false
		}
		id := fmt.Sprintf("E%d", len(inc.Evidence)+1)
		inc.Alerts = append(inc.Alerts, incident.Alert{
			Fingerprint: e.Fingerprint, Status: e.Status, Labels: e.Labels, Annotations: e.Annotations,
			StartsAt: e.StartsAt, GeneratorURL: e.GeneratorURL, EvidenceID: id,
		})
		inc.Evidence = append(inc.Evidence, incident.Evidence{
			ID: id, Kind: incident.KindAlert, Fingerprint: e.Fingerprint, Summary: alertSummary(e), Start: e.StartsAt, Data: e.Labels,
		})
		r.refreshLabels()
		return id, true
	}
	al := &inc.Alerts[i]
	if al.Status == e.Status && al.StartsAt.Equal(e.StartsAt) {
		return al.EvidenceID, false
	}
	al.Status, al.StartsAt, al.EndsAt = e.Status, e.StartsAt, e.EndsAt
	if len(e.Annotations) > 0 {
		al.Annotations = e.Annotations
	}
	ev := &inc.Evidence[slices.IndexFunc(inc.Evidence, func(x incident.Evidence) bool { return x.ID == al.EvidenceID })]
	ev.Start, ev.End = e.StartsAt, time.Time{}
	if e.Status == incident.AlertResolved {
		ev.End = cmp.Or(e.EndsAt, e.ReceivedAt)
	}
	return al.EvidenceID, true
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

// refreshLabels recomputes the services (from every piece of evidence) and the
// worst severity (from the alerts).
func (r *incidentRun) refreshLabels() {
	inc := r.inc()
	svcs := map[string]bool{}
	worst := ""
	for _, ev := range inc.Evidence {
		if s := ev.Data["service"]; s != "" {
			svcs[s] = true
		}
	}
	for _, al := range inc.Alerts {
		if sev := al.Labels["severity"]; severityRank[sev] > severityRank[worst] || worst == "" {
			worst = sev
		}
	}
	inc.Services = slices.Sorted(maps.Keys(svcs))
	inc.Severity = worst
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

// afterAlerts records and posts what changed, re-ranks and re-proposes, and
// resolves an incident of alerts when every alert has resolved. The records in
// first are audited ahead of the evidence's. However many alerts changed, one
// activity audits them all and then one posts them all (per maxBatch), so a
// storm's batch does not cost two round trips per alert.
func (r *incidentRun) afterAlerts(ctx workflow.Context, changed []string, first ...auditRecord) error {
	inc := r.inc()
	recs := first
	var posts []activities.PostInput
	newFiring := false
	for _, id := range changed {
		if i := slices.IndexFunc(inc.Alerts, func(al incident.Alert) bool { return al.EvidenceID == id }); i >= 0 {
			al := &inc.Alerts[i]
			recs = append(recs, auditRecord{actorIngest, "alert." + al.Status, map[string]any{
				"evidence": al.EvidenceID, "fingerprint": al.Fingerprint, "labels": al.Labels,
			}})
			posts = append(posts, r.message("evidence-"+al.EvidenceID, bot.Evidence(al)))
			newFiring = newFiring || al.Status == incident.AlertFiring
			continue
		}
		ev := &inc.Evidence[slices.IndexFunc(inc.Evidence, func(e incident.Evidence) bool { return e.ID == id })]
		recs = append(recs, auditRecord{actorIngest, "evidence.added", map[string]any{
			"evidence": ev.ID, "kind": ev.Kind, "fingerprint": ev.Fingerprint, "summary": ev.Summary, "labels": ev.Data,
		}})
		posts = append(posts, r.message("evidence-"+ev.ID, bot.SignalEvidence(ev)))
	}
	if err := r.auditAll(ctx, recs); err != nil {
		return err
	}
	if err := r.postAll(ctx, posts); err != nil {
		return err
	}
	if err := r.afterMerges(ctx); err != nil {
		return err
	}
	if len(changed) == 0 {
		return nil
	}
	if inc.Status == incident.StatusResolved && newFiring {
		if err := r.audit(ctx, actorIngest, "incident.reopened", nil); err != nil {
			return err
		}
		inc.ResolvedAt, inc.Reason = time.Time{}, ""
		if err := r.note(ctx, "Reopened", "An alert of this incident is firing again."); err != nil {
			return err
		}
	}
	// Any change of the evidence while the incident is live can change the
	// ranking and the rendered plans (a resolved alert no longer renders them).
	// An incident of alerts is live while one fires; one opened by other signals
	// (an anomaly, a prediction) until someone or something resolves it.
	live := inc.Firing() || (len(inc.Alerts) == 0 && inc.ResolvedAt.IsZero())
	if live {
		if err := r.analyze(ctx); err != nil {
			return err
		}
	}
	if len(inc.Alerts) > 0 && !inc.Firing() && inc.Status != incident.StatusResolved && r.active == nil {
		return r.resolve(ctx, actorIngest, "Every alert of this incident has resolved.")
	}
	return r.sync(ctx)
}

// afterMerges acts on merge notices from correlation. An incident merged into
// another resolves, saying into which and why (unless a remediation is
// running; it then only says so); the incident it merged into notes it. The
// merged incident's evidence arrives at the survivor as events of its own.
func (r *incidentRun) afterMerges(ctx workflow.Context) error {
	for len(r.merges) > 0 {
		m := r.merges[0]
		r.merges = r.merges[1:]
		into, from := m.Labels["into"], m.Labels["from"]
		if err := r.audit(ctx, actorCorrelate, "incident.merged", map[string]any{"into": into, "from": from, "why": m.Summary}); err != nil {
			return err
		}
		if into != "" && r.inc().Status != incident.StatusResolved && r.active == nil {
			if err := r.resolve(ctx, actorCorrelate, m.Summary); err != nil {
				return err
			}
			continue
		}
		if err := r.note(ctx, "Merged", m.Summary); err != nil {
			return err
		}
	}
	return nil
}

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
		if err := r.audit(ctx, actorVigil, "candidates.ranked", map[string]any{
			"top": c.Component, "score": c.Score, "reason": c.Reason, "count": len(cands),
		}); err != nil {
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
	if err := r.audit(ctx, actorVigil, "proposal.offered", map[string]any{
		"proposal": p.ID, "runbook": p.RunbookID, "revision": p.Revision, "risk": p.Risk, "plan": p.Plan(),
		"plan_hash": p.PlanHash, "why": p.Why, "approvers": p.Approvers, "min_approvals": needed(p), "autonomy": p.Autonomy,
		"requested_by": p.RequestedBy,
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
	if err := r.audit(ctx, actorVigil, "proposal.needs_input", map[string]any{
		"proposal": p.ID, "runbook": p.RunbookID, "revision": p.Revision, "inputs": names, "why": p.Why, "requested_by": p.RequestedBy,
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
	if err := r.audit(ctx, actorVigil, "proposal.replanned", map[string]any{
		"proposal": cur.ID, "old_plan": old, "new_plan": next.Plan(), "plan_hash": next.PlanHash, "voided_approvals": len(cur.Approvals),
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

func (r *incidentRun) hasPending() bool {
	return slices.ContainsFunc(r.inc().Proposals, func(p incident.Proposal) bool { return p.Status == incident.ProposalPending })
}

func (r *incidentRun) validateDecide(ctx workflow.Context, req DecideRequest) error {
	if req.RunID != "" {
		return refuse(RefusedBadRequest, "step %s of run %s is decided on the run, not the incident", req.StepID, req.RunID)
	}
	return CheckDecision(r.inc(), req, workflow.Now(ctx))
}

// decide records an accepted decision; the main loop audits it and acts. The
// proposal's status changes here, before any await, so a concurrent second
// decision is validated against it.
func (r *incidentRun) decide(ctx workflow.Context, req DecideRequest) (Answer, error) {
	inc := r.inc()
	p := inc.Proposal(req.ProposalID)
	d := incident.Decision{ProposalID: p.ID, Decision: req.Decision, Actor: req.Actor, Comment: req.Comment, At: workflow.Now(ctx)}
	inc.Decisions = append(inc.Decisions, d)
	r.st.Pending = append(r.st.Pending, len(inc.Decisions)-1)
	if d.Decision == incident.Reject {
		p.Status = incident.ProposalRejected
		return Answer{Message: fmt.Sprintf("%s rejected %s (%s).", d.Actor.Name(), p.ID, p.RunbookID)}, nil
	}
	p.Approvals = append(p.Approvals, req.Actor)
	if len(p.Approvals) < needed(p) {
		return Answer{Message: fmt.Sprintf("%s approved %s (%d of %d); it needs %d more approval(s) from other approvers.",
			d.Actor.Name(), p.ID, len(p.Approvals), needed(p), needed(p)-len(p.Approvals))}, nil
	}
	p.Status = incident.ProposalApproved
	return Answer{Message: fmt.Sprintf("%s approved %s; running %s now.", d.Actor.Name(), p.ID, p.RunbookID)}, nil
}

// actOnDecisions records accepted decisions in order and carries out those that
// completed an approval.
func (r *incidentRun) actOnDecisions(ctx workflow.Context) error {
	inc := r.inc()
	for len(r.st.Pending) > 0 {
		n := r.st.Pending[0]
		d := inc.Decisions[n]
		p := inc.Proposal(d.ProposalID)
		action := "decision." + d.Decision
		if d.Actor.User == actorAutonomy {
			action = "decision.autonomy"
		}
		if err := r.audit(ctx, auditActor(d.Actor), action, map[string]any{
			"proposal": p.ID, "runbook": p.RunbookID, "revision": p.Revision, "plan": p.Plan(), "plan_hash": p.PlanHash,
			"actor": d.Actor, "comment": d.Comment, "approvers": p.Approvers,
			"approvals": len(p.Approvals), "min_approvals": needed(p), "autonomy": p.Autonomy,
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
			r.recordOutcome(ctx, p, store.OutcomeRejected)
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
	err := workflow.ExecuteChildWorkflow(cctx, RemediationWorkflow, RemediationInput{IncidentID: inc.ID, RunID: runID, Proposal: *p}).Get(ctx, &run)
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
	if err := r.audit(ctx, actor, "incident.escalated", map[string]any{"reason": reason, "mentioned": targets}); err != nil {
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
	if err := r.audit(ctx, actor, "incident.resolved", map[string]any{"reason": reason}); err != nil {
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

// refreshStatus derives the status from the facts, most urgent first.
func (r *incidentRun) refreshStatus() {
	inc := r.inc()
	switch {
	case !inc.ResolvedAt.IsZero():
		inc.Status = incident.StatusResolved
	case r.active != nil:
		inc.Status = incident.StatusRemediating
	case inc.Escalated:
		inc.Status = incident.StatusEscalated
	case r.hasPending():
		inc.Status = incident.StatusAwaitingApproval
	case !inc.AckedAt.IsZero():
		inc.Status = incident.StatusAcknowledged
	default:
		inc.Status = incident.StatusOpen
	}
}

// sync derives the status, edits the thread's root message and saves the
// projection.
func (r *incidentRun) sync(ctx workflow.Context) error {
	r.refreshStatus()
	inc := r.inc()
	inc.UpdatedAt = workflow.Now(ctx)
	if err := r.post(ctx, "summary", bot.Summary(inc)); err != nil {
		return err
	}
	r.st.Version++
	return workflow.ExecuteLocalActivity(ctx, a.SaveIncident, activities.SaveInput{Incident: *inc, Version: r.st.Version}).Get(ctx, nil)
}

func (r *incidentRun) post(ctx workflow.Context, key string, m bot.Message) error {
	return workflow.ExecuteLocalActivity(ctx, a.PostMessage, r.message(key, m)).Get(ctx, nil)
}

func (r *incidentRun) message(key string, m bot.Message) activities.PostInput {
	return activities.PostInput{IncidentID: r.inc().ID, Key: key, Message: m}
}

// maxBatch bounds the items one batched activity carries, so its input stays
// well under Temporal's payload size limit however many alerts arrive at once.
const maxBatch = 100

// postAll posts messages in order with one PostMessages activity per maxBatch.
// Each post keeps the time it would have had as an activity of its own: the
// activity may run that long per message, and must heartbeat after each.
func (r *incidentRun) postAll(ctx workflow.Context, posts []activities.PostInput) error {
	for batch := range slices.Chunk(posts, maxBatch) {
		if !r.policy.SlowChat {
			if err := workflow.ExecuteLocalActivity(ctx, a.PostMessages, batch).Get(ctx, nil); err != nil {
				return err
			}
			continue
		}
		opts := workflow.GetActivityOptions(ctx)
		opts.HeartbeatTimeout = opts.StartToCloseTimeout
		opts.StartToCloseTimeout *= time.Duration(len(batch))
		if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), a.PostMessages, batch).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

func (r *incidentRun) note(ctx workflow.Context, title, text string) error {
	r.st.Notes++
	return r.post(ctx, fmt.Sprintf("note-%d", r.st.Notes), bot.Status(title, text))
}

func (r *incidentRun) audit(ctx workflow.Context, actor, action string, details map[string]any) error {
	in := r.auditInput(workflow.Now(ctx), auditRecord{actor, action, details})
	return workflow.ExecuteLocalActivity(ctx, a.Audit, in).Get(ctx, nil)
}

// auditRecord is an act to audit, before it is numbered.
type auditRecord struct {
	actor, action string
	details       map[string]any
}

// auditAll audits records in order with one AuditMany activity per maxBatch.
// Each record is numbered (its idempotency key) as audit would number it.
func (r *incidentRun) auditAll(ctx workflow.Context, recs []auditRecord) error {
	now := workflow.Now(ctx)
	for batch := range slices.Chunk(recs, maxBatch) {
		in := make([]activities.AuditInput, len(batch))
		for i, rec := range batch {
			in[i] = r.auditInput(now, rec)
		}
		if err := workflow.ExecuteLocalActivity(ctx, a.AuditMany, in).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// auditInput numbers the incident's next audit record.
func (r *incidentRun) auditInput(at time.Time, rec auditRecord) activities.AuditInput {
	r.st.Audits++
	return activities.AuditInput{
		Key: fmt.Sprintf("%s/%d", r.inc().ID, r.st.Audits), IncidentID: r.inc().ID, At: at,
		Actor: rec.actor, Action: rec.action, Details: rec.details,
	}
}
