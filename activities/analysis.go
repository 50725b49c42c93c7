package activities

import (
	"context"
	"fmt"
	"strings"

	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/runbooks"
)

// ProposeInput asks for remediations for an incident.
type ProposeInput struct {
	Incident incident.Incident
	// Exclude lists runbook ids already proposed for this incident.
	Exclude []string
}

// ProposeRemediations matches the runbook library against the firing alerts, in
// evidence order, and renders each matching runbook (once per incident) against
// the first alert it renders cleanly for. A runbook that matches but whose
// parameters validate against none of its alerts is reported in the notes, never
// proposed with bad values.
func (a *Activities) ProposeRemediations(_ context.Context, in ProposeInput) (ProposeResult, error) {
	lib := a.Runbooks.Current()
	var res ProposeResult
	done := map[string]bool{}
	for _, id := range in.Exclude {
		done[id] = true
	}
	refused := map[string]string{} // runbook id -> first reason, until it renders
	var order []string
	for _, al := range in.Incident.Alerts {
		if al.Status != incident.AlertFiring {
			continue
		}
		for _, hit := range lib.Match(al.Labels) {
			rb := hit.Runbook
			if done[rb.ID] {
				continue
			}
			p, err := rb.Render(runbooks.Context{Labels: al.Labels, Annotations: al.Annotations, Incident: &in.Incident})
			if err != nil {
				if _, seen := refused[rb.ID]; !seen {
					refused[rb.ID] = fmt.Sprintf("%s matched %s but was not proposed: %v", rb.ID, al.EvidenceID, err)
					order = append(order, rb.ID)
				}
				continue
			}
			done[rb.ID] = true
			matched := make([]string, len(hit.Matched))
			for i, m := range hit.Matched {
				matched[i] = m.String()
			}
			p.Why = fmt.Sprintf("Matched %s on %s.", strings.Join(matched, ", "), al.EvidenceID)
			p.Allowed = rb.AllowedUsers(a.Groups)
			res.Proposals = append(res.Proposals, p)
		}
	}
	for _, id := range order {
		if !done[id] {
			res.Notes = append(res.Notes, refused[id])
		}
	}
	return res, nil
}

// ProposeResult holds new proposals (without ids; the workflow numbers them) and
// notes about runbooks that matched but could not be rendered.
type ProposeResult struct {
	Proposals []incident.Proposal
	Notes     []string
}
