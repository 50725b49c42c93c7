package commands

import (
	"context"
	"regexp"
	"strings"

	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/workflows/contract"
)

var approveCommand = Command{
	Name:     "approve",
	Usage:    "approve PROPOSAL [INCIDENT] [COMMENT]",
	Summary:  "Approve a proposal; its runbook runs once the runbook's approval policy is satisfied.",
	Examples: []string{"approve P1", "approve P1 disk is at 97%, go", "approve P2 incident-7-highlatency-checkout"},
	pattern:  regexp.MustCompile(`(?s)^(?i:approve)\s+([Pp][0-9]+)(?:\s+(` + incidentRE + `))?(?:\s+(.+))?$`),
	run: func(ctx context.Context, b *Bot, c Call, g []string) (bot.Message, error) {
		return decideCommand(ctx, b, c, incident.Approve, g)
	},
}

// decideCommand is the adapter approve and reject share.
func decideCommand(ctx context.Context, b *Bot, c Call, decision string, g []string) (bot.Message, error) {
	id, err := incidentFor(c, g[2], b.prefix+decision+" P1 incident-7-highlatency-checkout")
	if err != nil {
		return bot.Message{}, err
	}
	return handleDecide(ctx, b.deps.Decider, id, contract.DecideRequest{
		ProposalID: strings.ToUpper(g[1]), Decision: decision, Comment: strings.TrimSpace(g[3]), Actor: c.Actor,
	})
}

// handleDecide sends a decision; the workflow's validator enforces the policy and
// its refusal comes back as an error.
func handleDecide(ctx context.Context, d Decider, id string, req contract.DecideRequest) (bot.Message, error) {
	ans, err := d.Decide(ctx, id, req)
	if err != nil {
		return bot.Message{}, err
	}
	return bot.Reply(ans.Message, ""), nil
}
