package review

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/incident"
)

// PostmortemInput is what a postmortem draft is written from.
type PostmortemInput struct {
	Source
	// Checkpoint, when the trail is signed, is the incident checkpoint sealing
	// the records the draft is written from. The draft cites it, so anyone
	// holding the draft holds a witness against later truncation of the trail.
	Checkpoint *audit.Checkpoint
}

// PostmortemTitle is the title of an incident's postmortem (e.g. as an issue).
func PostmortemTitle(inc incident.Incident) string {
	return fmt.Sprintf("Postmortem: %s (%s)", inc.Title, inc.ID)
}

// Postmortem writes a postmortem draft in Markdown: summary, impact window,
// timeline, the root-cause candidates and whether one was confirmed, the actions
// taken with who approved them, and follow-ups the trail suggests. It is a draft:
// it says what the records say, and leaves the judgement to people. Times are UTC.
func Postmortem(in PostmortemInput) string {
	tl := BuildTimeline(in.Source)
	inc, ms := in.Incident, tl.Milestones
	recs := decode(in.Audit)
	var buf bytes.Buffer
	m := &mdWriter{w: &buf}

	m.f("# %s\n\n", PostmortemTitle(inc))
	m.f("> Draft written by Vigil from the incident's audit trail. Edit it before you share it: the root cause below is a ranking until someone confirms it.\n\n")

	m.f("## Summary\n\n")
	m.f("- **Incident:** %s\n", inc.ID)
	m.f("- **Severity:** %s · **Services:** %s\n", orDash(inc.Severity), orDash(strings.Join(inc.Services, ", ")))
	m.f("- **Status:** %s", inc.Status)
	if inc.Reason != "" {
		m.f(" — %s", mdText(inc.Reason))
	}
	m.f("\n- **Detected:** %s", clock(ms.Detected, nil))
	if d := ms.TimeToAck; d != nil {
		m.f(" · **acknowledged** after %s by %s", d, orDash(ms.AckedBy))
		if ms.AckFrom == AckFromDecision {
			m.f(" (their decision; no earlier acknowledgement)")
		}
	}
	if d := ms.TimeToResolve; d != nil {
		m.f(" · **resolved** after %s", d)
	}
	m.f("\n\n")

	m.f("## Impact window\n\n")
	writeImpact(m, tl, ms)

	m.f("\n## Timeline\n\n")
	writeEntries(m, tl.Entries, nil)

	m.f("\n## Root cause\n\n")
	confirmed := ""
	for _, r := range recs {
		if r.Action == "cause.confirmed" {
			name, _ := r.who()
			confirmed = fmt.Sprintf("**%s**, confirmed by %s at %s", r.str("component"), name, clock(r.at, nil))
		}
	}
	if len(inc.Candidates) > 0 {
		m.f("Candidates Vigil ranked (latest ranking):\n\n")
		m.header("#", "Component", "Score", "Why")
		for i, c := range inc.Candidates[:min(5, len(inc.Candidates))] {
			m.row(fmt.Sprint(i+1), c.Component, fmt.Sprintf("%.2f", c.Score), c.Reason)
		}
		m.f("\n")
	} else {
		m.f("Vigil ranked no root-cause candidate: the evidence named no component.\n\n")
	}
	if confirmed != "" {
		m.f("Confirmed: %s.\n", confirmed)
	} else {
		m.f("Confirmed: **not yet**. Replace this line with the cause you established.\n")
	}

	m.f("\n## Actions taken\n\n")
	writeActions(m, inc, recs)

	m.f("## Follow-ups\n\n")
	for _, f := range followUps(inc, recs, tl, confirmed != "") {
		m.f("- [ ] %s\n", f)
	}

	m.f("\n---\n\n")
	m.f("Written by Vigil from %d audit record(s) of this incident. ", len(in.Audit))
	if c := in.Checkpoint; c != nil {
		m.f("They are sealed by signed checkpoint #%d (key %s), which vouches for the audit trail through record %d with hash `%s`. ", c.N, c.KeyID, c.Seq, c.Hash)
		m.f("To check them: `vigil audit export --incident %s --out %s.jsonl`, then `vigil audit verify --bundle %s.jsonl --public-key KEY`.\n", inc.ID, inc.ID, inc.ID)
	} else {
		m.f("The audit trail is not signed, so this draft cites no checkpoint.\n")
	}
	return buf.String()
}

