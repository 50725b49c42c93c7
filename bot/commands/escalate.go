package commands

import (
	"context"
	"regexp"
	"strings"

	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/workflows/contract"
)

var escalateCommand = Command{
	Name:     "escalate",
	Usage:    "escalate [INCIDENT] REASON",
	Summary:  "Call in the escalation group now. Say why.",
	Examples: []string{"escalate need a DBA, replication is broken"},
	pattern:  regexp.MustCompile(`(?s)^(?i:escalate)(?:\s+(` + incidentRE + `))?\s+(.+)$`),
	run: func(ctx context.Context, b *Bot, c Call, g []string) (bot.Message, error) {
		id, err := incidentFor(c, g[1], b.prefix+"escalate incident-7-highlatency-checkout need a DBA")
		if err != nil {
			return bot.Message{}, err
		}
		return handleAct(ctx, b.deps.Acter, id, contract.ActEscalate, contract.ActRequest{Actor: c.Actor, Text: strings.TrimSpace(g[2])})
	},
}
