package runbooks

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Directory is who is who, from configuration: approver groups and on-call
// schedules, each a name mapped to user ids. Approvers are checked against it when
// runbooks load and resolved with it when a proposal is made.
type Directory struct {
	Groups map[string][]string
	OnCall map[string][]string
}

// Approval is a runbook's approval policy. The workflow enforces it; the loader
// checks that it can be satisfied.
type Approval struct {
	Approvers []Approver
	// MinApprovals is how many distinct people must approve: default 1, and 2 for
	// risk: high.
	MinApprovals int
	// SelfApproval lets whoever requested a run approve it. Default false.
	SelfApproval bool
	// Expires is how long a proposal waits for its approvals; zero never expires.
	Expires time.Duration
	// OnExpiry is escalate (default: mention EscalateTo and restart the clock once)
	// or abort.
	OnExpiry   string
	EscalateTo []Approver

	Pos             Pos
	minApprovalsPos Pos
	minSet          bool
}

// Approver is one entry of approval.approvers or escalate_to: user:NAME,
// group:NAME or oncall:SCHEDULE.
type Approver struct {
	Kind string // user | group | oncall
	Name string
	Pos  Pos
}

func (a Approver) String() string { return a.Kind + ":" + a.Name }

// On-expiry policies.
const (
	OnExpiryEscalate = "escalate"
	OnExpiryAbort    = "abort"
)

var approvalFields = []string{"approvers", "min_approvals", "self_approval", "expires", "on_expiry", "escalate_to"}

// UnmarshalYAML decodes and checks the approval policy's own fields; defaults that
// depend on risk and checks against the Directory happen in the runbook.
func (a *Approval) UnmarshalYAML(n *yaml.Node) error {
	var p problems
	a.Pos = posOf(n)
	f := p.fields(n, "approval", approvalFields...)
	if f == nil {
		return p.err()
	}
	as := f["approvers"]
	if as == nil || as.Kind != yaml.SequenceNode || len(as.Content) == 0 {
		p.add(posOf(n), "approval.approvers must list at least one approver (user:NAME or group:NAME)")
	} else {
		a.Approvers = decodeApprovers(&p, as, "approver", "user:NAME or group:NAME (or oncall:SCHEDULE)", "user", "group", "oncall")
	}
	if m := f["min_approvals"]; m != nil {
		a.MinApprovals = p.integer(m, "approval.min_approvals", 1, 10)
		a.minApprovalsPos, a.minSet = posOf(m), true
	}
	a.SelfApproval = p.boolean(f["self_approval"], "approval.self_approval")
	if e := f["expires"]; e != nil {
		a.Expires = p.duration(e, "approval.expires")
	}
	a.OnExpiry = OnExpiryEscalate
	if o := f["on_expiry"]; o != nil {
		a.OnExpiry = p.str(o, "approval.on_expiry")
		if a.OnExpiry != OnExpiryEscalate && a.OnExpiry != OnExpiryAbort {
			p.add(posOf(o), "approval.on_expiry %q must be escalate or abort", a.OnExpiry)
		}
		if f["expires"] == nil {
			p.add(posOf(o), "approval.on_expiry has no effect without approval.expires")
		}
	}
	if e := f["escalate_to"]; e != nil {
		a.EscalateTo = decodeApprovers(&p, e, "escalate_to entry", "user:NAME or group:NAME", "user", "group")
		if a.OnExpiry == OnExpiryAbort {
			p.add(posOf(e), "approval.escalate_to has no effect with on_expiry: abort")
		}
	}
	return p.err()
}

// decodeApprovers decodes a list of KIND:NAME entries; form says what is allowed.
func decodeApprovers(p *problems, n *yaml.Node, what, form string, kinds ...string) []Approver {
	var out []Approver
	vals, at := p.strList(n, what+"s")
	for i, s := range vals {
		kind, name, ok := strings.Cut(s, ":")
		if !ok || name == "" || !slices.Contains(kinds, kind) {
			p.add(at[i], "%s %q must be %s", what, s, form)
			continue
		}
		out = append(out, Approver{Kind: kind, Name: name, Pos: at[i]})
	}
	return out
}

// resolve returns the users the approvers name, sorted and distinct.
func resolve(as []Approver, d Directory) []string {
	set := map[string]bool{}
	for _, a := range as {
		switch a.Kind {
		case "user":
			set[a.Name] = true
		case "group":
			for _, u := range d.Groups[a.Name] {
				set[u] = true
			}
		case "oncall":
			for _, u := range d.OnCall[a.Name] {
				set[u] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// check reports approvers and escalation targets that name groups or schedules the
// directory does not define, and a min_approvals that the approvers can never
// reach. The count check is skipped while approvers are already wrong, so one
// mistake is reported once.
func (a *Approval) check(d Directory) []positioned {
	var out []positioned
	bad := false
	for _, ap := range slices.Concat(a.Approvers, a.EscalateTo) {
		switch {
		case ap.Kind == "group" && d.Groups[ap.Name] == nil:
			out = append(out, positioned{ap.Pos, fmt.Sprintf("approver group %q is not defined in the configuration (groups: %s)", ap.Name, orNone(slices.Sorted(maps.Keys(d.Groups))))})
			bad = true
		case ap.Kind == "oncall" && d.OnCall[ap.Name] == nil:
			out = append(out, positioned{ap.Pos, fmt.Sprintf("on-call schedule %q is not defined in the configuration (oncall: %s)", ap.Name, orNone(slices.Sorted(maps.Keys(d.OnCall))))})
			bad = true
		}
	}
	if n := len(resolve(a.Approvers, d)); !bad && len(a.Approvers) > 0 && a.MinApprovals > n {
		at := a.minApprovalsPos
		if !a.minSet {
			at = a.Pos
		}
		why := ""
		if !a.minSet {
			why = fmt.Sprintf(" (min_approvals defaults to %d for this risk)", a.MinApprovals)
		}
		out = append(out, positioned{at, fmt.Sprintf("approval needs %d distinct approvers%s but approvers resolve to %d (%s); add approvers or lower min_approvals", a.MinApprovals, why, n, strings.Join(resolve(a.Approvers, d), ", "))})
	}
	return out
}

// positioned is a problem found after decoding, outside the YAML decoder.
type positioned struct {
	Pos Pos
	Msg string
}
