// Package commands is Vigil's chat command language, the same on every surface:
// /vigil and @-mentions in Slack, and anything else that can carry a line of text
// and a verified identity.
//
// Each command lives in its own file: its help with examples, an anchored regexp
// that parses it, and a pure handle function that tests drive with fakes. A
// surface builds a Call from what it verified (who, which incident's thread) and
// what the person typed; the text can name a proposal or an incident but never
// the actor. Every reply is built by package bot's formatter.
package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"

	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/store"
	"github.com/vigilops/vigil/workflows/contract"
)

// Call is one command as a surface received it.
type Call struct {
	// Text is what the person typed after the command prefix, e.g. "approve P1".
	Text string
	// Actor is who sent it, as the surface verified it (signed request, session).
	Actor incident.Actor
	// IncidentID is the incident whose thread the command was sent in; empty
	// outside a thread. An incident id in Text overrides it.
	IncidentID string
}

// Incidents reads incidents from the store.
type Incidents interface {
	ListIncidents(ctx context.Context, f store.IncidentFilter) ([]incident.Incident, error)
	Incident(ctx context.Context, id string) (incident.Incident, error)
}

// AuditTrail reads an incident's audit records, oldest first.
type AuditTrail interface {
	AuditTrail(ctx context.Context, incidentID string) ([]audit.Record, error)
}

// Decider sends a decision on a proposal to the incident's workflow, which
// enforces the approval policy.
type Decider interface {
	Decide(ctx context.Context, incidentID string, req contract.DecideRequest) (contract.Answer, error)
}

// Acter sends a human act (one of the workflows.Act* names) to the incident's
// workflow.
type Acter interface {
	Act(ctx context.Context, incidentID, act string, req contract.ActRequest) (contract.Answer, error)
}

// Runner starts a manual run of a runbook for a service. The run is offered as a
// proposal under the runbook's approval policy like any other, so asking is not
// approving. It returns the incident that holds the proposal.
// Inputter answers input params of proposals waiting for them.
type Inputter interface {
	Input(ctx context.Context, incidentID string, req contract.InputRequest) (contract.Answer, error)
}

// Runner asks for a manual run.
type Runner interface {
	RequestRun(ctx context.Context, runbookID, service string, actor incident.Actor) (incidentID string, err error)
}

// RunnerFunc adapts a function to Runner.
type RunnerFunc func(ctx context.Context, runbookID, service string, actor incident.Actor) (string, error)

// RequestRun implements Runner.
func (f RunnerFunc) RequestRun(ctx context.Context, runbookID, service string, actor incident.Actor) (string, error) {
	return f(ctx, runbookID, service, actor)
}

// Asker answers a question about an incident from its evidence and timeline,
// with citations. The answer is a message and nothing else: asking can change
// nothing about the incident.
type Asker interface {
	Ask(ctx context.Context, inc incident.Incident, question string, actor incident.Actor) (bot.Message, error)
}

// Deps are what commands use. Runner may be nil: run then says manual runs are
// not available; so may Asker, and ask and why say questions are not.
type Deps struct {
	Incidents Incidents
	Audit     AuditTrail
	Decider   Decider
	Acter     Acter
	Runner    Runner
	Inputs    Inputter
	Asker     Asker
	Silencer  Silencer // nil: silences only through the API
}

// Command is one chat command.
type Command struct {
	Name     string
	Usage    string
	Summary  string
	Examples []string
	// pattern parses the whole command text; it is anchored at both ends.
	pattern *regexp.Regexp
	// run adapts the parsed groups to the command's handle function.
	run func(ctx context.Context, b *Bot, c Call, groups []string) (bot.Message, error)
}

// Bot answers commands.
type Bot struct {
	deps   Deps
	prefix string
	cmds   []*Command
	logger *slog.Logger
}

// New returns a Bot. prefix is how people invoke Vigil on the surface ("/vigil ")
// and is shown in help and usage replies.
func New(deps Deps, prefix string, logger *slog.Logger) *Bot {
	return &Bot{deps: deps, prefix: prefix, logger: logger, cmds: []*Command{
		&helpCommand, &listCommand, &showCommand, &ackCommand, &approveCommand, &rejectCommand,
		&resolveCommand, &escalateCommand, &noteCommand, &runCommand, &inputCommand, &timelineCommand,
		&askCommand, &whyCommand, &silenceCommand, &silencesCommand, &unsilenceCommand,
	}}
}

