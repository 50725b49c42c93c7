package review

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/incident"
)

// Kinds of timeline entries; renderers style them.
const (
	KindDetection    = "detection"
	KindAlert        = "alert"
	KindAnalysis     = "analysis"
	KindProposal     = "proposal"
	KindDecision     = "decision"
	KindAck          = "ack"
	KindRun          = "run"
	KindStep         = "step"
	KindVerification = "verification"
	KindRollback     = "rollback"
	KindEscalation   = "escalation"
	KindResolution   = "resolution"
	KindNote         = "note"
	KindAct          = "act"    // other human acts: assign, snooze, abort, gates
	KindRecord       = "record" // an audit action this version does not describe
)

// Entry is one line of a timeline.
type Entry struct {
	At     time.Time `json:"at"`
	Kind   string    `json:"kind"`
	Title  string    `json:"title"`
	Detail string    `json:"detail,omitempty"`
	Actor  string    `json:"actor,omitempty"`
	// Via is the surface the act came through and how the actor's identity was
	// established, as the surface recorded it.
	Via    string `json:"via,omitempty"`
	Status string `json:"status,omitempty"` // of steps and runs: succeeded, failed, …
	// Took is how long a step or run took.
	Took *Duration `json:"took_s,omitempty"`
	// After is the wait this entry ended: for a decision, since its proposal was
	// offered; for the opening, acknowledgement and resolution, since detection.
	After *Duration `json:"after_s,omitempty"`
	// Seq is the audit record behind the entry; 0 for the detection, which comes
	// from the alerts' own start times.
	Seq int64 `json:"seq,omitempty"`
}

// Summary describes an incident.
type Summary struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Severity string   `json:"severity"`
	Services []string `json:"services"`
	Status   string   `json:"status"`
	Reason   string   `json:"reason,omitempty"`
}

// Milestones are the moments reports measure an incident by.
type Milestones struct {
	// Detected is when the earliest alert started firing (its own startsAt).
	Detected time.Time `json:"detected"`
	// Opened is when Vigil opened the incident.
	Opened time.Time `json:"opened,omitzero"`
	// Acked is the first human engagement: the first acknowledgement
	// (incident.acked), or the first decision on a proposal if that came earlier.
	// AckedBy says whose; AckFrom which of the two it was.
	Acked   time.Time `json:"acked,omitzero"`
	AckedBy string    `json:"acked_by,omitempty"`
	AckFrom string    `json:"ack_from,omitempty"`
	// FirstProposal is when the first remediation was proposed.
	FirstProposal time.Time `json:"first_proposal,omitzero"`
	// Approved is the first approval (by a human, or an autonomy rule), and
	// ApprovalWaited how long that proposal had waited for it.
	Approved       time.Time `json:"approved,omitzero"`
	ApprovalWaited *Duration `json:"approval_waited_s,omitempty"`
	// Mitigated is when the first remediation run succeeded.
	Mitigated time.Time `json:"mitigated,omitzero"`
	// Resolved is the last resolution not followed by a reopening.
	Resolved time.Time `json:"resolved,omitzero"`

	TimeToAck     *Duration `json:"time_to_ack_s,omitempty"`     // Detected → Acked
	TimeToResolve *Duration `json:"time_to_resolve_s,omitempty"` // Detected → Resolved
}

// Ack sources.
const (
	AckFromAck      = "acknowledgement"
	AckFromDecision = "first decision"
)

// Timeline is one incident, told in order.
type Timeline struct {
	Incident   Summary    `json:"incident"`
	Milestones Milestones `json:"milestones"`
	Entries    []Entry    `json:"entries"`
	Chart      Chart      `json:"chart"`
	// Records is how many audit records the timeline was derived from.
	Records int `json:"records"`
}

// BuildTimeline derives the timeline of an incident from its audit trail, with
// descriptions (titles, evidence summaries, series) from its projection.
func BuildTimeline(src Source) Timeline {
	inc := src.Incident
	b := &timelineBuilder{
		inc: &inc, offered: map[string]time.Time{}, runbookOf: map[string]string{}, runs: map[string]runInfo{},
		alertState: map[string]string{},
	}
	tl := Timeline{
		Incident: Summary{ID: inc.ID, Title: inc.Title, Severity: inc.Severity, Services: nonNil(inc.Services), Status: string(inc.Status), Reason: inc.Reason},
		Records:  len(src.Audit),
	}
	b.m.Detected = inc.DetectedAt
	if !inc.DetectedAt.IsZero() {
		b.add(Entry{At: inc.DetectedAt, Kind: KindDetection, Title: "First alert started", Detail: "the earliest startsAt among the incident's alerts"})
	}
	recs := decode(src.Audit)
	for _, r := range recs {
		b.record(r)
	}
	b.m.TimeToAck = span(b.m.Detected, b.m.Acked)
	b.m.TimeToResolve = span(b.m.Detected, b.m.Resolved)
	// The detection comes from the alerts' clocks and may sort after Vigil's
	// first records; everything else is already in chain order.
	slices.SortStableFunc(b.entries, func(x, y Entry) int { return x.At.Compare(y.At) })
	tl.Milestones, tl.Entries = b.m, nonNil(b.entries)
	tl.Chart = buildChart(&inc, recs, tl.Entries)
	return tl
}

