package config

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
)

// DefaultChangeLookback is how long before an incident's onset changes are
// looked for when changes.lookback is not set.
const DefaultChangeLookback = 2 * time.Hour

// Changes configures change events: GitHub webhooks at
// POST /api/v1/github/webhook, and fetching deployments, merged pull requests
// and commits from the GitHub API (the github section's base_url and token)
// for the services mapped to repositories. It also holds the service catalogue
// correlation walks: which service calls which.
type Changes struct {
	// WebhookSecret is the GitHub webhook's secret, a reference (env:NAME or
	// file:PATH). Deliveries must carry its HMAC-SHA256 in
	// X-Hub-Signature-256. Empty turns the webhook endpoint off.
	WebhookSecret Secret `yaml:"webhook_secret"`
	// Lookback is how long before an incident's onset changes count as
	// possible causes. Zero means DefaultChangeLookback; at most 7 days.
	Lookback time.Duration `yaml:"lookback"`
	// Poll is how often recent changes of the mapped repositories are fetched
	// and stored, for repositories that cannot send webhooks. Zero, the
	// default, turns polling off; otherwise at least 30s, since every poll
	// costs three API calls per repository.
	Poll time.Duration `yaml:"poll"`
	// Services maps a service name (the alerts' service label) to its
	// repository and the services it calls.
	Services map[string]ServiceSpec `yaml:"services"`
}

// ServiceSpec is one service of the catalogue.
type ServiceSpec struct {
	// Repo is the GitHub repository the service is built from, owner/name.
	// Several services may share one (a monorepo). Empty: no changes.
	Repo string `yaml:"repo"`
	// Branch is the branch whose pushes and merges change the service.
	// Default: the repository's default branch.
	Branch string `yaml:"branch"`
	// Environments are the deployment environments that change the service,
	// e.g. [production]. Empty counts every environment.
	Environments []string `yaml:"environments"`
	// Calls lists the services this one calls: the dependency graph's edges
	// caller → callee, which correlation and root-cause ranking follow.
	Calls []string `yaml:"calls"`
}

// LookbackOrDefault is Lookback with its default applied.
func (c Changes) LookbackOrDefault() time.Duration {
	if c.Lookback == 0 {
		return DefaultChangeLookback
	}
	return c.Lookback
}

// Repos maps each configured repository, lower-cased (GitHub names are
// case-insensitive), to the services built from it, sorted.
func (c Changes) Repos() map[string][]string {
	out := map[string][]string{}
	for _, name := range slices.Sorted(maps.Keys(c.Services)) {
		if r := c.Services[name].Repo; r != "" {
			out[strings.ToLower(r)] = append(out[strings.ToLower(r)], name)
		}
	}
	return out
}

// Edges returns the dependency graph as [caller, callee] pairs, sorted.
func (c Changes) Edges() [][2]string {
	var out [][2]string
	for _, name := range slices.Sorted(maps.Keys(c.Services)) {
		for _, callee := range slices.Sorted(slices.Values(c.Services[name].Calls)) {
			out = append(out, [2]string{name, callee})
		}
	}
	return out
}

var (
	repoRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)
	// branchRE rejects what git refuses in branch names that matter here:
	// spaces, "..", and control characters.
	branchRE = regexp.MustCompile(`^[^\s~^:?*\[\\]+$`)
)

func (c *Config) validateChanges() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, args...)...))
	}
	ch := c.Changes
	if ch.WebhookSecret != "" {
		if err := ch.WebhookSecret.Validate(); err != nil {
			bad("changes.webhook_secret", "%v", err)
		}
	}
	if ch.Lookback < 0 || ch.Lookback > 7*24*time.Hour {
		bad("changes.lookback", "must be between 0 (default %s) and 168h, got %s", DefaultChangeLookback, ch.Lookback)
	}
	if ch.Poll != 0 && ch.Poll < 30*time.Second {
		bad("changes.poll", "must be 0 (off) or at least 30s, got %s; every poll costs three GitHub API calls per repository", ch.Poll)
	}
	if ch.Poll != 0 && len(ch.Repos()) == 0 {
		bad("changes.poll", "polls nothing: map a service to a repository under changes.services")
	}
	if ch.Poll != 0 && c.GitHub.Token == "" {
		bad("changes.poll", "needs github.token: GitHub allows 60 unauthenticated API calls an hour")
	}
	for _, name := range slices.Sorted(maps.Keys(ch.Services)) {
		s := ch.Services[name]
		field := "changes.services." + name
		if !nameRE.MatchString(name) {
			bad("changes.services", "service name %q must be letters, digits, '.', '_' or '-'", name)
		}
		if s.Repo != "" && !repoRE.MatchString(s.Repo) {
			bad(field+".repo", "%q must be owner/name (e.g. acme/checkout)", s.Repo)
		}
		if s.Repo == "" && (s.Branch != "" || len(s.Environments) > 0) {
			bad(field, "branch and environments need a repo")
		}
		if s.Branch != "" && (!branchRE.MatchString(s.Branch) || strings.Contains(s.Branch, "..")) {
			bad(field+".branch", "%q is not a branch name", s.Branch)
		}
		if slices.Contains(s.Environments, "") {
			bad(field+".environments", "must not hold an empty name")
		}
		seen := map[string]bool{}
		for _, callee := range s.Calls {
			switch {
			case callee == name:
				bad(field+".calls", "a service cannot call itself")
			case !nameRE.MatchString(callee):
				bad(field+".calls", "%q is not a service name", callee)
			case seen[callee]:
				bad(field+".calls", "%q is listed twice", callee)
			}
			seen[callee] = true
		}
	}
	return errs
}
