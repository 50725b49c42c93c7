package commands

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/workflows/contract"
)

var inputCommand = Command{
	Name:    "input",
	Usage:   "input [INCIDENT] PROPOSAL NAME=VALUE [NAME=VALUE…]",
	Summary: "Answer a proposal's input params; it is planned for approval once all are answered.",
	Examples: []string{"input P2 replicas=6",
		`input incident-7-highlatency-checkout P3 target=db-2 reason="replica lag"`},
	pattern: regexp.MustCompile(`(?s)^(?i:input)(?:\s+(` + incidentRE + `))?\s+(P[0-9]+)\s+(.+)$`),
	run: func(ctx context.Context, b *Bot, c Call, g []string) (bot.Message, error) {
		id, err := incidentFor(c, g[1], b.prefix+"input incident-7-highlatency-checkout P2 replicas=6")
		if err != nil {
			return bot.Message{}, err
		}
		answers, err := parseAnswers(g[3])
		if err != nil {
			return bot.Message{}, &usageError{"Not understood", err.Error() + `. Write NAME=VALUE pairs, quoting values with spaces: ` + b.prefix + `input P3 reason="replica lag"`}
		}
		if b.deps.Inputs == nil {
			return bot.Reply("Inputs are not available", "This Vigil takes no input answers."), nil
		}
		ans, err := b.deps.Inputs.Input(ctx, id, contract.InputRequest{ProposalID: g[2], Answers: answers, Actor: c.Actor})
		if err != nil {
			return bot.Message{}, err
		}
		return bot.Reply(ans.Message, ""), nil
	},
}

// parseAnswers reads NAME=VALUE pairs; a value may be double-quoted to hold
// spaces (with \" for a quote).
func parseAnswers(s string) (map[string]string, error) {
	out := map[string]string{}
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		name, rest, ok := strings.Cut(s, "=")
		if !ok || name == "" || strings.ContainsAny(name, " \t\"") {
			return nil, fmt.Errorf("%q is not NAME=VALUE", strings.Fields(s)[0])
		}
		var v string
		if strings.HasPrefix(rest, `"`) {
			end := 1
			for ; end < len(rest) && (rest[end] != '"' || rest[end-1] == '\\'); end++ {
			}
			if end >= len(rest) {
				return nil, fmt.Errorf("the value of %s has no closing quote", name)
			}
			v, s = strings.ReplaceAll(rest[1:end], `\"`, `"`), rest[end+1:]
		} else {
			v, s, _ = strings.Cut(rest, " ")
		}
		if v == "" {
			return nil, fmt.Errorf("%s has no value", name)
		}
		out[name] = v
	}
	return out, nil
}
