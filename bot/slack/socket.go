package slack

import (
	"context"
	"fmt"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// RunSocketMode receives acts over a Socket Mode connection (opened with the
// app-level token) until ctx is done. Slack authenticates the connection, so
// payloads need no signature; each is acknowledged on receipt and handled as
// over HTTP. socketmode reconnects by itself.
func (a *App) RunSocketMode(ctx context.Context, client *socketmode.Client) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case evt := <-client.Events:
				a.socketEvent(ctx, client, evt)
			}
		}
	}()
	// RunContext always ends with an error; after ctx is done, that is a clean stop.
	err := client.RunContext(ctx)
	<-done
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("slack socket mode: %w", err)
}

func (a *App) socketEvent(ctx context.Context, client *socketmode.Client, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnected:
		a.Logger.Info("slack: socket mode connected")
	case socketmode.EventTypeConnectionError, socketmode.EventTypeInvalidAuth:
		a.Logger.Error("slack: socket mode connection", "event", evt.Type, "data", evt.Data)
	}
	if evt.Request == nil {
		return
	}
	switch data := evt.Data.(type) {
	case slackevents.EventsAPIEvent:
		a.ack(ctx, client, evt)
		cb, _ := data.Data.(*slackevents.EventsAPICallbackEvent)
		if m, ok := data.InnerEvent.Data.(*slackevents.AppMentionEvent); ok && cb != nil {
			a.mention(m, cb.EventID, VerifiedBySocketMode)
		}
	case slack.SlashCommand:
		a.ack(ctx, client, evt)
		a.command(data, VerifiedBySocketMode)
	case slack.InteractionCallback:
		a.ack(ctx, client, evt)
		a.press(data, VerifiedBySocketMode)
	}
}

func (a *App) ack(ctx context.Context, client *socketmode.Client, evt socketmode.Event) {
	if err := client.AckCtx(ctx, evt.Request.EnvelopeID, nil); err != nil {
		a.Logger.Warn("slack: socket mode ack", "envelope", evt.Request.EnvelopeID, "err", err)
	}
}
