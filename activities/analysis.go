package activities

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/runbooks"
)

// ProposeInput asks for remediations for an incident.
type ProposeInput struct {
	Incident incident.Incident
	// Exclude lists runbook ids already decided for this incident; they are not
	// proposed again.
	Exclude []string
	// Requests are runbooks a human asked for by name (manual runs): they are
	// rendered whether or not their matchers match, and the proposal records who
	// asked, so the self-approval rule applies.
	Requests []RunRequest
	// Inputs holds answers to runbooks' input params, by runbook id.
	Inputs map[string]map[string]string
}

// RunRequest is a human's request to run a runbook for a service.
type RunRequest struct {
	RunbookID   string
	Labels      map[string]string // at least service
	RequestedBy string
	EvidenceID  string // the evidence recording the request
}

// ProposeResult holds new proposals (without ids; the workflow numbers them),
// runbooks waiting for input answers, and notes about runbooks that matched but
// could not be rendered.
type ProposeResult struct {
	Proposals []incident.Proposal
	// NeedsInput are proposals that cannot be rendered until a human answers
	// their Inputs; they carry everything but the steps.
	NeedsInput []incident.Proposal
	Notes      []string
}

// source is something runbooks are matched against: a firing alert or a signal.
type source struct {
	evidence    string
	labels      map[string]string
	annotations map[string]string
	request     RunRequest // set for a human's request
}

// ProposeRemediations matches the runbook library against the incident's firing
// alerts and signal evidence, in evidence order, and renders each matching
// runbook (once per incident) against the first source it renders cleanly for.
// Requested runbooks are rendered regardless of their matchers. A runbook that
// needs input params answered is returned in NeedsInput; one whose parameters
// validate against none of its sources is reported in the notes, never proposed
// with bad values.
//
// Proposals are ranked by how specifically their matchers match, then by their
// past outcomes on the service; Why and History say both.
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
	// render renders rb for src and files the outcome: a proposal, a proposal
	// waiting for input, or a refusal note.
	render := func(rb *runbooks.Runbook, src source, specificity int, why string) error {
		p, err := rb.Render(runbooks.Context{Labels: src.labels, Annotations: src.annotations, Incident: &in.Incident,
			Directory: dir, Inputs: in.Inputs[rb.ID]})
		service := cmp.Or(src.labels["service"], first(in.Incident.Services))
		var need *runbooks.NeedsInputError
		switch {
		case errors.As(err, &need):
			done[rb.ID] = true
			p := rb.Policy(dir)
			p.Service, p.Why, p.Inputs = service, why+".", inputs(need, in.Inputs[rb.ID])
			p.RequestedBy, p.Request = src.request.RequestedBy, src.request.EvidenceID
			res.NeedsInput = append(res.NeedsInput, p)
			return nil
		case err != nil:
			if _, seen := refused[rb.ID]; !seen {
				refused[rb.ID] = fmt.Sprintf("%s matched %s but was not proposed: %v", rb.ID, src.evidence, err)
				order = append(order, rb.ID)
			}
			return nil
		}
		done[rb.ID] = true
		score, hist, err := a.history(ctx, rb.ID, service)
		if err != nil {
			return fmt.Errorf("history of runbook %s: %w", rb.ID, err)
		}
		p.Service, p.RequestedBy, p.Request, p.Why = service, src.request.RequestedBy, src.request.EvidenceID, why
		if hist != "" {
			p.Why += "; " + hist
			p.History = hist
		}
		p.Why += "."
		found = append(found, ranked{p: p, specificity: specificity, score: score})
		return nil
	}
	// Requests are explicit: rendered even for a runbook decided before (a run
	// requested again), and they keep the same runbook from being matched too.
	for _, req := range in.Requests {
		rb := lib.Get(req.RunbookID)
		if rb == nil {
			res.Notes = append(res.Notes, fmt.Sprintf("runbook %q requested on %s is not in the library; nothing was proposed", req.RunbookID, req.EvidenceID))
			continue
		}
		why := fmt.Sprintf("Requested by %s for %s on %s", req.RequestedBy, req.Labels["service"], req.EvidenceID)
		if err := render(rb, source{evidence: req.EvidenceID, labels: req.Labels, request: req}, 0, why); err != nil {
			return res, err
		}
	}
	for _, src := range sources(in.Incident) {
		for _, hit := range lib.Match(src.labels) {
			if done[hit.Runbook.ID] {
				continue
			}
			matched := make([]string, len(hit.Matched))
			for i, m := range hit.Matched {
				matched[i] = m.String()
			}
			why := fmt.Sprintf("Matched %s on %s", strings.Join(matched, ", "), src.evidence)
			if err := render(hit.Runbook, src, hit.Specificity, why); err != nil {
				return res, err
			}
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

// sources are what runbooks match: firing alerts, then signal evidence (an
// anomaly or prediction carries its series' labels), in evidence order.
func sources(inc incident.Incident) []source {
	var out []source
	for _, al := range inc.Alerts {
		if al.Status == incident.AlertFiring {
			out = append(out, source{evidence: al.EvidenceID, labels: al.Labels, annotations: al.Annotations})
		}
	}
	for _, ev := range inc.Evidence {
		switch ev.Kind {
		case incident.KindMetricAnomaly, incident.KindLogAnomaly, incident.KindPredicted:
			out = append(out, source{evidence: ev.ID, labels: ev.Data})
		}
	}
	return out
}

// inputs turns a runbook's unanswered input params into questions, keeping the
// answers given so far.
func inputs(need *runbooks.NeedsInputError, answers map[string]string) []incident.Input {
	out := make([]incident.Input, len(need.Params))
	for i, p := range need.Params {
		out[i] = incident.Input{Name: p.Name, Type: p.Type, Pattern: p.Pattern, Values: p.Values, Prompt: p.Prompt, Answer: answers[p.Name]}
	}
	return out
}

func first(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[0]
}
