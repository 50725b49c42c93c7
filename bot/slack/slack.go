// Package slack is Vigil's Slack surface (slack-go): incident threads as Block Kit
// messages that are edited in place, Approve/Reject buttons, the /vigil command
// and @-mentions, over Socket Mode or over HTTP (Events API, interactivity and
// slash-command endpoints, every request verified with the signing secret).
//
// Who acted is always the Slack user id from the verified payload, mapped to a
// Vigil user and groups by configuration; text typed in Slack never names the
// actor.
package slack

import (
	"slices"
)

// Route sends incidents matching it to a channel. An empty list matches
// anything; a route matches when both lists match.
type Route struct {
	Channel    string
	Severities []string
	Services   []string // any of the incident's services
}

// Routes chooses the channel for a new incident's thread: the first matching
// route, else Default.
type Routes struct {
	Default string
	Rules   []Route
}

// Channel returns where an incident with this severity and these services goes.
func (r Routes) Channel(severity string, services []string) string {
	for _, rule := range r.Rules {
		sevOK := len(rule.Severities) == 0 || slices.Contains(rule.Severities, severity)
		svcOK := len(rule.Services) == 0 || slices.ContainsFunc(services, func(s string) bool { return slices.Contains(rule.Services, s) })
		if sevOK && svcOK {
			return rule.Channel
		}
	}
	return r.Default
}
