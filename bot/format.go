package bot

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/vigilops/vigil/incident"
)

// The formatter: every message Vigil posts is built here, so all surfaces and all
// incidents read the same way. Functions are pure; times print in UTC.

// MaxOutputInChat caps step output shown in a thread; the full (capped) output stays
// in the step result and the audit trail.
const MaxOutputInChat = 1500

// Summary is the thread's root message, edited as the incident changes.
func Summary(inc *incident.Incident) Message {
	firing := 0
	for _, a := range inc.Alerts {
		if a.Status == incident.AlertFiring {
			firing++
		}
	}
	m := Message{
		Kind:  KindSummary,
		Title: fmt.Sprintf("%s %s", statusMark(inc.Status), inc.Title),
		Fields: []Field{
			{"Status", string(inc.Status)},
			{"Severity", orDash(inc.Severity)},
			{"Services", orDash(strings.Join(inc.Services, ", "))},
			{"Alerts firing", fmt.Sprintf("%d of %d", firing, len(inc.Alerts))},
			{"Detected", clock(inc.DetectedAt)},
		},
		Footer:   "Incident " + inc.ID,
		Severity: inc.Severity,
		Services: slices.Clone(inc.Services),
	}
	if inc.Reason != "" {
		m.Text = inc.Reason
	}
	return m
}

func statusMark(s incident.Status) string {
	switch s {
	case incident.StatusResolved:
		return "[RESOLVED]"
	case incident.StatusEscalated:
		return "[ESCALATED]"
	case incident.StatusRemediating:
		return "[REMEDIATING]"
	case incident.StatusAwaitingApproval:
		return "[AWAITING APPROVAL]"
	default:
		return "[OPEN]"
	}
}

// Evidence shows one alert as evidence.
func Evidence(a *incident.Alert) Message {
	m := Message{
		Kind:  KindEvidence,
		Title: fmt.Sprintf("%s · alert %s: %s", a.EvidenceID, a.Status, orDash(a.Labels["alertname"])),
		Text:  firstNonEmpty(a.Annotations["summary"], a.Annotations["description"]),
	}
	for _, k := range slices.Sorted(maps.Keys(a.Labels)) {
		m.Fields = append(m.Fields, Field{k, a.Labels[k]})
	}
	m.Fields = append(m.Fields, Field{"Started", clock(a.StartsAt)})
	if a.Status == incident.AlertResolved && !a.EndsAt.IsZero() {
		m.Fields = append(m.Fields, Field{"Ended", clock(a.EndsAt)})
	}
	if a.GeneratorURL != "" {
		m.Fields = append(m.Fields, Field{"Source", a.GeneratorURL})
	}
	return m
}

// Candidates lists the top root-cause candidates with the reasons behind each.
func Candidates(cs []incident.Candidate) Message {
	m := Message{Kind: KindCandidate, Title: "Root-cause candidates"}
	if len(cs) == 0 {
		m.Text = "No candidate yet: the evidence names no component."
		return m
	}
	var b strings.Builder
	for i, c := range cs[:min(3, len(cs))] {
		fmt.Fprintf(&b, "%d. %s (score %.2f): %s\n", i+1, c.Component, c.Score, c.Reason)
		for _, f := range c.Factors {
			fmt.Fprintf(&b, "   - %s = %.2f × weight %.2f", f.Name, f.Value, f.Weight)
			if len(f.Evidence) > 0 {
				fmt.Fprintf(&b, " [%s]", strings.Join(f.Evidence, ", "))
			}
			b.WriteByte('\n')
		}
	}
	m.Text = strings.TrimRight(b.String(), "\n")
	return m
}