type runInfo struct {
	started           time.Time
	proposal, runbook string
}

type timelineBuilder struct {
	inc        *incident.Incident
	m          Milestones
	entries    []Entry
	offered    map[string]time.Time // proposal → when offered
	runbookOf  map[string]string    // proposal → runbook
	runs       map[string]runInfo   // run id → its start
	alertState map[string]string    // evidence id → last alert status
}

func (b *timelineBuilder) add(e Entry) { b.entries = append(b.entries, e) }

// record turns one audit record into a timeline entry and milestones.
func (b *timelineBuilder) record(r record) {
	name, via := r.who()
	e := Entry{At: r.at, Seq: r.Seq, Actor: name, Via: via}
	if describe, ok := describers[r.Action]; ok && r.details != nil {
		describe(b, r, &e)
	} else {
		e.Kind, e.Title, e.Detail = KindRecord, r.Action, firstDetail(r)
	}
	e.Title, e.Detail = oneLine(e.Title, 200), oneLine(e.Detail, 300)
	b.add(e)
}

// describer fills in the entry of one kind of record.
type describer func(b *timelineBuilder, r record, e *Entry)

// on makes a describer of a function of the record's typed details.
func on[T audit.Details](f func(b *timelineBuilder, r record, d T, e *Entry)) describer {
	return func(b *timelineBuilder, r record, e *Entry) {
		if d, ok := r.details.(T); ok {
			f(b, r, d, e)
		}
	}
}

// describers say, per action, what a timeline entry shows.
var describers = map[string]describer{
	audit.IncidentOpened:          on((*timelineBuilder).opened),
	audit.AlertFiring:             on((*timelineBuilder).alert),
	audit.AlertResolved:           on((*timelineBuilder).alert),
	audit.EvidenceAdded:           on((*timelineBuilder).evidence),
	audit.CandidatesRanked:        on((*timelineBuilder).ranked),
	audit.ProposalOffered:         on((*timelineBuilder).offer),
	audit.ProposalReplanned:       on((*timelineBuilder).replanned),
	audit.ProposalExpiryEscalated: on((*timelineBuilder).expiryEscalated),
	audit.ProposalExpired:         on((*timelineBuilder).expired),
	audit.DecisionAutonomy:        on((*timelineBuilder).decision),
	audit.DecisionApprove:         on((*timelineBuilder).decision),
	audit.DecisionReject:          on((*timelineBuilder).decision),
	audit.IncidentAcked:           on((*timelineBuilder).act),
	audit.IncidentAssigned:        on((*timelineBuilder).act),
	audit.IncidentSnoozed:         on((*timelineBuilder).act),
	audit.IncidentNote:            on((*timelineBuilder).act),
	audit.IncidentEscalated:       on((*timelineBuilder).escalated),
	audit.IncidentResolved:        on((*timelineBuilder).resolved),
	audit.IncidentReopened:        on((*timelineBuilder).reopened),
	audit.RunStarted:              on((*timelineBuilder).runStarted),
	audit.RunFinished:             on((*timelineBuilder).runFinished),
	audit.RunAbortRequested:       on((*timelineBuilder).abortRequested),
	audit.StepFinished:            on((*timelineBuilder).step),
	audit.RollbackStep:            on((*timelineBuilder).step),
	audit.StepInterrupted:         on((*timelineBuilder).interrupted),
	audit.StepChoice:              on((*timelineBuilder).choice),
	audit.RollbackStarted:         on((*timelineBuilder).rollback),
	audit.GateOpened:              on((*timelineBuilder).gateOpened),
	audit.GateApprove:             on((*timelineBuilder).gate),
	audit.GateReject:              on((*timelineBuilder).gate),
}

func (b *timelineBuilder) opened(r record, d *audit.Opened, e *Entry) {
	b.m.Opened = r.at
	e.Kind, e.Title, e.After = KindDetection, "Incident opened", span(b.m.Detected, r.at)
	e.Detail = fmt.Sprintf("%d alert(s)", d.Alerts)
}

