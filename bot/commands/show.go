package commands

import (
	"context"
	"regexp"

	"github.com/vigilops/vigil/bot"
)

var showCommand = Command{
	Name:     "show",
	Usage:    "show [INCIDENT]",
	Summary:  "Show an incident: status, services, and its proposals with their approvers.",
	Examples: []string{"show", "show incident-7-highlatency-checkout"},
	pattern:  regexp.MustCompile(`^(?i:show)(?:\s+(` + incidentRE + `))?$`),
	run: func(ctx context.Context, b *Bot, c Call, g []string) (bot.Message, error) {
		id, err := incidentFor(c, g[1], b.prefix+"show incident-7-highlatency-checkout")
		if err != nil {
			return bot.Message{}, err
		}
		return handleShow(ctx, b.deps.Incidents, id)
	},
}

func handleShow(ctx context.Context, incs Incidents, id string) (bot.Message, error) {
	inc, err := incs.Incident(ctx, id)
	if err != nil {
		return bot.Message{}, err
	}
	return bot.Show(&inc), nil
}