// writeImpact states the window the alerts were firing.
func writeImpact(m *mdWriter, tl Timeline, ms Milestones) {
	var end time.Time
	open := false
	for _, row := range tl.Chart.Rows {
		for _, iv := range row.Intervals {
			open = open || iv.Open
			if !iv.Open && iv.End.After(end) {
				end = iv.End
			}
		}
	}
	switch {
	case ms.Detected.IsZero():
		m.f("Unknown: no alert start was recorded.\n")
		return
	case open:
		m.f("From %s, when the first alert started; an alert was still firing when this draft was written.\n", clock(ms.Detected, nil))
	case !end.IsZero():
		m.f("From %s, when the first alert started, to %s, when the last one resolved: %s.\n", clock(ms.Detected, nil), clock(end, nil), Duration(end.Sub(ms.Detected)))
	case !ms.Resolved.IsZero():
		m.f("From %s, when the first alert started, to %s, when the incident resolved: %s.\n", clock(ms.Detected, nil), clock(ms.Resolved, nil), Duration(ms.Resolved.Sub(ms.Detected)))
	default:
		m.f("From %s, when the first alert started.\n", clock(ms.Detected, nil))
	}
	if len(tl.Chart.Rows) > 0 {
		m.f("\n")
		m.header("Evidence", "Firing")
		for _, row := range tl.Chart.Rows {
			var spans []string
			for _, iv := range row.Intervals {
				if iv.Open {
					spans = append(spans, clock(iv.Start, nil)+" – still firing")
				} else {
					spans = append(spans, fmt.Sprintf("%s – %s (%s)", clock(iv.Start, nil), clock(iv.End, nil), Duration(iv.End.Sub(iv.Start))))
				}
			}
			if row.Series != nil {
				spans = append(spans, "metric "+row.Series.Name)
			}
			m.row(row.Label, strings.Join(spans, "; "))
		}
	}
}

// writeActions tells, per proposal, who decided what and what its runs did.
func writeActions(m *mdWriter, inc incident.Incident, recs []record) {
	if len(inc.Proposals) == 0 {
		m.f("No runbook was proposed.\n\n")
		return
	}
	for _, p := range inc.Proposals {
		m.f("### %s · %s (`%s`, risk %s)\n\n", p.ID, mdText(orDash(p.Title)), p.RunbookID, orDash(p.Risk))
		if p.Why != "" {
			m.f("Why it was proposed: %s\n\n", mdText(oneLine(p.Why, 300)))
		}
		offered := time.Time{}
		runs := map[string]bool{}
		for _, r := range recs {
			if r.str("proposal") != p.ID && !runs[r.str("run")] {
				continue
			}
			name, via := r.who()
			switch d := r.details.(type) {
			case *audit.Offered:
				offered = r.at
				m.f("- Proposed at %s; approvers: %s.\n", clock(r.at, nil), orDash(strings.Join(d.Approvers, ", ")))
			case *audit.Decision:
				if d.Decision == audit.ByAutonomy {
					m.f("- Approved without a human by autonomy rule %s at %s.\n", orDash(d.Autonomy), clock(r.at, nil))
					continue
				}
				verb := map[string]string{incident.Approve: "Approved", incident.Reject: "Rejected"}[d.Decision]
				m.f("- %s by **%s**", verb, name)
				if via != "" {
					m.f(" (via %s)", via)
				}
				m.f(" at %s", clock(r.at, nil))
				if d := span(offered, r.at); d != nil {
					m.f(", %s after it was proposed", d)
				}
				if d.Comment != "" {
					m.f(": “%s”", mdText(oneLine(d.Comment, 300)))
				}
				m.f(".\n")
			case *audit.Expired:
				m.f("- Expired undecided at %s; not run.\n", clock(r.at, nil))
			case *audit.RunStart:
				runs[d.Run] = true
				m.f("- Run `%s` started at %s:\n\n", d.Run, clock(r.at, nil))
				m.header("Step", "Status", "Exit", "Took", "What ran")
			case *audit.Step:
				step := d.Step
				if d.Rollback {
					step = "rollback " + step
				}
				m.row(step, d.Status, fmt.Sprint(d.ExitCode), Duration(time.Duration(d.DurationMS)*time.Millisecond).String(), mdCode(oneLine(d.Plan, 120)))
			case *audit.RunEnd:
				m.f("\n  Run `%s` %s", d.Run, d.Status)
				if d.Reason != "" {
					m.f(": %s", mdText(d.Reason))
				}
				m.f(".\n")
			}
		}
		if p.Outcome != "" {
			m.f("\nOutcome: %s (%s).\n\n", p.Status, mdText(p.Outcome))
		} else {
			m.f("\nOutcome: %s.\n\n", p.Status)
		}
	}
}