// Proposal offers a runbook with its exact plan, and Approve/Reject while it is
// pending. Once decided, the buttons are gone and the footer says the outcome.
//
// decisions are the incident's decisions (any proposal's; those on p are used):
// each becomes an "Approved by" or "Rejected by" field naming who decided, when
// and through which surface, so the edited message shows it where the buttons
// were. Callers that have no decisions at hand may pass none.
func Proposal(p *incident.Proposal, decisions ...incident.Decision) Message {
	if p.Status == incident.ProposalNeedsInput {
		return needsInput(p)
	}
	m := Message{
		Kind:  KindProposal,
		Title: fmt.Sprintf("%s · Proposed: %s (%s)", p.ID, p.Title, p.RunbookID),
		Text:  p.Why,
		Fields: []Field{
			{"Risk", p.Risk},
			{"Approvers", strings.Join(p.Approvers, ", ")},
			{"Runbook revision", p.Revision},
		},
		Code: p.PlanText(),
	}
	if p.RequestedBy != "" {
		m.Fields = append(m.Fields, Field{"Requested by", p.RequestedBy})
	}
	for _, pr := range p.Params {
		m.Fields = append(m.Fields, Field{"param " + pr.Name, pr.Value})
	}
	for _, d := range decisions {
		if d.ProposalID != p.ID {
			continue
		}
		label := "Approved by"
		if d.Decision == incident.Reject {
			label = "Rejected by"
		}
		m.Fields = append(m.Fields, Field{label, fmt.Sprintf("%s at %s via %s", who(d), clock(d.At), d.Actor.Surface)})
	}
	if p.Status == incident.ProposalPending {
		// The plan hash in the ids ties a press to the plan shown: the workflow
		// refuses an approval of a plan that has changed since.
		ref := p.ID
		if p.PlanHash != "" {
			ref += ":" + p.PlanHash
		}
		approve := Action{ID: "approve:" + ref, Label: "Approve " + p.ID, Style: "primary"}
		if p.Risk == "high" {
			approve.Confirm = fmt.Sprintf("Run %s (high risk) now?", p.RunbookID)
		}
		m.Actions = []Action{approve, {ID: "reject:" + ref, Label: "Reject", Style: "danger"}}
		return m
	}
	m.Footer = string(p.Status)
	if p.Outcome != "" {
		m.Footer += ": " + p.Outcome
	}
	return m
}

// Decision records a human's decision in the thread.
func Decision(d incident.Decision, p *incident.Proposal) Message {
	verb := "approved"
	if d.Decision == incident.Reject {
		verb = "rejected"
	}
	m := Message{
		Kind:   KindDecision,
		Title:  fmt.Sprintf("%s %s %s (%s)", who(d), verb, p.ID, p.RunbookID),
		Text:   d.Comment,
		Footer: fmt.Sprintf("via %s (%s) at %s", d.Actor.Surface, d.Actor.Verification, clock(d.At)),
	}
	return m
}

func who(d incident.Decision) string {
	if a := d.Actor; a.DisplayName != "" && a.DisplayName != a.User {
		return fmt.Sprintf("%s (%s)", a.DisplayName, a.User)
	}
	return d.Actor.User
}

// StepRunning marks a step as started; Step replaces it with the outcome.
func StepRunning(n, total int, s incident.Step) Message {
	return Message{
		Kind:  KindStep,
		Title: fmt.Sprintf("Step %d/%d %s: running", n, total, s.ID),
		Code:  "$ " + s.Describe(),
	}
}

// Step shows a finished step: status, exit code, duration and the start of its
// output.
func Step(n, total int, s incident.Step, r incident.StepResult) Message {
	m := Message{
		Kind:  KindStep,
		Title: fmt.Sprintf("Step %d/%d %s: %s (exit %d, %s)", n, total, r.StepID, r.Status, r.ExitCode, r.Duration.Round(time.Millisecond)),
		Text:  r.Error,
	}
	out := r.Output
	cut := len(out) > MaxOutputInChat
	if cut {
		out = out[:MaxOutputInChat]
	}
	m.Code = "$ " + s.Describe() + "\n" + out
	if cut || r.Truncated {
		m.Code += "\n… (output truncated)"
	}
	return m
}

// Status is a one-line note about the incident.
func Status(title, text string) Message {
	return Message{Kind: KindStatus, Title: title, Text: text}
}

