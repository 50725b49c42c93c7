package bot

import (
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
		Footer: "Incident " + inc.ID,
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
func Proposal(p *incident.Proposal) Message {
	m := Message{
		Kind:  KindProposal,
		Title: fmt.Sprintf("%s · Proposed: %s (%s)", p.ID, p.Title, p.RunbookID),
		Text:  p.Why,
		Fields: []Field{
			{"Risk", p.Risk},
			{"Approvers", strings.Join(p.Approvers, ", ")},
			{"Runbook revision", p.Revision},
		},
		Code: "Plan:\n" + strings.Join(p.Plan(), "\n"),
	}
	for _, pr := range p.Params {
		m.Fields = append(m.Fields, Field{"param " + pr.Name, pr.Value})
	}
	if p.Status == incident.ProposalPending {
		approve := Action{ID: "approve:" + p.ID, Label: "Approve " + p.ID, Style: "primary"}
		if p.Risk == "high" {
			approve.Confirm = fmt.Sprintf("Run %s (high risk) now?", p.RunbookID)
		}
		m.Actions = []Action{approve, {ID: "reject:" + p.ID, Label: "Reject", Style: "danger"}}
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
		Code:  "$ " + s.CommandLine(),
	}
}

// Step shows a finished step: status, exit code, duration and the start of its
// output.
func Step(n, total int, r incident.StepResult) Message {
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
	m.Code = "$ " + incident.ShellQuote(r.Command) + "\n" + out
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
