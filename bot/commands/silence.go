package commands

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/store"
)

// Silencer creates, lists and expires silences (ingest.Silences).
type Silencer interface {
	// SilenceFor creates a silence from now for d. A problem with the
	// request is returned as an error whose text says what to fix.
	SilenceFor(ctx context.Context, matchers []string, d time.Duration, by, comment string) (store.Silence, error)
	ExpireSilence(ctx context.Context, id string) (store.Silence, error)
	// CurrentSilences are the silences not yet expired, newest first.
	CurrentSilences() []store.Silence
}

var silenceCommand = Command{
	Name:    "silence",
	Usage:   "silence MATCHER [MATCHER …] for DURATION: COMMENT",
	Summary: "Silence new alerts that match, as Alertmanager does: they are stored but open no incident until the silence ends.",
	Examples: []string{`silence service="db" for 2h: failover drill CHG-1234`,
		`silence alertname=~"Disk.*" instance="db-3" for 30m: replacing the disk`},
	pattern: regexp.MustCompile(`(?s)^(?i:silence)\s+(.+?)\s+(?i:for)\s+([0-9][0-9a-z.]*)\s*:\s*(.+)$`),
	run: func(ctx context.Context, b *Bot, c Call, g []string) (bot.Message, error) {
		if b.deps.Silencer == nil {
			return bot.Reply("Silences are not available here", "Use the API: POST /api/v1/silences."), nil
		}
		d, err := time.ParseDuration(g[2])
		if err != nil || d <= 0 {
			return bot.Message{}, &usageError{"Bad duration", fmt.Sprintf("%q is not a duration such as 30m or 2h.", g[2])}
		}
		matchers, err := splitMatchers(g[1])
		if err != nil {
			return bot.Message{}, &usageError{"Bad matchers", err.Error()}
		}
		by := c.Actor.User
		if c.Actor.DisplayName != "" {
			by += " (" + c.Actor.DisplayName + ")"
		}
		sl, err := b.deps.Silencer.SilenceFor(ctx, matchers, d, by, strings.TrimSpace(g[3]))
		if err != nil {
			return bot.Message{}, &usageError{"Silence not created", err.Error()}
		}
		return bot.Reply("Silenced until "+sl.EndsAt.UTC().Format("Jan 2 15:04 MST"),
			fmt.Sprintf("%s: new alerts matching %s open no incident. Silence %s by %s. End it early with %sunsilence %s",
				sl.Comment, strings.Join(sl.Matchers, " "), sl.ID, sl.CreatedBy, b.prefix, sl.ID)), nil
	},
}

var silencesCommand = Command{
	Name:     "silences",
	Usage:    "silences",
	Summary:  "List the silences in force or still to start.",
	Examples: []string{"silences"},
	pattern:  regexp.MustCompile(`^(?i:silences)$`),
	run: func(_ context.Context, b *Bot, _ Call, _ []string) (bot.Message, error) {
		if b.deps.Silencer == nil {
			return bot.Reply("Silences are not available here", "Use the API: GET /api/v1/silences."), nil
		}
		list := b.deps.Silencer.CurrentSilences()
		if len(list) == 0 {
			return bot.Reply("No silences", "Nothing is silenced."), nil
		}
		var lines []string
		for _, sl := range list {
			lines = append(lines, fmt.Sprintf("%s until %s: %s by %s (%s)", sl.ID, sl.EndsAt.UTC().Format("Jan 2 15:04 MST"),
				strings.Join(sl.Matchers, " "), sl.CreatedBy, sl.Comment))
		}
		return bot.Reply(fmt.Sprintf("%d silences", len(list)), strings.Join(lines, "\n")), nil
	},
}

var unsilenceCommand = Command{
	Name:     "unsilence",
	Usage:    "unsilence ID",
	Summary:  "End a silence now.",
	Examples: []string{"unsilence 3f2a9c1d0b7e4a55"},
	pattern:  regexp.MustCompile(`^(?i:unsilence)\s+([0-9a-f]+)$`),
	run: func(ctx context.Context, b *Bot, _ Call, g []string) (bot.Message, error) {
		if b.deps.Silencer == nil {
			return bot.Reply("Silences are not available here", "Use the API: DELETE /api/v1/silences/ID."), nil
		}
		sl, err := b.deps.Silencer.ExpireSilence(ctx, g[1])
		if err != nil {
			return bot.Message{}, &usageError{"Silence not ended", err.Error()}
		}
		return bot.Reply("Silence "+sl.ID+" ended", "New alerts matching "+strings.Join(sl.Matchers, " ")+" open incidents again."), nil
	},
}

// splitMatchers splits space-separated matchers, keeping quoted values whole:
// service="db" alertname=~"Disk full.*".
func splitMatchers(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	quoted, escaped := false, false
	for _, r := range s {
		switch {
		case escaped:
			escaped = false
		case r == '\\' && quoted:
			escaped = true
		case r == '"':
			quoted = !quoted
		case (r == ' ' || r == '\t' || r == ',') && !quoted:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
			continue
		}
		cur.WriteRune(r)
	}
	if quoted {
		return nil, errors.New(`a quoted value is not closed; write matchers as name="value"`)
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out, nil
}