// followUps lists what the trail suggests someone should look at.
func followUps(inc incident.Incident, recs []record, tl Timeline, confirmed bool) []string {
	var out []string
	if !confirmed {
		if len(inc.Candidates) > 0 {
			c := inc.Candidates[0]
			out = append(out, fmt.Sprintf("Confirm the root cause: the top-ranked candidate was **%s** (score %.2f). Record what it really was.", c.Component, c.Score))
		} else {
			out = append(out, "Establish the root cause: Vigil had no candidate.")
		}
	}
	runbookOf := map[string]string{}
	failedStep := map[string]string{}
	for _, r := range recs {
		p := r.str("proposal")
		switch d := r.details.(type) {
		case *audit.Offered:
			runbookOf[p] = d.Runbook
		case *audit.Step:
			if !d.Rollback && d.Status != incident.StepSucceeded {
				failedStep[d.Run] = fmt.Sprintf("step `%s` %s (exit %d)", d.Step, d.Status, d.ExitCode)
			}
		case *audit.RunEnd:
			if d.Status != string(incident.ProposalSucceeded) {
				what := failedStep[d.Run]
				if what == "" {
					what = "it " + d.Status
				}
				out = append(out, fmt.Sprintf("Run `%s` did not succeed: %s. Fix the runbook, or what it assumes about the system.", d.Run, what))
			}
		case *audit.Decision:
			if d.Decision != incident.Reject {
				continue
			}
			name, _ := r.who()
			s := fmt.Sprintf("%s (`%s`) was rejected by %s", p, runbookOf[p], name)
			if d.Comment != "" {
				s += ": “" + mdText(oneLine(d.Comment, 200)) + "”"
			}
			out = append(out, s+". Should the runbook match incidents like this one?")
		case *audit.Expired:
			out = append(out, fmt.Sprintf("%s (`%s`) expired undecided: were the right approvers reachable?", p, runbookOf[p]))
		}
	}
	if len(inc.Proposals) == 0 {
		alert := ""
		if len(inc.Alerts) > 0 {
			alert = inc.Alerts[0].Labels["alertname"]
		}
		out = append(out, fmt.Sprintf("No runbook matched: consider writing one for alert `%s` on %s.", orDash(alert), orDash(strings.Join(inc.Services, ", "))))
	}
	for _, e := range tl.Entries {
		if e.Kind == KindEscalation {
			out = append(out, "The incident escalated ("+mdText(oneLine(e.Detail, 200))+"): review why.")
			break
		}
	}
	for _, e := range tl.Entries {
		if e.Kind == KindResolution && e.Title == "Reopened" {
			out = append(out, "The incident reopened after it had resolved: was the fix complete?")
			break
		}
	}
	return append(out, "Add the actions that would keep this from happening again.")
}