func (b *timelineBuilder) alert(r record, d *audit.Alert, e *Entry) {
	e.Kind, e.Title = KindAlert, d.Evidence+" "+d.Status
	if d.Status == incident.AlertFiring && b.alertState[d.Evidence] == incident.AlertResolved {
		e.Title = d.Evidence + " firing again"
	}
	b.alertState[d.Evidence] = d.Status
	e.Detail = b.evidenceSummary(d.Evidence, d.Labels)
}

func (b *timelineBuilder) evidence(_ record, d *audit.Evidence, e *Entry) {
	e.Kind, e.Title, e.Detail = KindAlert, d.Evidence+" added", b.evidenceSummary(d.Evidence, d.Labels)
}

func (b *timelineBuilder) ranked(_ record, d *audit.Ranked, e *Entry) {
	e.Kind = KindAnalysis
	e.Title = fmt.Sprintf("Root causes ranked: %s first (score %.2f)", d.Top, d.Score)
	e.Detail = d.Reason
	if d.Count > 1 {
		e.Detail += fmt.Sprintf(" (%d candidates)", d.Count)
	}
}

func (b *timelineBuilder) offer(r record, d *audit.Offered, e *Entry) {
	b.offered[d.Proposal], b.runbookOf[d.Proposal] = r.at, d.Runbook
	if b.m.FirstProposal.IsZero() {
		b.m.FirstProposal = r.at
	}
	e.Kind, e.Title = KindProposal, fmt.Sprintf("%s proposed: %s (risk %s)", d.Proposal, d.Runbook, orDash(d.Risk))
	e.Detail = d.Why
	if len(d.Approvers) > 0 {
		e.Detail = strings.TrimSpace(e.Detail + " (approvers: " + strings.Join(d.Approvers, ", ") + ")")
	}
}

func (b *timelineBuilder) replanned(_ record, d *audit.Replanned, e *Entry) {
	e.Kind, e.Title = KindProposal, d.Proposal+" re-planned: the plan changed"
	if d.VoidedApprovals > 0 {
		e.Detail = fmt.Sprintf("%d approval(s) voided", d.VoidedApprovals)
	}
}

func (b *timelineBuilder) expiryEscalated(_ record, d *audit.ExpiryEscalated, e *Entry) {
	e.Kind, e.Title, e.Detail = KindEscalation, d.Proposal+" was not decided in time: escalated", "its clock restarted once"
}

func (b *timelineBuilder) expired(_ record, d *audit.Expired, e *Entry) {
	e.Kind, e.Title = KindProposal, d.Proposal+" expired without a decision; not run"
}

func (b *timelineBuilder) decision(r record, d *audit.Decision, e *Entry) {
	p := d.Proposal
	e.Kind, e.After = KindDecision, span(b.offered[p], r.at)
	switch d.Decision {
	case audit.ByAutonomy:
		b.approved(r, p)
		e.Title, e.Actor, e.Via = fmt.Sprintf("%s (%s) approved by autonomy rule %s", p, b.runbookOf[p], orDash(d.Autonomy)), "Vigil", ""
		return
	case incident.Approve:
		b.approved(r, p)
	}
	verb := map[string]string{incident.Approve: "approved", incident.Reject: "rejected"}[d.Decision]
	b.acked(r.at, e.Actor, AckFromDecision)
	e.Title = fmt.Sprintf("%s %s %s (%s)", e.Actor, verb, p, orDash(d.Runbook))
	if d.Comment != "" {
		e.Detail = "“" + d.Comment + "”"
	}
}

func (b *timelineBuilder) act(r record, d *audit.Act, e *Entry) {
	name := e.Actor
	switch d.Act {
	case audit.ActAcked:
		b.acked(r.at, name, AckFromAck)
		e.Kind, e.Title, e.After = KindAck, name+" acknowledged the incident", span(b.m.Detected, r.at)
	case audit.ActAssigned:
		e.Kind, e.Title = KindAct, fmt.Sprintf("%s assigned the incident to %s", name, d.Assignee)
	case audit.ActSnoozed:
		e.Kind, e.Title = KindAct, fmt.Sprintf("%s snoozed escalation for %s", name, orDash(d.Duration))
	case audit.ActNote:
		e.Kind, e.Title, e.Detail = KindNote, "Note from "+name, d.Text
	}
}

func (b *timelineBuilder) escalated(_ record, d *audit.Escalated, e *Entry) {
	e.Kind, e.Title, e.Detail = KindEscalation, "Escalated", d.Reason
	if len(d.Mentioned) > 0 {
		e.Detail = strings.TrimSpace(e.Detail + " (paged: " + strings.Join(d.Mentioned, ", ") + ")")
	}
}

func (b *timelineBuilder) resolved(r record, d *audit.Resolved, e *Entry) {
	b.m.Resolved = r.at
	e.Kind, e.Title, e.Detail, e.After = KindResolution, "Resolved", d.Reason, span(b.m.Detected, r.at)
}

