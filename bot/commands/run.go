package commands

import (
	"context"
	"fmt"
	"regexp"

	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/incident"
)

var runCommand = Command{
	Name:     "run",
	Usage:    "run RUNBOOK for SERVICE",
	Summary:  "Ask for a runbook to run for a service. It is proposed under the runbook's approval policy, like any other proposal: asking is not approving.",
	Examples: []string{"run collect-diagnostics for checkout"},
	pattern:  regexp.MustCompile(`^(?i:run)\s+([a-z0-9][a-z0-9-]*)\s+(?i:for)\s+([A-Za-z0-9][A-Za-z0-9._-]*)$`),
	run: func(ctx context.Context, b *Bot, c Call, g []string) (bot.Message, error) {
		return handleRun(ctx, b.deps.Runner, g[1], g[2], c.Actor)
	},
}

func handleRun(ctx context.Context, r Runner, runbookID, service string, actor incident.Actor) (bot.Message, error) {
	if r == nil {
		return bot.Reply("Manual runs are not available", "This Vigil has no manual-run service configured; nothing was started."), nil
	}
	id, err := r.RequestRun(ctx, runbookID, service, actor)
	if err != nil {
		return bot.Message{}, err
	}
	return bot.Reply(fmt.Sprintf("Requested %s for %s", runbookID, service),
		fmt.Sprintf("Incident %s holds the proposal; it runs once its approvers approve it.", id)), nil
}