func clock(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// KindReply marks an answer to one person's command; it is not part of a thread.
const KindReply Kind = "reply"

// Reply answers a command: a short title and what happened or what to do next.
func Reply(title, text string) Message {
	return Message{Kind: KindReply, Title: title, Text: text}
}

// Refused answers a command the policy or the incident's state refused, with the
// reason as Vigil gave it.
func Refused(reason string) Message {
	return Message{Kind: KindReply, Title: "Refused", Text: reason}
}

// HelpEntry is one command as the help lists it.
type HelpEntry struct {
	Usage    string   // e.g. "approve PROPOSAL [INCIDENT] [COMMENT]"
	Summary  string   // one sentence
	Examples []string // full command lines
}

// Help lists commands with their examples. prefix is how the surface invokes
// Vigil ("/vigil " or "@vigil "), shown before every example.
func Help(prefix string, entries []HelpEntry) Message {
	var b strings.Builder
	for _, e := range entries {
		fmt.Fprintf(&b, "%s%s\n    %s\n", prefix, e.Usage, e.Summary)
		for _, ex := range e.Examples {
			fmt.Fprintf(&b, "    e.g. %s%s\n", prefix, ex)
		}
	}
	return Message{
		Kind:   KindReply,
		Title:  "Vigil commands",
		Code:   strings.TrimRight(b.String(), "\n"),
		Footer: "In an incident's thread, commands act on that incident; elsewhere, name it (e.g. incident-7-highlatency-checkout).",
	}
}

// IncidentList lists incidents, one line each, newest first as given.
func IncidentList(title string, incs []incident.Incident) Message {
	m := Message{Kind: KindReply, Title: fmt.Sprintf("%s (%d)", title, len(incs))}
	if len(incs) == 0 {
		m.Text = "None."
		return m
	}
	var b strings.Builder
	for _, inc := range incs {
		fmt.Fprintf(&b, "%s %s · %s · severity %s · services %s", statusMark(inc.Status), inc.ID, inc.Title,
			orDash(inc.Severity), orDash(strings.Join(inc.Services, ", ")))
		var pending []string
		for _, p := range inc.Proposals {
			if p.Status == incident.ProposalPending {
				pending = append(pending, p.ID)
			}
		}
		if len(pending) > 0 {
			fmt.Fprintf(&b, " · awaiting decision on %s", strings.Join(pending, ", "))
		}
		b.WriteByte('\n')
	}
	m.Text = strings.TrimRight(b.String(), "\n")
	return m
}

// Show is one incident at a glance: the summary, then each proposal with its
// state and approvers, so a reader knows what to approve.
func Show(inc *incident.Incident) Message {
	m := Summary(inc)
	m.Kind = KindReply
	var b strings.Builder
	if m.Text != "" {
		b.WriteString(m.Text + "\n")
	}
	for _, p := range inc.Proposals {
		fmt.Fprintf(&b, "%s %s (%s, risk %s): %s; approvers %s\n", p.ID, p.Title, p.RunbookID, orDash(p.Risk), p.Status, orDash(strings.Join(p.Approvers, ", ")))
	}
	if len(inc.Proposals) == 0 {
		b.WriteString("No proposals yet.\n")
	}
	m.Text = strings.TrimRight(b.String(), "\n")
	return m
}

// TimelineEntry is one act on an incident, oldest first.
type TimelineEntry struct {
	At     time.Time
	Actor  string // user:ID or system:COMPONENT
	Action string // e.g. decision.approve
	Detail string // one line; may be empty
}

// Timeline shows an incident's acts in order.
func Timeline(incidentID string, entries []TimelineEntry) Message {
	m := Message{Kind: KindReply, Title: "Timeline of " + incidentID, Footer: "From the tamper-evident audit trail."}
	if len(entries) == 0 {
		m.Text = "Nothing recorded yet."
		return m
	}
	var b strings.Builder
	for _, e := range entries {
		fmt.Fprintf(&b, "%s  %-22s %s", e.At.UTC().Format("01-02 15:04:05"), e.Action, e.Actor)
		if e.Detail != "" {
			b.WriteString("  " + e.Detail)
		}
		b.WriteByte('\n')
	}
	m.Code = strings.TrimRight(b.String(), "\n")
	return m
}

// needsInput asks the proposal's approvers for the runbook's input params, and
// says how to answer; there is nothing to approve until they are answered.
func needsInput(p *incident.Proposal) Message {
	var b, example strings.Builder
	for _, q := range p.Inputs {
		kind := cmp.Or(q.Type, "string")
		if len(q.Values) > 0 {
			kind += ": " + strings.Join(q.Values, " | ")
		}
		fmt.Fprintf(&b, "- %s (%s): %s", q.Name, kind, q.Prompt)
		if q.Answer != "" {
			fmt.Fprintf(&b, " [answered: %s]", q.Answer)
		} else {
			fmt.Fprintf(&example, " %s=VALUE", q.Name)
		}
		b.WriteByte('\n')
	}
	m := Message{
		Kind:  KindProposal,
		Title: fmt.Sprintf("%s · Needs input: %s (%s)", p.ID, p.Title, p.RunbookID),
		Text:  p.Why + "\nBefore it can be planned and approved, answer:\n" + strings.TrimRight(b.String(), "\n"),
		Fields: []Field{
			{"Risk", p.Risk},
			{"Who may answer", strings.Join(p.Approvers, ", ")},
		},
	}
	if example.Len() > 0 {
		m.Code = "/vigil input " + p.ID + example.String()
	}
	return m
}
