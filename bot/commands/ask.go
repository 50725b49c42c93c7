package commands

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/incident"
)

// maxQuestionChars caps a question: a question is a sentence or two, and every
// character of it is sent to the model and counted against the incident's
// token budget.
const maxQuestionChars = 1000

var askCommand = Command{
	Name:    "ask",
	Usage:   "ask [INCIDENT] QUESTION",
	Summary: "Ask the investigation assistant about the incident. It answers from the incident's evidence and timeline only, cites them, and can change nothing.",
	Examples: []string{
		"ask what changed just before the latency rose?",
		"ask incident-7-highlatency-checkout is the database involved?",
	},
	pattern: regexp.MustCompile(`(?s)^(?i:ask)(?:\s+(` + incidentRE + `))?\s+(.+)$`),
	run: func(ctx context.Context, b *Bot, c Call, g []string) (bot.Message, error) {
		id, err := incidentFor(c, g[1], b.prefix+"ask incident-7-highlatency-checkout is the database involved?")
		if err != nil {
			return bot.Message{}, err
		}
		return handleAsk(ctx, b.deps.Incidents, b.deps.Asker, id, strings.TrimSpace(g[2]), c.Actor)
	},
}

// whyCommand lets people ask as they would a colleague: "@vigil why is
// checkout slow?". The whole text, "why" included, is the question.
var whyCommand = Command{
	Name:     "why",
	Usage:    "why QUESTION",
	Summary:  "In an incident's thread, ask the investigation assistant a why-question; the same as ask.",
	Examples: []string{"why is checkout slow?", "why was P1 proposed?"},
	pattern:  regexp.MustCompile(`(?s)^(?i:why)\s+\S.*$`),
	run: func(ctx context.Context, b *Bot, c Call, g []string) (bot.Message, error) {
		id, err := incidentFor(c, "", b.prefix+"ask incident-7-highlatency-checkout why is checkout slow?")
		if err != nil {
			return bot.Message{}, err
		}
		return handleAsk(ctx, b.deps.Incidents, b.deps.Asker, id, strings.TrimSpace(g[0]), c.Actor)
	},
}

func handleAsk(ctx context.Context, incs Incidents, asker Asker, id, question string, actor incident.Actor) (bot.Message, error) {
	if asker == nil {
		return bot.Reply("Questions are not available", "This Vigil runs without its investigation assistant."), nil
	}
	if n := utf8.RuneCountInString(question); n > maxQuestionChars {
		return bot.Message{}, &usageError{"Question too long", fmt.Sprintf("Ask in at most %d characters (this one has %d).", maxQuestionChars, n)}
	}
	inc, err := incs.Incident(ctx, id)
	if err != nil {
		return bot.Message{}, err
	}
	return asker.Ask(ctx, inc, question, actor)
}
