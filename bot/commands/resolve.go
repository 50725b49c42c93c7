package commands

import (
	"context"
	"regexp"
	"strings"

	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/workflows/contract"
)

var resolveCommand = Command{
	Name:     "resolve",
	Usage:    "resolve [INCIDENT] REASON",
	Summary:  "Resolve the incident by hand; pending proposals are withdrawn. Say why.",
	Examples: []string{"resolve rolled back the deploy by hand", "resolve incident-7-highlatency-checkout false alarm"},
	pattern:  regexp.MustCompile(`(?s)^(?i:resolve)(?:\s+(` + incidentRE + `))?\s+(.+)$`),
	run: func(ctx context.Context, b *Bot, c Call, g []string) (bot.Message, error) {
		id, err := incidentFor(c, g[1], b.prefix+"resolve incident-7-highlatency-checkout false alarm")
		if err != nil {
			return bot.Message{}, err
		}
		return handleAct(ctx, b.deps.Acter, id, contract.ActResolve, contract.ActRequest{Actor: c.Actor, Text: strings.TrimSpace(g[2])})
	},
}
