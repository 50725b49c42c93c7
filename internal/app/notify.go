package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/bot/slack"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/runbooks"
)

// notifier delivers runbook notify steps: always to the incident's thread, and
// when the step names a channel and Slack is configured, also to that channel.
// Without Slack, the thread message names the channel it was meant for.
type notifier struct {
	chat  bot.Surface
	slack *slack.Surface
}

var _ runbooks.Notifier = notifier{}

// Notify implements runbooks.Notifier. The thread message is keyed by run and
// text, so a retried step edits its message rather than repeating it.
func (n notifier) Notify(ctx context.Context, ref incident.RunRef, channel, text string) error {
	sum := sha256.Sum256([]byte(channel + "\x00" + text))
	title := "Notification"
	if channel != "" {
		title += " for " + channel
	}
	if err := n.chat.Post(ctx, ref.IncidentID, "notify-"+ref.RunID+"-"+hex.EncodeToString(sum[:4]), bot.Status(title, text)); err != nil {
		return err
	}
	if channel != "" && n.slack != nil {
		return n.slack.Announce(ctx, channel, text)
	}
	return nil
}
