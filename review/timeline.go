package review

import (
	"fmt"
	"slices"
	"strings"
	"time"

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

// record turns one audit record into timeline entries and milestones.
func (b *timelineBuilder) record(r record) {
	name, via := r.who()
	e := Entry{At: r.at, Seq: r.Seq, Actor: name, Via: via}
	p := r.str("proposal")
	switch action := r.Action; {
	case action == "incident.opened":
		b.m.Opened = r.at
		e.Kind, e.Title, e.After = KindDetection, "Incident opened", span(b.m.Detected, r.at)
		if n, ok := r.num("alerts"); ok {
			e.Detail = fmt.Sprintf("%g alert(s)", n)
		}
	case action == "alert.firing" || action == "alert.resolved":
		ev := r.str("evidence")
		status := strings.TrimPrefix(action, "alert.")
		e.Kind = KindAlert
		switch {
		case status == incident.AlertFiring && b.alertState[ev] == incident.AlertResolved:
			e.Title = ev + " firing again"
		default:
			e.Title = ev + " " + status
		}
		b.alertState[ev] = status
		e.Detail = b.evidenceSummary(ev, r)
	case action == "evidence.added":
		e.Kind, e.Title, e.Detail = KindAlert, r.str("evidence")+" added", b.evidenceSummary(r.str("evidence"), r)
	case action == "candidates.ranked":
		e.Kind = KindAnalysis
		e.Title = "Root causes ranked: " + r.str("top")
		if s, ok := r.num("score"); ok {
			e.Title += fmt.Sprintf(" first (score %.2f)", s)
		}
		e.Detail = r.str("reason")
		if n, ok := r.num("count"); ok && n > 1 {
			e.Detail += fmt.Sprintf(" (%g candidates)", n)
		}
	case action == "proposal.offered":
		b.offered[p], b.runbookOf[p] = r.at, r.str("runbook")
		if b.m.FirstProposal.IsZero() {
			b.m.FirstProposal = r.at
		}
		e.Kind, e.Title = KindProposal, fmt.Sprintf("%s proposed: %s (risk %s)", p, r.str("runbook"), orDash(r.str("risk")))
		e.Detail = r.str("why")
		if a := r.list("approvers"); len(a) > 0 {
			e.Detail = strings.TrimSpace(e.Detail + " (approvers: " + strings.Join(a, ", ") + ")")
		}
	case action == "proposal.replanned":
		e.Kind, e.Title = KindProposal, p+" re-planned: the plan changed"
		if n, ok := r.num("voided_approvals"); ok && n > 0 {
			e.Detail = fmt.Sprintf("%g approval(s) voided", n)
		}
	case action == "proposal.expiry_escalated":
		e.Kind, e.Title, e.Detail = KindEscalation, p+" was not decided in time: escalated", "its clock restarted once"
	case action == "proposal.expired":
		e.Kind, e.Title = KindProposal, p+" expired without a decision; not run"
	case action == "decision.autonomy":
		b.approved(r, p)
		e.Kind, e.Title, e.Actor, e.Via = KindDecision, fmt.Sprintf("%s (%s) approved by autonomy rule %s", p, b.runbookOf[p], orDash(r.str("autonomy"))), "Vigil", ""
		e.After = span(b.offered[p], r.at)
	case action == "decision.approve" || action == "decision.reject":
		verb := "approved"
		if action == "decision.reject" {
			verb = "rejected"
		} else {
			b.approved(r, p)
		}
		b.acked(r.at, name, AckFromDecision)
		e.Kind, e.Title = KindDecision, fmt.Sprintf("%s %s %s (%s)", name, verb, p, orDash(r.str("runbook")))
		if c := r.str("comment"); c != "" {
			e.Detail = "“" + c + "”"
		}
		e.After = span(b.offered[p], r.at)
	case action == "incident.acked":
		b.acked(r.at, name, AckFromAck)
		e.Kind, e.Title, e.After = KindAck, name+" acknowledged the incident", span(b.m.Detected, r.at)
	case action == "incident.assigned":
		e.Kind, e.Title = KindAct, fmt.Sprintf("%s assigned the incident to %s", name, r.str("assignee"))
	case action == "incident.snoozed":
		e.Kind, e.Title = KindAct, fmt.Sprintf("%s snoozed escalation for %s", name, orDash(r.str("duration")))
	case action == "incident.note":
		e.Kind, e.Title, e.Detail = KindNote, "Note from "+name, r.str("text")
	case action == "incident.escalated":
		e.Kind, e.Title, e.Detail = KindEscalation, "Escalated", r.str("reason")
		if m := r.list("mentioned"); len(m) > 0 {
			e.Detail = strings.TrimSpace(e.Detail + " (paged: " + strings.Join(m, ", ") + ")")
		}
	case action == "incident.resolved":
		b.m.Resolved = r.at
		e.Kind, e.Title, e.Detail, e.After = KindResolution, "Resolved", r.str("reason"), span(b.m.Detected, r.at)
	case action == "incident.reopened":
		b.m.Resolved = time.Time{}
		e.Kind, e.Title, e.Detail = KindResolution, "Reopened", "an alert of the incident fired again"
	case action == "run.started":
		run := r.str("run")
		b.runs[run] = runInfo{started: r.at, proposal: p, runbook: r.str("runbook")}
		e.Kind, e.Title = KindRun, fmt.Sprintf("Run of %s (%s) started", r.str("runbook"), p)
	case action == "run.finished":
		info := b.runs[r.str("run")]
		e.Status = r.str("status")
		if e.Status == string(incident.ProposalSucceeded) && b.m.Mitigated.IsZero() {
			b.m.Mitigated = r.at
		}
		e.Kind, e.Title, e.Detail = KindRun, fmt.Sprintf("Run of %s (%s) %s", orDash(info.runbook), orDash(info.proposal), e.Status), r.str("reason")
		e.Took = span(info.started, r.at)
	case action == "run.abort_requested":
		e.Kind, e.Title, e.Detail = KindAct, fmt.Sprintf("%s asked to abort the run of %s", name, p), r.str("reason")
	case action == "step.finished" || action == "rollback.step":
		e.Kind = KindStep
		if r.str("type") == incident.StepVerify {
			e.Kind = KindVerification
		}
		what := "Step"
		if action == "rollback.step" {
			e.Kind, what = KindRollback, "Rollback step"
		}
		e.Status = r.str("status")
		e.Title = fmt.Sprintf("%s %s %s", what, r.str("step"), e.Status)
		if code, ok := r.num("exit_code"); ok {
			e.Title += fmt.Sprintf(" (exit %g)", code)
		}
		if n, ok := r.num("attempt"); ok && n > 1 {
			e.Title += fmt.Sprintf(", attempt %g", n)
		}
		e.Detail = r.str("plan")
		if e.Detail == "" {
			e.Detail = strings.Join(r.list("command"), " ")
		}
		if msg := r.str("error"); msg != "" {
			e.Detail = strings.TrimSpace(e.Detail + " — " + msg)
		}
		if ms, ok := r.num("duration_ms"); ok {
			d := Duration(time.Duration(ms) * time.Millisecond)
			e.Took = &d
		}
	case action == "step.interrupted":
		e.Kind, e.Title, e.Detail, e.Status = KindStep, "Step "+r.str("step")+" interrupted", r.str("error"), incident.StepInterrupted
	case action == "step.choice":
		e.Kind, e.Title = KindAct, fmt.Sprintf("%s chose to %s step %s", name, r.str("choice"), r.str("step"))
	case action == "rollback.started":
		e.Kind, e.Title, e.Detail = KindRollback, "Rollback started", r.str("reason")
	case action == "gate.opened":
		e.Kind, e.Title = KindAct, "Step "+r.str("step")+" waits for approval"
	case strings.HasPrefix(action, "gate."):
		e.Kind, e.Title = KindAct, fmt.Sprintf("Gate before step %s %s", r.str("step"), strings.TrimPrefix(action, "gate."))
	default:
		e.Kind, e.Title, e.Detail = KindRecord, action, firstDetail(r)
	}
	e.Title, e.Detail = oneLine(e.Title, 200), oneLine(e.Detail, 300)
	b.add(e)
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
// else the alert's name and instance from the record.
func (b *timelineBuilder) evidenceSummary(id string, r record) string {
	for _, ev := range b.inc.Evidence {
		if ev.ID == id && ev.Summary != "" {
			return ev.Summary
		}
	}
	if labels, ok := r.d["labels"].(map[string]any); ok {
		s := fmt.Sprint(labels["alertname"])
		if inst, ok := labels["instance"].(string); ok {
			s += " on " + inst
		}
		return s
	}
	return ""
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
