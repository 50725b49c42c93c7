package activities

import (
	"cmp"
	"context"
	"fmt"
	"slices"
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
// parameters validate against none of its alerts, or that needs input params
// answered first, is reported in the notes, never proposed with bad values.
//
// Proposals are ranked by how specifically their matchers match, then by their
// past outcomes on the alert's service; Why and History say both.
func (a *Activities) ProposeRemediations(ctx context.Context, in ProposeInput) (ProposeResult, error) {
	lib := a.Runbooks.Current()
	dir := lib.Directory
	if a.Groups != nil {
		dir.Groups = a.Groups
	}
	var res ProposeResult
	done := map[string]bool{}
	for _, id := range in.Exclude {
		done[id] = true
	}
	refused := map[string]string{} // runbook id -> first reason, until it renders
	var order []string
	type ranked struct {
		p           incident.Proposal
		specificity int
		score       float64
	}
	var found []ranked
	for _, al := range in.Incident.Alerts {
		if al.Status != incident.AlertFiring {
			continue
		}
		for _, hit := range lib.Match(al.Labels) {
			rb := hit.Runbook
			if done[rb.ID] {
				continue
			}
			p, err := rb.Render(runbooks.Context{Labels: al.Labels, Annotations: al.Annotations, Incident: &in.Incident, Directory: dir})
			if err != nil {
				if _, seen := refused[rb.ID]; !seen {
					refused[rb.ID] = fmt.Sprintf("%s matched %s but was not proposed: %v", rb.ID, al.EvidenceID, err)
					order = append(order, rb.ID)
				}
				continue
			}
			done[rb.ID] = true
			service := al.Labels["service"]
			if service == "" && len(in.Incident.Services) > 0 {
				service = in.Incident.Services[0]
			}
			score, hist, err := a.history(ctx, rb.ID, service)
			if err != nil {
				return res, fmt.Errorf("history of runbook %s: %w", rb.ID, err)
			}
			matched := make([]string, len(hit.Matched))
			for i, m := range hit.Matched {
				matched[i] = m.String()
			}
			p.Why = fmt.Sprintf("Matched %s on %s", strings.Join(matched, ", "), al.EvidenceID)
			if hist != "" {
				p.Why += "; " + hist
				p.History = hist
			}
			p.Why += "."
			found = append(found, ranked{p: p, specificity: hit.Specificity, score: score})
		}
	}
	slices.SortStableFunc(found, func(x, y ranked) int {
		return cmp.Or(cmp.Compare(y.specificity, x.specificity), cmp.Compare(y.score, x.score))
	})
	for _, f := range found {
		res.Proposals = append(res.Proposals, f.p)
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
