package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/slack-go/slack"

	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/store"
)

// WebAPI is the part of Slack's Web API the surface uses; *slack.Client has it.
type WebAPI interface {
	PostMessageContext(ctx context.Context, channelID string, options ...slack.MsgOption) (string, string, error)
	UpdateMessageContext(ctx context.Context, channelID, timestamp string, options ...slack.MsgOption) (string, string, string, error)
	GetConversationHistoryContext(ctx context.Context, params *slack.GetConversationHistoryParameters) (*slack.GetConversationHistoryResponse, error)
	GetConversationRepliesContext(ctx context.Context, params *slack.GetConversationRepliesParameters) ([]slack.Message, bool, string, error)
}

// MessageStore remembers where each keyed message was posted, durably.
type MessageStore interface {
	SlackMessage(ctx context.Context, incidentID, key string) (store.SlackMessage, error)
	StartSlackPost(ctx context.Context, m store.SlackMessage) error
	FinishSlackPost(ctx context.Context, incidentID, key, ts string, now time.Time) error
}

// Surface posts incident threads to Slack. It implements bot.Surface: the
// "summary" key opens the thread in the channel Routes chooses, other keys reply
// in that thread, and posting a key again edits its message (chat.update).
//
// A post never appears twice. Where each message went is stored before and
// after it is sent: a retry finds the ts and edits; a post whose answer was lost
// is looked for in Slack by its metadata before being sent again.
//
// Rate limits are waited out (Retry-After) and edits are retried on server
// errors, within the caller's deadline; past it the error is returned and
// Temporal retries the activity. Errors that retrying cannot fix (a missing
// channel, a revoked token) are logged and the post is dropped, so a Slack
// misconfiguration never holds up an incident: the console keeps every thread.
type Surface struct {
	API    WebAPI
	Store  MessageStore
	Routes Routes
	Logger *slog.Logger
	// Attempts is how many times one call is tried. Default 4.
	Attempts int
	// Backoff is the first wait after a server error, doubling. Default 500ms.
	Backoff time.Duration
}

var _ bot.Surface = (*Surface)(nil)

// metadataType marks Vigil's messages so a lost post can be found again.
const metadataType = "vigil_message"

// rootKey is the key of the thread's root message (see bot.Surface).
const rootKey = "summary"

