package slack

import (
	"context"
	"errors"
	"html"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/bot/commands"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/store"
)

// Threads finds which incident a Slack message belongs to.
type Threads interface {
	SlackMessageAt(ctx context.Context, channel, ts string) (store.SlackMessage, error)
}

// Poster sends replies: thread messages and response_url answers.
type Poster interface {
	PostMessageContext(ctx context.Context, channelID string, options ...slack.MsgOption) (string, string, error)
}

// Handler is the Bot's side App needs.
type Handler interface {
	Handle(ctx context.Context, c commands.Call) bot.Message
	Press(ctx context.Context, incidentID, action string, actor incident.Actor) bot.Message
}

// App handles what people do in Slack, whichever way it arrives (HTTP or Socket
// Mode): slash commands, @-mentions and button presses. Each is acknowledged at
// once, as Slack requires within 3 seconds, and answered when done: slash
// commands and presses privately through their response_url, mentions in their
// thread.
type App struct {
	Bot       Handler
	Threads   Threads
	Directory *Directory
	API       Poster
	Logger    *slog.Logger
	// ResponseURLPrefix is what a response_url must start with to be answered.
	// Default "https://hooks.slack.com/"; the URL comes in a verified payload,
	// and this keeps a leaked signing secret from turning Vigil into a proxy.
	ResponseURLPrefix string
	// Timeout bounds the work on one act. Default 30s.
	Timeout time.Duration

	events seen // event ids already handled: Slack redelivers unacked events
	wg     sync.WaitGroup
}

// Wait blocks until every act in progress has been answered.
func (a *App) Wait() { a.wg.Wait() }

// async runs f after the request was acknowledged, with its own deadline.
func (a *App) async(f func(ctx context.Context)) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		timeout := a.Timeout
		if timeout <= 0 {
			timeout = 30 * time.Second
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		f(ctx)
	}()
}

// command answers a slash command. Slack sends no thread with slash commands, so
// commands on an incident name it.
func (a *App) command(cmd slack.SlashCommand, verification string) {
	a.async(func(ctx context.Context) {
		actor := a.Directory.Actor(ctx, cmd.UserID, cmd.UserName, verification)
		m := a.Bot.Handle(ctx, commands.Call{Text: html.UnescapeString(cmd.Text), Actor: actor})
		a.respond(ctx, cmd.ResponseURL, m)
	})
}

// mentionRE is the leading @-mention of the bot (and any label Slack adds).
var mentionRE = regexp.MustCompile(`^\s*<@[A-Z0-9]+(?:\|[^>]*)?>[\s:,]*`)

// mention answers an @-mention; in an incident's thread, commands act on it.
func (a *App) mention(ev *slackevents.AppMentionEvent, eventID, verification string) {
	if ev.BotID != "" || ev.User == "" || !a.events.first(eventID, time.Now()) {
		return
	}
	a.async(func(ctx context.Context) {
		thread := ev.ThreadTimeStamp
		if thread == "" {
			thread = ev.TimeStamp
		}
		call := commands.Call{Text: html.UnescapeString(mentionRE.ReplaceAllString(ev.Text, ""))}
		if root, err := a.Threads.SlackMessageAt(ctx, ev.Channel, ev.ThreadTimeStamp); err == nil {
			call.IncidentID = root.IncidentID
		} else if !errors.Is(err, store.ErrNotFound) {
			a.Logger.Error("slack: find the mention's incident", "channel", ev.Channel, "thread", ev.ThreadTimeStamp, "err", err)
		}
		call.Actor = a.Directory.Actor(ctx, ev.User, "", verification)
		m := a.Bot.Handle(ctx, call)
		if _, _, err := a.API.PostMessageContext(ctx, ev.Channel, slack.MsgOptionTS(thread),
			slack.MsgOptionText(Fallback(m), false), slack.MsgOptionBlocks(Render(m)...)); err != nil {
			a.Logger.Error("slack: reply to mention", "channel", ev.Channel, "err", err)
		}
	})
}

// press acts on a button. The incident is the one Vigil posted the message for,
// found by the message's channel and ts; the button's value is only the action.
func (a *App) press(cb slack.InteractionCallback, verification string) {
	if cb.Type != slack.InteractionTypeBlockActions || len(cb.ActionCallback.BlockActions) == 0 {
		return
	}
	a.async(func(ctx context.Context) {
		actor := a.Directory.Actor(ctx, cb.User.ID, cb.User.Name, verification)
		msg, err := a.Threads.SlackMessageAt(ctx, cb.Container.ChannelID, cb.Container.MessageTs)
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				a.Logger.Error("slack: find the pressed message", "channel", cb.Container.ChannelID, "ts", cb.Container.MessageTs, "err", err)
			}
			a.respond(ctx, cb.ResponseURL, bot.Reply("Not an incident message", "Vigil has no record of this message; nothing was done."))
			return
		}
		action := cb.ActionCallback.BlockActions[0]
		m := a.Bot.Press(ctx, msg.IncidentID, action.Value, actor)
		a.Logger.Info("slack: button", "incident", msg.IncidentID, "action", action.Value, "user", actor.User, "answer", m.Title)
		a.respond(ctx, cb.ResponseURL, m)
	})
}

// respond answers one person privately through a response_url.
func (a *App) respond(ctx context.Context, url string, m bot.Message) {
	prefix := a.ResponseURLPrefix
	if prefix == "" {
		prefix = "https://hooks.slack.com/"
	}
	if !strings.HasPrefix(url, prefix) {
		a.Logger.Warn("slack: not answering a response_url outside Slack", "url", url)
		return
	}
	if _, _, err := a.API.PostMessageContext(ctx, "", slack.MsgOptionResponseURL(url, slack.ResponseTypeEphemeral),
		slack.MsgOptionText(Fallback(m), false), slack.MsgOptionBlocks(Render(m)...)); err != nil {
		a.Logger.Error("slack: answer via response_url", "err", err)
	}
}

// seen remembers ids for a while, to handle each delivery once.
type seen struct {
	mu  sync.Mutex
	ids map[string]time.Time
}

// first reports whether id is new, remembering it for an hour (Slack retries
// an event for about that long). An empty id is always new.
func (s *seen) first(id string, now time.Time) bool {
	if id == "" {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ids == nil {
		s.ids = map[string]time.Time{}
	}
	for k, t := range s.ids {
		if now.Sub(t) > time.Hour {
			delete(s.ids, k)
		}
	}
	if _, ok := s.ids[id]; ok {
		return false
	}
	s.ids[id] = now
	return true
}
