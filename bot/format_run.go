package bot

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/vigilops/vigil/incident"
)

// Messages about a running remediation: gates, interrupted steps and rollback.
// Action ids address the run and step as "verb:RUNID/STEP" so a surface can route
// the decision to the run without carrying any other payload.

// Gate asks for the proposal's approvers to approve one step (confirm: true or an
// approval step). With an outcome, the buttons are gone and the footer says it.
func Gate(p *incident.Proposal, n, total int, s incident.Step, target string, approvals []incident.Actor, outcome string) Message {
	m := Message{
		Kind:  KindProposal,
		Title: fmt.Sprintf("Step %d/%d %s of %s waits for approval", n, total, s.ID, p.ID),
		Text:  fmt.Sprintf("Approvers: %s; %d approval(s) needed.", strings.Join(p.Approvers, ", "), max(p.MinApprovals, 1)),
	}
	if s.Run != incident.StepApproval {
		m.Code = "Next: " + s.Describe()
	}
	if len(approvals) > 0 {
		var who []string
		for _, a := range approvals {
			who = append(who, a.Name())
		}
		m.Fields = []Field{{"Approved so far", strings.Join(who, ", ")}}
	}
	if outcome != "" {
		m.Footer = outcome
		return m
	}
	approve := Action{ID: "approve:" + target, Label: "Approve step " + s.ID, Style: "primary"}
	if p.Risk == "high" {
		approve.Confirm = fmt.Sprintf("Run step %s of %s (high risk) now?", s.ID, p.RunbookID)
	}
	m.Actions = []Action{approve, {ID: "reject:" + target, Label: "Reject", Style: "danger"}}
	return m
}

// Interrupted says a step was cut off by a crash and asks a human to choose: run
// it again, or mark it done after checking by hand. With an answer, the buttons
// are gone.
func Interrupted(s incident.Step, res incident.StepResult, target, answered string) Message {
	m := Message{
		Kind:  KindStep,
		Title: fmt.Sprintf("Step %s was interrupted and was not re-run", s.ID),
		Text: "Vigil stopped while this step was running, so it may or may not have taken effect. " +
			"Check, then choose: re-run it, or mark it done.",
		Code: "$ " + s.Describe(),
	}
	if answered != "" {
		m.Footer = answered
		return m
	}
	m.Actions = []Action{
		{ID: "rerun:" + target, Label: "Re-run step " + s.ID, Style: "danger", Confirm: "Run step " + s.ID + " again?"},
		{ID: "markdone:" + target, Label: "Mark done", Style: "primary"},
	}
	return m
}

// RollbackStep shows a rollback step running (res nil) or finished.
func RollbackStep(n, total int, s incident.Step, res *incident.StepResult) Message {
	if res == nil {
		return Message{Kind: KindStep, Title: fmt.Sprintf("Rollback %d/%d %s: running", n, total, s.ID), Code: "$ " + s.Describe()}
	}
	m := Step(n, total, s, *res)
	m.Title = "Rollback " + strings.TrimPrefix(m.Title, "Step ")
	return m
}

// SignalEvidence shows evidence from a signal other than an alert: a metric or
// log anomaly, a prediction, a change.
func SignalEvidence(ev *incident.Evidence) Message {
	m := Message{
		Kind:  KindEvidence,
		Title: fmt.Sprintf("%s · %s: %s", ev.ID, strings.ReplaceAll(string(ev.Kind), "_", " "), ev.Summary),
	}
	for _, k := range slices.Sorted(maps.Keys(ev.Data)) {
		m.Fields = append(m.Fields, Field{k, ev.Data[k]})
	}
	m.Fields = append(m.Fields, Field{"Seen", clock(ev.Start)})
	if s := ev.Series; s != nil && len(s.Values) > 0 {
		lo, hi := s.Values[0], s.Values[0]
		for _, v := range s.Values {
			lo, hi = min(lo, v), max(hi, v)
		}
		m.Fields = append(m.Fields, Field{"Series", fmt.Sprintf("%s: %d points, %g to %g, last %g", s.Name, len(s.Values), lo, hi, s.Values[len(s.Values)-1])})
	}
	if len(ev.Examples) > 0 {
		m.Code = strings.Join(ev.Examples, "\n")
	}
	return m
}
