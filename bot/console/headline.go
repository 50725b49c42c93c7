package console

import (
	"strings"

	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/incident"
)

// headline is what the page adds to the thread's root message, so that a
// reader woken at 3 a.m. sees at once what is wrong and what to do: the
// likely cause with its strongest factor, and the one recommended action with
// its buttons.
type headline struct {
	Cause  *incident.Candidate
	Factor incident.Factor // Cause's factor with the largest weight × value
	// Next is the recommended action: the first proposal still waiting for a
	// decision (proposals are numbered best first). Nil when none waits.
	Next *ProposalView
	// Actions are Next's buttons, exactly as its own thread message has them.
	Actions []bot.Action
	// Busy is the proposal running or approved but not started, when one is.
	Busy *ProposalView
}

// headlineOf picks the headline from the incident's candidates and proposals.
func headlineOf(v IncidentView) headline {
	var h headline
	if len(v.Candidates) > 0 {
		h.Cause = &v.Candidates[0]
		for _, f := range h.Cause.Factors {
			if f.Weight*f.Value > h.Factor.Weight*h.Factor.Value {
				h.Factor = f
			}
		}
	}
	for i := range v.Proposals {
		p := &v.Proposals[i]
		switch p.Status {
		case incident.ProposalPending:
			if h.Next == nil {
				h.Next = p
				h.Actions = bot.Proposal(&p.Proposal, v.Decisions...).Actions
			}
		case incident.ProposalApproved, incident.ProposalRunning:
			if h.Busy == nil {
				h.Busy = p
			}
		}
	}
	return h
}

// decided reports whether a thread message is a proposal that is no longer
// waiting for anyone, which the page shows folded.
func decided(v IncidentView, key string) bool {
	id, ok := strings.CutPrefix(key, "proposal-")
	if !ok {
		return false
	}
	for _, p := range v.Proposals {
		if p.ID == id {
			return p.Status != incident.ProposalPending && p.Status != incident.ProposalNeedsInput
		}
	}
	return false
}