// Handle answers one command. It never fails: problems become replies that say
// what went wrong and what to type instead.
func (b *Bot) Handle(ctx context.Context, c Call) bot.Message {
	text := strings.TrimSpace(c.Text)
	if text == "" {
		text = "help"
	}
	verb := strings.Fields(text)[0]
	for _, cmd := range b.cmds {
		if !strings.EqualFold(verb, cmd.Name) {
			continue
		}
		groups := cmd.pattern.FindStringSubmatch(text)
		if groups == nil {
			return bot.Reply("Usage: "+b.prefix+cmd.Usage, cmd.Summary+"\nFor example: "+b.prefix+cmd.Examples[0])
		}
		m, err := cmd.run(ctx, b, c, groups)
		if err != nil {
			return b.failed(c, cmd.Name, err)
		}
		return m
	}
	return bot.Reply(fmt.Sprintf("I do not know %q", verb), "Type "+b.prefix+"help for the commands and examples.")
}

// Press answers a button press: action is a bot.Action ID from a message of
// incidentID's thread, "approve:P1" or "reject:P1", optionally followed by
// ":PLANHASH", the plan the button was shown with.
func (b *Bot) Press(ctx context.Context, incidentID, action string, actor incident.Actor) bot.Message {
	p, err := bot.ParseAction(action)
	if err != nil {
		return bot.Reply("Unknown button", err.Error()+"; nothing was done.")
	}
	ans, err := Apply(ctx, b.deps.Decider, b.deps.Acter, incidentID, p, "", actor)
	if err != nil {
		return b.failed(Call{Actor: actor, IncidentID: incidentID}, p.Verb, err)
	}
	return bot.Reply(ans.Message, "")
}

// Apply carries out a button press for actor: a decision on a proposal or on a
// gate of a run, or a choice for an interrupted step. Every surface's buttons go
// through here, so they all mean the same thing.
func Apply(ctx context.Context, d Decider, a Acter, incidentID string, p bot.Press, comment string, actor incident.Actor) (contract.Answer, error) {
	switch p.Verb {
	case bot.VerbRerun, bot.VerbMarkDone:
		choice := contract.ChoiceRerun
		if p.Verb == bot.VerbMarkDone {
			choice = contract.ChoiceMarkDone
		}
		return a.Act(ctx, incidentID, contract.ActStep, contract.ActRequest{
			Actor: actor, RunID: p.RunID, StepID: p.StepID, Choice: choice, Text: comment,
		})
	default:
		return d.Decide(ctx, incidentID, contract.DecideRequest{
			ProposalID: p.ProposalID, RunID: p.RunID, StepID: p.StepID, Decision: p.Verb,
			PlanHash: p.PlanHash, Comment: comment, Actor: actor,
		})
	}
}

// failed turns an error into a reply: refusals and unknown incidents are the
// person's to fix; anything else is logged and reported as Vigil's fault.
func (b *Bot) failed(c Call, cmd string, err error) bot.Message {
	var refusal *contract.Refusal
	var usage *usageError
	switch {
	case errors.As(err, &refusal):
		return bot.Refused(refusal.Message)
	case errors.As(err, &usage):
		return bot.Reply(usage.title, usage.text)
	case errors.Is(err, contract.ErrIncidentClosed):
		return bot.Refused("The incident is closed; it takes no more commands.")
	case errors.Is(err, store.ErrNotFound):
		return bot.Reply("Not found", err.Error())
	default:
		b.logger.Error("command failed", "command", cmd, "incident", c.IncidentID, "user", c.Actor.User, "err", err)
		return bot.Reply("Something went wrong", "Vigil could not do that; see its log. Nothing you typed was lost: try again.")
	}
}

// usageError is a mistake in how a command was used, answered as is.
type usageError struct{ title, text string }

func (e *usageError) Error() string { return e.title + ": " + e.text }

// incidentRE matches incident ids (incident.NewID) given in command text.
const incidentRE = `incident-[0-9]+(?:-[a-z0-9-]+)?`

// incidentFor picks the incident a command acts on: the one named in the text,
// else the thread's.
func incidentFor(c Call, named, example string) (string, error) {
	if named != "" {
		return named, nil
	}
	if c.IncidentID != "" {
		return c.IncidentID, nil
	}
	return "", &usageError{"Which incident?", "Send this in the incident's thread, or name the incident, e.g. " + example}
}
