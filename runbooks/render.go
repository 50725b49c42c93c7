package runbooks

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/vigilops/vigil/incident"
)

// Context is what a runbook is rendered against: the alert labels and annotations
// that matched, and the incident.
type Context struct {
	Labels      map[string]string
	Annotations map[string]string
	Incident    *incident.Incident
}

// Render resolves the runbook's parameters from ctx, checks each against its
// pattern, and renders every step's argv. The result is a proposal whose steps are
// exactly what will run; rendering the same runbook against the same context always
// gives the same proposal.
func (r *Runbook) Render(ctx Context) (incident.Proposal, error) {
	params := make(map[string]string, len(r.Params))
	var rendered []incident.Param
	for _, p := range r.Params {
		v, err := p.resolve(ctx)
		if err != nil {
			return incident.Proposal{}, fmt.Errorf("runbook %s: %w", r.ID, err)
		}
		params[p.Name] = v
		rendered = append(rendered, incident.Param{Name: p.Name, Value: v})
	}
	data := map[string]any{
		"params": params,
		"labels": ctx.Labels,
	}
	if inc := ctx.Incident; inc != nil {
		data["incident"] = map[string]string{"id": inc.ID, "key": inc.Key, "title": inc.Title, "severity": inc.Severity}
	}
	steps := make([]incident.Step, len(r.Steps))
	for i, s := range r.Steps {
		argv := make([]string, len(s.templates))
		for j, t := range s.templates {
			var b strings.Builder
			if err := t.Execute(&b, data); err != nil {
				return incident.Proposal{}, fmt.Errorf("runbook %s: step %s argument %d: %w", r.ID, s.ID, j+1, err)
			}
			argv[j] = b.String()
		}
		steps[i] = incident.Step{ID: s.ID, Run: s.Run, Command: argv, Timeout: s.Timeout}
	}
	approvers := make([]string, len(r.Approval.Approvers))
	for i, a := range r.Approval.Approvers {
		approvers[i] = a.String()
	}
	return incident.Proposal{
		RunbookID: r.ID,
		Revision:  r.Revision,
		Title:     r.Title,
		Risk:      r.Risk,
		Params:    rendered,
		Steps:     steps,
		Approvers: approvers,
	}, nil
}

func (p Param) resolve(ctx Context) (string, error) {
	var v string
	if src, name, ok := strings.Cut(p.From, "."); ok {
		if src == "label" {
			v = ctx.Labels[name]
		} else {
			v = ctx.Annotations[name]
		}
	}
	if v == "" {
		v = p.Default
	}
	if v == "" {
		return "", fmt.Errorf("param %s: %s is not set on the alert and there is no default", p.Name, p.From)
	}
	if p.Pattern != nil && !p.Pattern.MatchString(v) {
		return "", fmt.Errorf("param %s: value %q does not match its pattern %s", p.Name, v, p.Pattern)
	}
	return v, nil
}

// AllowedUsers resolves the runbook's approvers to user ids using the configured
// groups. The result is sorted and has no duplicates.
func (r *Runbook) AllowedUsers(groups map[string][]string) []string {
	set := map[string]bool{}
	for _, a := range r.Approval.Approvers {
		if a.Kind == "user" {
			set[a.Name] = true
			continue
		}
		for _, u := range groups[a.Name] {
			set[u] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}
