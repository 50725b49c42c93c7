package console

import (
	"testing"

	"github.com/vigilops/vigil/incident"
)

func TestHeadline(t *testing.T) {
	cands := []incident.Candidate{
		{Component: "payments", Score: 0.9, Factors: []incident.Factor{
			{Name: "anomaly", Weight: 0.3, Value: 0.5}, {Name: "change", Weight: 0.2, Value: 1}, {Name: "graph", Weight: 0.4, Value: 0.6}}},
		{Component: "checkout", Score: 0.3},
	}
	prop := func(id string, s incident.ProposalStatus) ProposalView {
		return ProposalView{Proposal: incident.Proposal{ID: id, RunbookID: "rb-" + id, Status: s, PlanHash: "h" + id}}
	}
	tests := []struct {
		name        string
		cands       []incident.Candidate
		props       []ProposalView
		cause       string
		factor      string
		next, busy  string
		approveWith string
	}{
		{name: "nothing yet"},
		{name: "cause and the first pending proposal", cands: cands,
			props: []ProposalView{prop("P1", incident.ProposalPending), prop("P2", incident.ProposalPending)},
			cause: "payments", factor: "graph", next: "P1", approveWith: "approve:P1:hP1"},
		{name: "a rejected first proposal leaves the next", cands: cands,
			props: []ProposalView{prop("P1", incident.ProposalRejected), prop("P2", incident.ProposalPending)},
			cause: "payments", factor: "graph", next: "P2", approveWith: "approve:P2:hP2"},
		{name: "a running proposal, nothing to decide", cands: cands,
			props: []ProposalView{prop("P1", incident.ProposalRunning), prop("P2", incident.ProposalRejected)},
			cause: "payments", factor: "graph", busy: "P1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := IncidentView{Incident: incident.Incident{Candidates: tt.cands}, Proposals: tt.props}
			h := headlineOf(v)
			if got := name(h.Cause, func(c *incident.Candidate) string { return c.Component }); got != tt.cause {
				t.Errorf("cause = %q, want %q", got, tt.cause)
			}
			if h.Factor.Name != tt.factor {
				t.Errorf("factor = %q, want %q", h.Factor.Name, tt.factor)
			}
			if got := name(h.Next, func(p *ProposalView) string { return p.ID }); got != tt.next {
				t.Errorf("next = %q, want %q", got, tt.next)
			}
			if got := name(h.Busy, func(p *ProposalView) string { return p.ID }); got != tt.busy {
				t.Errorf("busy = %q, want %q", got, tt.busy)
			}
			approve := ""
			if len(h.Actions) > 0 {
				approve = h.Actions[0].ID
			}
			if approve != tt.approveWith {
				t.Errorf("approve button = %q, want %q", approve, tt.approveWith)
			}
		})
	}
}

func name[T any](v *T, f func(*T) string) string {
	if v == nil {
		return ""
	}
	return f(v)
}

func TestDecidedProposalsFold(t *testing.T) {
	v := IncidentView{Proposals: []ProposalView{
		{Proposal: incident.Proposal{ID: "P1", Status: incident.ProposalSucceeded}},
		{Proposal: incident.Proposal{ID: "P2", Status: incident.ProposalPending}},
		{Proposal: incident.Proposal{ID: "P3", Status: incident.ProposalNeedsInput}},
		{Proposal: incident.Proposal{ID: "P4", Status: incident.ProposalRejected}},
	}}
	for key, want := range map[string]bool{"proposal-P1": true, "proposal-P2": false, "proposal-P3": false,
		"proposal-P4": true, "proposal-P9": false, "summary": false, "evidence-E1": false} {
		if got := decided(v, key); got != want {
			t.Errorf("decided(%s) = %v, want %v", key, got, want)
		}
	}
}
