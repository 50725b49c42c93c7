package commands

import (
	"context"
	"regexp"
	"strings"

	"github.com/vigilops/vigil/bot"
)

var helpCommand = Command{
	Name:     "help",
	Usage:    "help [COMMAND]",
	Summary:  "List the commands with examples, or show one command.",
	Examples: []string{"help", "help approve"},
	pattern:  regexp.MustCompile(`^(?i:help)(?:\s+([a-z]+))?$`),
	run: func(_ context.Context, b *Bot, _ Call, g []string) (bot.Message, error) {
		return handleHelp(b.prefix, b.cmds, g[1]), nil
	},
}

// handleHelp lists every command, or the one named.
func handleHelp(prefix string, cmds []*Command, name string) bot.Message {
	var entries []bot.HelpEntry
	for _, c := range cmds {
		if name == "" || strings.EqualFold(name, c.Name) {
			entries = append(entries, bot.HelpEntry{Usage: c.Usage, Summary: c.Summary, Examples: c.Examples})
		}
	}
	if len(entries) == 0 {
		return bot.Reply("No command "+name, "Type "+prefix+"help for the list.")
	}
	return bot.Help(prefix, entries)
}
