package activities

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/runbooks"
)

// RankInput is the incident whose causes to rank.
type RankInput struct {
	Incident incident.Incident
}

// severityWeight orders Alertmanager's conventional severities.
var severityWeight = map[string]float64{"critical": 1, "error": 0.8, "warning": 0.5, "info": 0.2}

// RankCauses ranks the components named by the incident's alerts (the service label,
// else the instance) by two explained factors: onset order (the component whose
// alert fired first scores 1, the last 0) and the worst severity it alerts with.
func (a *Activities) RankCauses(_ context.Context, in RankInput) ([]incident.Candidate, error) {
	type comp struct {
		first    int // index of its earliest alert in onset order
		severity float64
		evidence []string
	}
	alerts := slices.Clone(in.Incident.Alerts)
	slices.SortStableFunc(alerts, func(x, y incident.Alert) int { return x.StartsAt.Compare(y.StartsAt) })
	comps := map[string]*comp{}
	for i, al := range alerts {
		name := cmp.Or(al.Labels["service"], al.Labels["instance"], al.Labels["job"])
		if name == "" {
			continue
		}
		c := comps[name]
		if c == nil {
			c = &comp{first: i}
			comps[name] = c
		}
		c.severity = max(c.severity, severityWeight[al.Labels["severity"]])
		c.evidence = append(c.evidence, al.EvidenceID)
	}
	const wOnset, wSeverity = 0.6, 0.4
	var out []incident.Candidate
	for _, name := range slices.Sorted(maps.Keys(comps)) {
		c := comps[name]
		onset := 1.0
		if len(alerts) > 1 {
			onset = 1 - float64(c.first)/float64(len(alerts)-1)
		}
		reason := fmt.Sprintf("alerting in %s", strings.Join(c.evidence, ", "))
		if c.first == 0 {
			reason = "first to alert; " + reason
		}
		out = append(out, incident.Candidate{
			Component: name,
			Score:     wOnset*onset + wSeverity*c.severity,
			Reason:    reason,
			Factors: []incident.Factor{
				{Name: "onset order", Weight: wOnset, Value: onset, Evidence: c.evidence[:1]},
				{Name: "severity", Weight: wSeverity, Value: c.severity, Evidence: c.evidence},
			},
		})
	}
	slices.SortStableFunc(out, func(x, y incident.Candidate) int { return cmp.Compare(y.Score, x.Score) })
	return out, nil
}

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