// Post implements bot.Surface.
func (s *Surface) Post(ctx context.Context, incidentID, key string, m bot.Message) error {
	err := s.post(ctx, incidentID, key, m)
	var se slack.SlackErrorResponse
	if errors.As(err, &se) && permanent[se.Err] {
		s.Logger.Error("slack: post dropped; fix the Slack configuration (the console still has the thread)",
			"incident", incidentID, "key", key, "slack_error", se.Err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("slack: post %s/%s: %w", incidentID, key, err)
	}
	return nil
}

// permanent are Slack errors that no retry fixes.
var permanent = map[string]bool{
	"channel_not_found": true, "not_in_channel": true, "is_archived": true, "invalid_auth": true,
	"account_inactive": true, "token_revoked": true, "missing_scope": true, "no_permission": true,
	"invalid_blocks": true, "msg_too_long": true, "restricted_action": true,
}

func (s *Surface) post(ctx context.Context, incidentID, key string, m bot.Message) error {
	ref, err := s.Store.SlackMessage(ctx, incidentID, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if ref, err = s.place(ctx, incidentID, key, m); err != nil {
			return err
		}
		if err := s.Store.StartSlackPost(ctx, ref); err != nil {
			return err
		}
	case err != nil:
		return err
	case ref.TS == "":
		// An earlier attempt may have posted it: edit that one if so.
		ts, err := s.find(ctx, ref)
		if err != nil {
			return err
		}
		if ts != "" {
			s.Logger.Info("slack: found a post whose answer was lost; editing it", "incident", incidentID, "key", key, "ts", ts)
			if err := s.Store.FinishSlackPost(ctx, incidentID, key, ts, time.Now()); err != nil {
				return err
			}
			ref.TS = ts
		}
	}
	if ref.TS != "" {
		return s.update(ctx, ref, m)
	}
	return s.send(ctx, ref, m)
}

// place chooses where a new message goes: the root in the routed channel, a
// reply in the root's thread. An incident whose root was never posted (Slack was
// added while it was open) gets a placeholder root, which its next summary edits.
func (s *Surface) place(ctx context.Context, incidentID, key string, m bot.Message) (store.SlackMessage, error) {
	ref := store.SlackMessage{IncidentID: incidentID, Key: key, StartedAt: time.Now()}
	if key == rootKey {
		ref.Channel = s.Routes.Channel(m.Severity, m.Services)
		return ref, nil
	}
	root, err := s.Store.SlackMessage(ctx, incidentID, rootKey)
	if errors.Is(err, store.ErrNotFound) {
		if err := s.post(ctx, incidentID, rootKey, bot.Status("Incident "+incidentID, "")); err != nil {
			return ref, err
		}
		root, err = s.Store.SlackMessage(ctx, incidentID, rootKey)
	}
	if err != nil {
		return ref, err
	}
	if root.TS == "" {
		return ref, fmt.Errorf("thread root of %s is not confirmed yet", incidentID)
	}
	ref.Channel, ref.ThreadTS = root.Channel, root.TS
	return ref, nil
}

// send posts a new message. Only rate limits are retried here: after any other
// failure the post may have landed, and the next attempt looks for it first.
func (s *Surface) send(ctx context.Context, ref store.SlackMessage, m bot.Message) error {
	opts := []slack.MsgOption{
		slack.MsgOptionText(Fallback(m), false),
		slack.MsgOptionBlocks(Render(m)...),
		slack.MsgOptionMetadata(slack.SlackMetadata{EventType: metadataType, EventPayload: map[string]any{"incident": ref.IncidentID, "key": ref.Key}}),
	}
	if ref.ThreadTS != "" {
		opts = append(opts, slack.MsgOptionTS(ref.ThreadTS))
	}
	var ts string
	err := s.retry(ctx, "chat.postMessage", false, func() error {
		var err error
		_, ts, err = s.API.PostMessageContext(ctx, ref.Channel, opts...)
		return err
	})
	if err != nil {
		return err
	}
	return s.Store.FinishSlackPost(ctx, ref.IncidentID, ref.Key, ts, time.Now())
}

// update edits a posted message. A message someone deleted in Slack stays
// deleted.
func (s *Surface) update(ctx context.Context, ref store.SlackMessage, m bot.Message) error {
	err := s.retry(ctx, "chat.update", true, func() error {
		_, _, _, err := s.API.UpdateMessageContext(ctx, ref.Channel, ref.TS,
			slack.MsgOptionText(Fallback(m), false), slack.MsgOptionBlocks(Render(m)...))
		return err
	})
	var se slack.SlackErrorResponse
	if errors.As(err, &se) && se.Err == "message_not_found" {
		s.Logger.Warn("slack: message was deleted in Slack; not reposting", "incident", ref.IncidentID, "key", ref.Key)
		return nil
	}
	return err
}

// find looks in Slack for a message posted for ref, by its metadata, and returns
// its ts or "".
func (s *Surface) find(ctx context.Context, ref store.SlackMessage) (string, error) {
	match := func(msgs []slack.Message) string {
		i := slices.IndexFunc(msgs, func(m slack.Message) bool {
			p := m.Metadata.EventPayload
			return m.Metadata.EventType == metadataType && p["incident"] == ref.IncidentID && p["key"] == ref.Key
		})
		if i < 0 {
			return ""
		}
		return msgs[i].Timestamp
	}
	// Slack's clock and ours may differ a little.
	oldest := strconv.FormatInt(ref.StartedAt.Add(-time.Minute).Unix(), 10)
	cursor := ""
	for range 5 { // 5 pages of 200 messages: far more than one incident's posts
		var msgs []slack.Message
		var more bool
		err := s.retry(ctx, "conversations.history", true, func() error {
			if ref.ThreadTS != "" {
				var err error
				msgs, more, cursor, err = s.API.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{
					ChannelID: ref.Channel, Timestamp: ref.ThreadTS, Oldest: oldest, Cursor: cursor, Limit: 200, IncludeAllMetadata: true})
				return err
			}
			res, err := s.API.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{
				ChannelID: ref.Channel, Oldest: oldest, Cursor: cursor, Limit: 200, IncludeAllMetadata: true})
			if err == nil {
				msgs, more, cursor = res.Messages, res.HasMore, res.ResponseMetaData.NextCursor
			}
			return err
		})
		if err != nil {
			return "", err
		}
		if ts := match(msgs); ts != "" || !more || cursor == "" {
			return ts, nil
		}
	}
	return "", nil
}

// retry calls f until it succeeds, waiting out rate limits (Retry-After) and,
// when idempotent, backing off after server and network errors.
func (s *Surface) retry(ctx context.Context, op string, idempotent bool, f func() error) error {
	attempts, backoff := s.Attempts, s.Backoff
	if attempts <= 0 {
		attempts = 4
	}
	if backoff <= 0 {
		backoff = 500 * time.Millisecond
	}
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil {
			return nil
		}
		var wait time.Duration
		var limited *slack.RateLimitedError
		var status slack.StatusCodeError
		var netErr net.Error
		switch {
		case errors.As(err, &limited):
			wait = max(limited.RetryAfter, time.Second)
		case idempotent && (errors.As(err, &status) && status.Code >= 500 || errors.As(err, &netErr)):
			wait, backoff = backoff, backoff*2
		default:
			return fmt.Errorf("%s: %w", op, err)
		}
		if attempt >= attempts {
			return fmt.Errorf("%s: gave up after %d attempts: %w", op, attempt, err)
		}
		if d, ok := ctx.Deadline(); ok && time.Until(d) < wait {
			return fmt.Errorf("%s: next try in %s is past this attempt's deadline: %w", op, wait, err)
		}
		s.Logger.Warn("slack: retrying", "op", op, "in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: %w", op, ctx.Err())
		case <-t.C:
		}
	}
}

// Announce posts text as a message of its own to a channel (a notify step that
// names one), outside any incident thread. Rate limits are waited out; any other
// failure is returned, not retried here, since the message may have landed.
func (s *Surface) Announce(ctx context.Context, channel, text string) error {
	return s.retry(ctx, "chat.postMessage", false, func() error {
		_, _, err := s.API.PostMessageContext(ctx, channel, slack.MsgOptionText(text, false))
		return err
	})
}
