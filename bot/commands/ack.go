package commands

import (
	"context"
	"regexp"

	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/workflows/contract"
)

var ackCommand = Command{
	Name:     "ack",
	Usage:    "ack [INCIDENT]",
	Summary:  "Take the incident: you are on it, and the no-acknowledgement escalation stops.",
	Examples: []string{"ack", "ack incident-7-highlatency-checkout"},
	pattern:  regexp.MustCompile(`^(?i:ack)(?:\s+(` + incidentRE + `))?$`),
	run: func(ctx context.Context, b *Bot, c Call, g []string) (bot.Message, error) {
		id, err := incidentFor(c, g[1], b.prefix+"ack incident-7-highlatency-checkout")
		if err != nil {
			return bot.Message{}, err
		}
		return handleAct(ctx, b.deps.Acter, id, contract.ActAck, contract.ActRequest{Actor: c.Actor})
	},
}

// handleAct sends one act and answers with what the workflow said.
func handleAct(ctx context.Context, acts Acter, id, act string, req contract.ActRequest) (bot.Message, error) {
	ans, err := acts.Act(ctx, id, act, req)
	if err != nil {
		return bot.Message{}, err
	}
	return bot.Reply(ans.Message, ""), nil
}
