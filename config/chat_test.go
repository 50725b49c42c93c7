package config

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestChatConfig(t *testing.T) {
	c, err := Load(filepath.Join("testdata", "chat-good.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Console.AuthEnabled() || c.Console.Users[0].Name != "Alice Ng" || c.Console.SessionTTL != 8*time.Hour || len(c.Console.TrustedProxies) != 2 {
		t.Errorf("console = %+v", c.Console)
	}
	if !c.Slack.Enabled() || !c.Slack.SocketMode() || c.Slack.Channel != "C0INCIDENTS" ||
		!reflect.DeepEqual(c.Slack.Routes[1], SlackRoute{Channel: "C0PAYMENTS", Services: []string{"checkout", "payments"}}) ||
		c.Slack.Users["U0ADA"] != "alice" || c.Slack.UserGroups["S0ONCALL"] != "oncall" {
		t.Errorf("slack = %+v", c.Slack)
	}
	if d := Default(); d.Console.AuthEnabled() || d.Slack.Enabled() {
		t.Errorf("defaults must be development mode without Slack: %+v %+v", d.Console, d.Slack)
	}

	_, err = Load(filepath.Join("testdata", "chat-bad.yaml"))
	for _, want := range []string{
		"console.users[0].token_sha256: must be 64 hex digits",
		`console.users[1].id: "alice" is listed twice`,
		"console.trusted_proxies: must list the SSO proxy's addresses",
		"slack.bot_token: secret must be a reference env:NAME or file:PATH",
		"slack.signing_secret: is required in HTTP mode",
		`slack.channel: "#incidents" is not a channel id`,
		"slack.routes[0]: matches everything",
		"slack.users: alice: U0ADA: want a Slack user id",
		`slack.api_url: "slack-gov.com/api" is not an http:// or https:// URL ending in /`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v\nlacks %q", err, want)
		}
	}
	if _, err := Parse("x.yaml", []byte("slack:\n  channel: C0INCIDENTS\n")); err == nil || !strings.Contains(err.Error(), "slack.bot_token: is required") {
		t.Errorf("slack without a bot token: %v", err)
	}
}
