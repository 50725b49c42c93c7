package runbooks

import (
	"fmt"

	"github.com/vigilops/vigil/incident"
)

// Context is what a runbook is rendered against: the alert labels and annotations
// that matched, the incident, the answers to input params, and the directory that
// resolves approvers.
type Context struct {
	Labels      map[string]string
	Annotations map[string]string
	Incident    *incident.Incident
	// Inputs holds human answers to input params (from: input), by param name.
	Inputs map[string]string
	// Directory resolves the approval policy into Proposal.Allowed.
	Directory Directory
}

// Render resolves the runbook's parameters from ctx, checks each, and renders every
// step. The result is a proposal whose steps are exactly what will run; rendering
// the same runbook against the same context always gives the same proposal.
//
// A param that cannot be resolved or fails its check is an error: the runbook is
// not proposed. Input params that have no answer in ctx.Inputs (and no default)
// give a *NeedsInputError listing what to ask; render again with the answers.
func (r *Runbook) Render(ctx Context) (incident.Proposal, error) {
	params := make(map[string]string, len(r.Params))
	var rendered []incident.Param
	var missing []InputParam
	for _, p := range r.Params {
		v, ok, err := p.resolve(ctx)
		if err != nil {
			return incident.Proposal{}, fmt.Errorf("runbook %s: %w", r.ID, err)
		}
		if !ok {
			missing = append(missing, p.input())
			continue
		}
		params[p.Name] = v
		rendered = append(rendered, incident.Param{Name: p.Name, Value: v})
	}
	if len(missing) > 0 {
		return incident.Proposal{}, &NeedsInputError{RunbookID: r.ID, Params: missing}
	}
	rc := &renderContext{
		data:    map[string]any{"params": params, "labels": ctx.Labels},
		secrets: map[string]string{},
	}
	if inc := ctx.Incident; inc != nil {
		rc.data["incident"] = map[string]string{"id": inc.ID, "key": inc.Key, "title": inc.Title, "severity": inc.Severity}
	}
	for _, s := range r.Secrets {
		rc.secrets[s.Name] = s.Ref
	}
	steps, err := renderSteps(rc, r.Steps)
	if err != nil {
		return incident.Proposal{}, fmt.Errorf("runbook %s: %w", r.ID, err)
	}
	rollback, err := renderSteps(rc, r.Rollback)
	if err != nil {
		return incident.Proposal{}, fmt.Errorf("runbook %s: rollback %w", r.ID, err)
	}
	p := r.Policy(ctx.Directory)
	p.Params, p.Steps, p.Rollback = rendered, steps, rollback
	return p, nil
}

// Policy is the runbook's identity and approval policy as a proposal with no
// plan yet: who may approve (resolved through the directory), how many, and
// expiry. Render fills in the plan; a proposal waiting for input answers
// carries only this.
func (r *Runbook) Policy(d Directory) incident.Proposal {
	p := incident.Proposal{
		RunbookID:    r.ID,
		Revision:     r.Revision,
		Title:        r.Title,
		Risk:         r.Risk,
		Approvers:    specs(r.Approval.Approvers),
		Allowed:      r.AllowedUsers(d),
		MinApprovals: r.Approval.MinApprovals,
		SelfApproval: r.Approval.SelfApproval,
		Expires:      r.Approval.Expires,
		EscalateTo:   specs(r.Approval.EscalateTo),
	}
	if p.Expires > 0 {
		p.OnExpiry = r.Approval.OnExpiry
	}
	return p
}

func renderSteps(rc *renderContext, steps []Step) ([]incident.Step, error) {
	var out []incident.Step
	for _, s := range steps {
		st := incident.Step{
			ID: s.ID, Run: s.Run, Timeout: s.Timeout, Retries: s.Retries, Backoff: s.Backoff,
			Confirm: s.Confirm, Idempotent: s.Idempotent,
		}
		if err := s.Type.render(rc, &st); err != nil {
			return nil, fmt.Errorf("step %s: %w", s.ID, err)
		}
		out = append(out, st)
	}
	return out, nil
}

func specs(as []Approver) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.String())
	}
	return out
}

// AllowedUsers resolves the runbook's approvers to user ids using the directory.
// The result is sorted and has no duplicates.
func (r *Runbook) AllowedUsers(d Directory) []string {
	return resolve(r.Approval.Approvers, d)
}

// paramMap is the rendered value of each param by name.
func paramMap(p incident.Proposal) map[string]string {
	m := make(map[string]string, len(p.Params))
	for _, pr := range p.Params {
		m[pr.Name] = pr.Value
	}
	return m
}
