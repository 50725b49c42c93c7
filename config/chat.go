package config

import (
	"encoding/hex"
	"fmt"
	"maps"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// ConsoleUser is someone who may sign in to the console (with a login form) and
// use the API (with "Authorization: Bearer TOKEN").
type ConsoleUser struct {
	// ID is the Vigil user id acts are recorded under; runbook approvers and
	// groups name it.
	ID string `yaml:"id"`
	// Name is shown in the console; default ID.
	Name string `yaml:"name"`
	// TokenSHA256 is the hex SHA-256 of the user's token, never the token: e.g.
	// `printf %s "$TOKEN" | sha256sum`. Tokens must be random (32+ bytes), so a
	// fast hash is enough and the file is safe to commit.
	TokenSHA256 string `yaml:"token_sha256"`
}

// AuthEnabled reports whether the console requires authentication.
func (c Console) AuthEnabled() bool { return len(c.Users) > 0 || c.TrustedHeader != "" }

func (c Console) validate() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, args...)...))
	}
	seen := map[string]bool{}
	for i, u := range c.Users {
		f := fmt.Sprintf("console.users[%d]", i)
		if !nameRE.MatchString(u.ID) {
			bad(f+".id", "%q must be letters, digits, '.', '_' or '-'", u.ID)
		}
		if seen[u.ID] {
			bad(f+".id", "%q is listed twice", u.ID)
		}
		seen[u.ID] = true
		if b, err := hex.DecodeString(u.TokenSHA256); err != nil || len(b) != 32 {
			bad(f+".token_sha256", "must be 64 hex digits, the SHA-256 of the token (printf %%s \"$TOKEN\" | sha256sum)")
		}
	}
	if c.SessionSecret != "" {
		if err := c.SessionSecret.Validate(); err != nil {
			bad("console.session_secret", "%v", err)
		}
	}
	if c.SessionTTL < 0 {
		bad("console.session_ttl", "must not be negative")
	}
	if c.TrustedHeader == "" && (c.TrustedGroupsHeader != "" || len(c.TrustedProxies) > 0) {
		bad("console.trusted_header", "is required with trusted_groups_header and trusted_proxies")
	}
	if c.TrustedHeader != "" && len(c.TrustedProxies) == 0 {
		bad("console.trusted_proxies", "must list the SSO proxy's addresses (e.g. [10.0.0.5/32]) when trusted_header is set; otherwise anyone could send the header")
	}
	for i, p := range c.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			bad(fmt.Sprintf("console.trusted_proxies[%d]", i), "%q is not a CIDR (e.g. 10.0.0.5/32)", p)
		}
	}
	return errs
}

// Slack configures the Slack surface. With an app-level token Vigil connects
// over Socket Mode and needs no public endpoint; without one, Slack calls
// Vigil's HTTP endpoints, which verify every request with the signing secret.
type Slack struct {
	// BotToken (xoxb-…) posts and edits messages. Setting it turns Slack on.
	BotToken Secret `yaml:"bot_token"`
	// AppToken (xapp-…, scope connections:write) selects Socket Mode.
	AppToken Secret `yaml:"app_token"`
	// SigningSecret verifies HTTP requests; required without AppToken.
	SigningSecret Secret `yaml:"signing_secret"`
	// Channel is the id of the channel (e.g. C0123ABCD) new incidents open their
	// thread in when no route matches.
	Channel string `yaml:"channel"`
	// Routes send incidents elsewhere by severity and service; first match wins.
	Routes []SlackRoute `yaml:"routes"`
	// Users maps Slack user ids to Vigil user ids. Unmapped users act under
	// their Slack id, which groups may list.
	Users map[string]string `yaml:"users"`
	// UserGroups maps Slack user group ids (S…) to Vigil groups: members of the
	// Slack group act as members of the Vigil group.
	UserGroups map[string]string `yaml:"user_groups"`
	// APIURL is the Web API root, ending in /. Default https://slack.com/api/;
	// GovSlack is https://slack-gov.com/api/ (tests point it at a stand-in).
	APIURL string `yaml:"api_url"`
}

// SlackRoute sends matching incidents to Channel. Empty lists match anything.
type SlackRoute struct {
	Channel    string   `yaml:"channel"`
	Severities []string `yaml:"severities"`
	Services   []string `yaml:"services"`
}

// Enabled reports whether Slack is configured.
func (s Slack) Enabled() bool { return s.BotToken != "" }

// SocketMode reports whether Vigil connects to Slack over Socket Mode.
func (s Slack) SocketMode() bool { return s.AppToken != "" }

var (
	slackChannelRE = regexp.MustCompile(`^[CGD][A-Z0-9]{2,}$`)
	slackUserRE    = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)
	slackGroupRE   = regexp.MustCompile(`^S[A-Z0-9]{2,}$`)
)

func (s Slack) validate() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, args...)...))
	}
	if !s.Enabled() {
		if s.AppToken != "" || s.SigningSecret != "" || s.Channel != "" || len(s.Routes) > 0 || len(s.Users) > 0 || len(s.UserGroups) > 0 {
			bad("slack.bot_token", "is required to use Slack (env:SLACK_BOT_TOKEN or file:PATH)")
		}
		return errs
	}
	if u, err := url.Parse(s.APIURL); s.APIURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || !strings.HasSuffix(s.APIURL, "/")) {
		bad("slack.api_url", "%q is not an http:// or https:// URL ending in / (e.g. https://slack-gov.com/api/)", s.APIURL)
	}
	for _, f := range []struct {
		name string
		sec  Secret
	}{{"slack.bot_token", s.BotToken}, {"slack.app_token", s.AppToken}, {"slack.signing_secret", s.SigningSecret}} {
		if f.sec != "" {
			if err := f.sec.Validate(); err != nil {
				bad(f.name, "%v", err)
			}
		}
	}
	if !s.SocketMode() && s.SigningSecret == "" {
		bad("slack.signing_secret", "is required in HTTP mode (set app_token for Socket Mode instead)")
	}
	if !slackChannelRE.MatchString(s.Channel) {
		bad("slack.channel", "%q is not a channel id (e.g. C0123ABCD: in Slack, the channel's details show it)", s.Channel)
	}
	for i, r := range s.Routes {
		if !slackChannelRE.MatchString(r.Channel) {
			bad(fmt.Sprintf("slack.routes[%d].channel", i), "%q is not a channel id (e.g. C0123ABCD)", r.Channel)
		}
		if len(r.Severities) == 0 && len(r.Services) == 0 {
			bad(fmt.Sprintf("slack.routes[%d]", i), "matches everything; give severities or services, or use slack.channel")
		}
	}
	for _, u := range slices.Sorted(maps.Keys(s.Users)) {
		if !slackUserRE.MatchString(u) || !nameRE.MatchString(s.Users[u]) {
			bad("slack.users", "%s: %s: want a Slack user id (U…) mapped to a Vigil user id", u, s.Users[u])
		}
	}
	for _, g := range slices.Sorted(maps.Keys(s.UserGroups)) {
		if !slackGroupRE.MatchString(g) || !nameRE.MatchString(s.UserGroups[g]) {
			bad("slack.user_groups", "%s: %s: want a Slack user group id (S…) mapped to a Vigil group", g, s.UserGroups[g])
		}
	}
	return errs
}
