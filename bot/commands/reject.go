package commands

import (
	"context"
	"regexp"

	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/incident"
)

var rejectCommand = Command{
	Name:     "reject",
	Usage:    "reject PROPOSAL [INCIDENT] [REASON]",
	Summary:  "Reject a proposal; it will not run.",
	Examples: []string{"reject P2", "reject P1 restarting will not help, it is the disk"},
	pattern:  regexp.MustCompile(`(?s)^(?i:reject)\s+([Pp][0-9]+)(?:\s+(` + incidentRE + `))?(?:\s+(.+))?$`),
	run: func(ctx context.Context, b *Bot, c Call, g []string) (bot.Message, error) {
		return decideCommand(ctx, b, c, incident.Reject, g)
	},
}