func (b *timelineBuilder) reopened(_ record, _ *audit.Reopened, e *Entry) {
	b.m.Resolved = time.Time{}
	e.Kind, e.Title, e.Detail = KindResolution, "Reopened", "an alert of the incident fired again"
}

func (b *timelineBuilder) runStarted(r record, d *audit.RunStart, e *Entry) {
	b.runs[d.Run] = runInfo{started: r.at, proposal: d.Proposal, runbook: d.Runbook}
	e.Kind, e.Title = KindRun, fmt.Sprintf("Run of %s (%s) started", d.Runbook, d.Proposal)
}

func (b *timelineBuilder) runFinished(r record, d *audit.RunEnd, e *Entry) {
	info := b.runs[d.Run]
	e.Status = d.Status
	if e.Status == string(incident.ProposalSucceeded) && b.m.Mitigated.IsZero() {
		b.m.Mitigated = r.at
	}
	e.Kind, e.Title, e.Detail = KindRun, fmt.Sprintf("Run of %s (%s) %s", orDash(info.runbook), orDash(info.proposal), e.Status), d.Reason
	e.Took = span(info.started, r.at)
}

func (b *timelineBuilder) abortRequested(_ record, d *audit.AbortRequested, e *Entry) {
	e.Kind, e.Title, e.Detail = KindAct, fmt.Sprintf("%s asked to abort the run of %s", e.Actor, d.Proposal), d.Reason
}

func (b *timelineBuilder) step(_ record, d *audit.Step, e *Entry) {
	e.Kind = KindStep
	what := "Step"
	switch {
	case d.Rollback:
		e.Kind, what = KindRollback, "Rollback step"
	case d.Type == incident.StepVerify:
		e.Kind = KindVerification
	}
	e.Status = d.Status
	e.Title = fmt.Sprintf("%s %s %s (exit %d)", what, d.Step, e.Status, d.ExitCode)
	if d.Attempt > 1 {
		e.Title += fmt.Sprintf(", attempt %d", d.Attempt)
	}
	e.Detail = d.Plan
	if e.Detail == "" {
		e.Detail = strings.Join(d.Command, " ")
	}
	if d.Error != "" {
		e.Detail = strings.TrimSpace(e.Detail + " — " + d.Error)
	}
	took := Duration(time.Duration(d.DurationMS) * time.Millisecond)
	e.Took = &took
}

func (b *timelineBuilder) interrupted(_ record, d *audit.Interrupted, e *Entry) {
	e.Kind, e.Title, e.Detail, e.Status = KindStep, "Step "+d.Step+" interrupted", d.Error, incident.StepInterrupted
}

func (b *timelineBuilder) choice(_ record, d *audit.Choice, e *Entry) {
	e.Kind, e.Title = KindAct, fmt.Sprintf("%s chose to %s step %s", e.Actor, d.Choice, d.Step)
}

func (b *timelineBuilder) rollback(_ record, d *audit.Rollback, e *Entry) {
	e.Kind, e.Title, e.Detail = KindRollback, "Rollback started", d.Reason
}

func (b *timelineBuilder) gateOpened(_ record, d *audit.GateOpen, e *Entry) {
	e.Kind, e.Title = KindAct, "Step "+d.Step+" waits for approval"
}

func (b *timelineBuilder) gate(_ record, d *audit.Gate, e *Entry) {
	e.Kind, e.Title = KindAct, fmt.Sprintf("Gate before step %s %s", d.Step, d.Decision)
}

// acked records the first human engagement.
func (b *timelineBuilder) acked(at time.Time, by, from string) {
	if b.m.Acked.IsZero() || at.Before(b.m.Acked) {
		b.m.Acked, b.m.AckedBy, b.m.AckFrom = at, by, from
	}
}

// approved records the first approval.
func (b *timelineBuilder) approved(r record, proposal string) {
	if b.m.Approved.IsZero() {
		b.m.Approved, b.m.ApprovalWaited = r.at, span(b.offered[proposal], r.at)
	}
}

// evidenceSummary describes a piece of evidence: its summary in the projection,
// else the alert's name and instance from the record's labels.
func (b *timelineBuilder) evidenceSummary(id string, labels map[string]string) string {
	for _, ev := range b.inc.Evidence {
		if ev.ID == id && ev.Summary != "" {
			return ev.Summary
		}
	}
	if labels == nil {
		return ""
	}
	s := labels["alertname"]
	if inst, ok := labels["instance"]; ok {
		s += " on " + inst
	}
	return s
}

// firstDetail is the most telling field of an action this version does not
// describe.
func firstDetail(r record) string {
	for _, k := range []string{"reason", "text", "comment", "summary", "status"} {
		if v := r.str(k); v != "" {
			return v
		}
	}
	return ""
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
