package commands

import (
	"context"
	"regexp"
	"strings"

	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/workflows/contract"
)

var noteCommand = Command{
	Name:     "note",
	Usage:    "note [INCIDENT] TEXT",
	Summary:  "Add a note to the incident's timeline.",
	Examples: []string{"note customer reports started 02:50 UTC", "note incident-7-highlatency-checkout paged the payments team"},
	pattern:  regexp.MustCompile(`(?s)^(?i:note)(?:\s+(` + incidentRE + `))?\s+(.+)$`),
	run: func(ctx context.Context, b *Bot, c Call, g []string) (bot.Message, error) {
		id, err := incidentFor(c, g[1], b.prefix+"note incident-7-highlatency-checkout paged payments")
		if err != nil {
			return bot.Message{}, err
		}
		return handleAct(ctx, b.deps.Acter, id, contract.ActNote, contract.ActRequest{Actor: c.Actor, Text: strings.TrimSpace(g[2])})
	},
}
