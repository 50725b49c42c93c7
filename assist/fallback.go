package assist

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/vigilops/vigil/incident"
)

// OwnBrief is Vigil's own brief of an incident, built from the facts without a
// model: what the thread shows when the assistant is off or its answer cannot
// be used. Its hypotheses are the top ranked candidates with the evidence their
// factors cite.
func OwnBrief(inc *incident.Incident) Brief {
	var s []string
	first := fmt.Sprintf("%s is %s", inc.Title, strings.ReplaceAll(string(inc.Status), "_", " "))
	var facts []string
	if inc.Severity != "" {
		facts = append(facts, "severity "+inc.Severity)
	}
	if len(inc.Services) > 0 {
		facts = append(facts, "services "+strings.Join(inc.Services, ", "))
	}
	if !inc.DetectedAt.IsZero() {
		facts = append(facts, "detected "+inc.DetectedAt.UTC().Format("2006-01-02 15:04 UTC"))
	}
	if len(facts) > 0 {
		first += " (" + strings.Join(facts, "; ") + ")"
	}
	s = append(s, first+".")

	const listed = 4
	var ev []string
	for _, e := range inc.Evidence[:min(listed, len(inc.Evidence))] {
		ev = append(ev, fmt.Sprintf("%s %s", e.ID, e.Summary))
	}
	switch n := len(inc.Evidence); {
	case n == 0:
		s = append(s, "There is no evidence yet.")
	case n > listed:
		s = append(s, fmt.Sprintf("Evidence: %s, and %d more.", strings.Join(ev, "; "), n-listed))
	default:
		s = append(s, fmt.Sprintf("Evidence: %s.", strings.Join(ev, "; ")))
	}

	if len(inc.Candidates) > 0 {
		c := inc.Candidates[0]
		s = append(s, fmt.Sprintf("The top root-cause candidate is %s (score %.2f): %s.", c.Component, c.Score, c.Reason))
	} else {
		s = append(s, "There is no root-cause candidate yet: the evidence names no component.")
	}

	var props []string
	for _, p := range inc.Proposals {
		props = append(props, fmt.Sprintf("%s %s (%s, risk %s)", p.ID, p.RunbookID, p.Status, cmp.Or(p.Risk, "unknown")))
	}
	if len(props) > 0 {
		s = append(s, "Proposed: "+strings.Join(props, ", ")+".")
	} else {
		s = append(s, "No runbook has been proposed yet.")
	}

	b := Brief{Summary: strings.Join(s, " "), Hypotheses: []Hypothesis{}, OpenQuestions: []string{}}
	for i, c := range inc.Candidates[:min(3, len(inc.Candidates))] {
		var cited []string
		for _, f := range c.Factors {
			for _, id := range f.Evidence {
				if !slices.Contains(cited, id) {
					cited = append(cited, id)
				}
			}
		}
		b.Hypotheses = append(b.Hypotheses, Hypothesis{
			Component: c.Component,
			Statement: fmt.Sprintf("Ranked #%d with score %.2f: %s.", i+1, c.Score, c.Reason),
			Evidence:  cited,
			Proposals: []string{},
		})
	}
	return b
}
