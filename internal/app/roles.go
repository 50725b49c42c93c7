package app

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Role is one part of Vigil a replica runs, so that API and worker replicas
// scale apart. Every replica serves /healthz, /readyz and /metrics.
type Role string

// The roles.
const (
	// RoleAPI serves the incidents, decisions, acts, runs, timelines, reports
	// and silences API, and Slack (its HTTP endpoints or Socket Mode).
	RoleAPI Role = "api"
	// RoleIngest receives signals: Alertmanager's webhook (through group
	// commit and, on SQLite, the spool), metrics and logs pushes and GitHub's
	// webhook.
	RoleIngest Role = "ingest"
	// RoleWorker runs the Temporal worker (incident and remediation
	// workflows and their activities) and the singleton loops, each under a
	// lease so that one worker replica runs it: the outbox dispatcher with its
	// announcer, the GitHub change poller, the Prometheus poller, log file
	// tails and retention.
	RoleWorker Role = "worker"
	// RoleConsole serves the web console's pages.
	RoleConsole Role = "console"
)

// allRoles are the roles in the order they are named.
var allRoles = Roles{RoleAPI, RoleIngest, RoleWorker, RoleConsole}

// Roles are the roles a replica runs; empty means all of them.
type Roles []Role

// AllRoles returns every role.
func AllRoles() Roles { return slices.Clone(allRoles) }

// ParseRoles reads a comma-separated list of roles, e.g. "api,ingest".
func ParseRoles(s string) (Roles, error) {
	var out Roles
	for f := range strings.SplitSeq(s, ",") {
		r := Role(strings.ToLower(strings.TrimSpace(f)))
		if r == "" {
			continue
		}
		if !slices.Contains(allRoles, r) {
			return nil, fmt.Errorf("unknown role %q: roles are api, ingest, worker and console", f)
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no role given: name one or more of api, ingest, worker and console, comma-separated")
	}
	return out, nil
}

// Has reports whether r is among the roles (always, for no roles).
func (rs Roles) Has(r Role) bool { return len(rs) == 0 || slices.Contains(rs, r) }

// String lists the roles, comma-separated, in a fixed order.
func (rs Roles) String() string {
	var names []string
	for _, r := range allRoles {
		if rs.Has(r) {
			names = append(names, string(r))
		}
	}
	return strings.Join(names, ",")
}
