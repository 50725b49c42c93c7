package commands

import (
	"context"
	"regexp"
	"slices"

	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/store"
)

var listCommand = Command{
	Name:     "list",
	Usage:    "list [open|awaiting_approval|remediating|escalated|resolved|all]",
	Summary:  "List incidents: by default every one not yet resolved, newest first.",
	Examples: []string{"list", "list escalated", "list all"},
	pattern:  regexp.MustCompile(`^(?i:list)(?:\s+(open|acknowledged|awaiting_approval|remediating|escalated|resolved|all))?$`),
	run: func(ctx context.Context, b *Bot, _ Call, g []string) (bot.Message, error) {
		return handleList(ctx, b.deps.Incidents, g[1])
	},
}

// listLimit caps how many incidents a chat reply lists.
const listLimit = 20

// handleList lists incidents with the given status; "" means not resolved.
func handleList(ctx context.Context, incs Incidents, status string) (bot.Message, error) {
	f := store.IncidentFilter{Status: incident.Status(status)}
	title := "Incidents: " + status
	switch status {
	case "all":
		f.Status, title = "", "Incidents"
	case "":
		title = "Unresolved incidents"
	}
	list, err := incs.ListIncidents(ctx, f)
	if err != nil {
		return bot.Message{}, err
	}
	if status == "" {
		list = slices.DeleteFunc(list, func(inc incident.Incident) bool { return inc.Status == incident.StatusResolved })
	}
	m := bot.IncidentList(title, list[:min(len(list), listLimit)])
	if len(list) > listLimit {
		m.Footer = "Showing the newest 20; the console lists them all."
	}
	return m, nil
}
