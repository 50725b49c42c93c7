package workflows

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/workflows/contract"

	"go.temporal.io/sdk/workflow"

	"github.com/vigilops/vigil/incident"
)

// validateInput checks answers to a proposal's input params before they are
// accepted: the proposal waits for input, the actor may act on it (its
// approvers), and every answer names an open question and fits its type.
func (r *incidentRun) validateInput(req contract.InputRequest) error {
	inc := r.inc()
	if !inc.ResolvedAt.IsZero() {
		return refuse(contract.RefusedConflict, "incident %s is resolved", inc.ID)
	}
	p := inc.Proposal(req.ProposalID)
	switch {
	case p == nil:
		return refuse(contract.RefusedNotFound, "incident %s has no proposal %q", inc.ID, req.ProposalID)
	case p.Status != incident.ProposalNeedsInput:
		return refuse(contract.RefusedConflict, "%s (%s) is %s and takes no input", p.ID, p.RunbookID, p.Status)
	case len(req.Answers) == 0:
		return refuse(contract.RefusedBadRequest, "no answers given; %s needs %s", p.ID, openQuestions(p))
	}
	if err := CheckActor(p, req.Actor); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(req.Answers)) {
		i := slices.IndexFunc(p.Inputs, func(q incident.Input) bool { return q.Name == name })
		if i < 0 {
			return refuse(contract.RefusedBadRequest, "%s has no input %q (it asks for %s)", p.ID, name, openQuestions(p))
		}
		if err := checkAnswer(p.Inputs[i], req.Answers[name]); err != nil {
			return refuse(contract.RefusedBadRequest, "%s: %v", name, err)
		}
	}
	return nil
}

// checkAnswer checks one answer against its param's type, choices and pattern.
func checkAnswer(q incident.Input, v string) error {
	if v == "" {
		return fmt.Errorf("the answer is empty")
	}
	var err error
	switch q.Type {
	case "int":
		_, err = strconv.Atoi(v)
	case "bool":
		_, err = strconv.ParseBool(v)
	case "duration":
		_, err = time.ParseDuration(v)
	case "enum":
		if !slices.Contains(q.Values, v) {
			err = fmt.Errorf("must be one of %s", strings.Join(q.Values, ", "))
		}
	}
	if err != nil {
		return fmt.Errorf("%q is not a valid %s: %v", v, q.Type, err)
	}
	if q.Pattern != "" {
		// The pattern must stand alone before it is anchored: "a)|(b" would
		// otherwise anchor as "^(?:a)|(b)$" and accept anything starting with a.
		_, err := regexp.Compile(q.Pattern)
		var re *regexp.Regexp
		if err == nil {
			re, err = regexp.Compile("^(?:" + q.Pattern + ")$")
		}
		if err != nil || !re.MatchString(v) {
			return fmt.Errorf("%q does not match the pattern %s", v, q.Pattern)
		}
	}
	return nil
}

// input records accepted answers; once every question is answered the main loop
// renders the proposal and offers it.
func (r *incidentRun) input(ctx workflow.Context, req contract.InputRequest) (contract.Answer, error) {
	ctx = withActivityDefaults(ctx)
	inc := r.inc()
	p := inc.Proposal(req.ProposalID)
	if err := r.audit(ctx, auditActor(req.Actor), audit.Input{
		Proposal: p.ID, Runbook: p.RunbookID, Answers: req.Answers, Actor: req.Actor,
	}); err != nil {
		return contract.Answer{}, err
	}
	for i := range p.Inputs {
		if v, ok := req.Answers[p.Inputs[i].Name]; ok {
			p.Inputs[i].Answer = v
		}
	}
	if open := openQuestions(p); open != "" {
		return contract.Answer{Message: fmt.Sprintf("Thanks, %s. %s still needs %s.", req.Actor.Name(), p.ID, open)}, nil
	}
	r.reanalyze = true
	return contract.Answer{Message: fmt.Sprintf("Thanks, %s. %s has every answer it needs; its plan is being rendered for approval.", req.Actor.Name(), p.ID)}, nil
}

// openQuestions names the inputs still unanswered, or "" when none are.
func openQuestions(p *incident.Proposal) string {
	var names []string
	for _, q := range p.Inputs {
		if q.Answer == "" {
			names = append(names, q.Name)
		}
	}
	return strings.Join(names, ", ")
}
