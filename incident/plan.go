package incident

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// PlanText is the proposal as a person reviews it before approving, shown the same
// way in the thread and by `vigil runbook plan`: every step with its parameters
// filled in (secret values never appear: steps carry only their names), who must
// approve and how, and the rollback in the order it would run.
func (p *Proposal) PlanText() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Runbook %s (revision %s), risk %s\n", p.RunbookID, orDash(p.Revision), orDash(p.Risk))
	if len(p.Params) > 0 {
		kv := make([]string, len(p.Params))
		for i, pr := range p.Params {
			kv[i] = pr.Name + "=" + pr.Value
		}
		fmt.Fprintf(&b, "Parameters: %s\n", strings.Join(kv, ", "))
	}
	fmt.Fprintf(&b, "Approval: %s\n", p.approvalText())
	b.WriteString("Steps:\n")
	writeSteps(&b, p.Steps)
	if len(p.Rollback) > 0 {
		b.WriteString("If a step fails, roll back (in this order):\n")
		rollback := slices.Clone(p.Rollback)
		slices.Reverse(rollback)
		writeSteps(&b, rollback)
	}
	return strings.TrimRight(b.String(), "\n")
}

func writeSteps(b *strings.Builder, steps []Step) {
	for i, s := range steps {
		line := s.Display
		if line == "" {
			line = s.Describe()
		}
		fmt.Fprintf(b, "  %d. %s: %s\n", i+1, s.ID, line)
		if opts := s.options(); len(opts) > 0 {
			fmt.Fprintf(b, "     %s\n", strings.Join(opts, " · "))
		}
	}
}

// options are the step's execution settings worth reading before approving.
func (s Step) options() []string {
	var out []string
	timed := s.Run != StepWait && s.Run != StepVerify && s.Run != StepApproval
	if timed && s.Timeout > 0 {
		out = append(out, "timeout "+FormatDuration(s.Timeout))
	}
	if s.Retries > 0 {
		out = append(out, fmt.Sprintf("retries %d (first after %s, doubling)", s.Retries, FormatDuration(s.Backoff)))
	}
	if s.Confirm {
		out = append(out, "asks for approval again before it runs")
	}
	if s.Idempotent && timed {
		out = append(out, "idempotent: re-run if a crash interrupts it")
	}
	if len(s.Secrets) > 0 {
		out = append(out, "secrets: "+strings.Join(slices.Sorted(maps.Keys(s.Secrets)), ", "))
	}
	return out
}

func (p *Proposal) approvalText() string {
	if p.Autonomy != "" {
		return "none needed: runs on autonomy under rule " + p.Autonomy
	}
	n := max(p.MinApprovals, 1)
	var b strings.Builder
	who := strings.Join(p.Approvers, ", ")
	if len(p.Allowed) > 0 {
		who += " (" + strings.Join(p.Allowed, ", ") + ")"
	}
	if n == 1 {
		fmt.Fprintf(&b, "1 of %s", who)
	} else {
		fmt.Fprintf(&b, "%d different people of %s", n, who)
	}
	if p.SelfApproval {
		b.WriteString("; the requester may approve")
	} else {
		b.WriteString("; the requester may not approve their own run")
	}
	switch {
	case p.Expires <= 0:
	case p.OnExpiry == "abort":
		fmt.Fprintf(&b, "; expires after %s, then is abandoned", FormatDuration(p.Expires))
	default:
		to := "the escalation contacts"
		if len(p.EscalateTo) > 0 {
			to = strings.Join(p.EscalateTo, ", ")
		}
		fmt.Fprintf(&b, "; after %s escalates to %s and waits %s more, then is abandoned", FormatDuration(p.Expires), to, FormatDuration(p.Expires))
	}
	return b.String()
}

// FormatDuration writes a duration without zero tails: 30m, not 30m0s; 1h, not
// 1h0m0s.
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
