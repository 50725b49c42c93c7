package config

import (
	"fmt"
	"path"
	"strings"
	"time"
)

// Escalation says when an incident escalates on its own and whom it pages.
type Escalation struct {
	// NoAckAfter escalates an incident nobody has acknowledged by then (e.g.
	// 15m). Zero, the default, disables the timer.
	NoAckAfter time.Duration `yaml:"no_ack_after"`
	// EscalateTo is mentioned in the thread when an incident escalates (no ack,
	// a failed remediation, an expired proposal whose runbook names no
	// escalate_to of its own, or a human's escalate): user:ID or group:NAME.
	EscalateTo []string `yaml:"escalate_to"`
}

// AutonomyRule lets risk: low runbooks run without a human approval. A proposal
// runs on autonomy only when its runbook matches Runbooks and every service of the
// incident matches Services; the thread and the audit trail name the rule.
type AutonomyRule struct {
	// Name identifies the rule in threads and the audit trail.
	Name string `yaml:"name"`
	// Runbooks are runbook ids or shell-style patterns (flush-*).
	Runbooks []string `yaml:"runbooks"`
	// Services are service names or shell-style patterns (api-*).
	Services []string `yaml:"services"`
}

func (c *Config) validateEscalation() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, args...)...))
	}
	if c.Escalation.NoAckAfter < 0 {
		bad("escalation.no_ack_after", "must not be negative")
	}
	for i, t := range c.Escalation.EscalateTo {
		field := fmt.Sprintf("escalation.escalate_to[%d]", i)
		kind, name, ok := strings.Cut(t, ":")
		switch {
		case !ok || name == "" || (kind != "user" && kind != "group"):
			bad(field, "%q must be user:ID or group:NAME", t)
		case kind == "group" && c.Groups[name] == nil:
			bad(field, "group %q is not defined under groups", name)
		}
	}
	seen := map[string]bool{}
	for i, r := range c.Autonomy {
		field := fmt.Sprintf("autonomy[%d]", i)
		if r.Name == "" {
			bad(field+".name", "is required: the thread and the audit trail name the rule")
		} else if seen[r.Name] {
			bad(field+".name", "%q is used by another rule", r.Name)
		}
		seen[r.Name] = true
		if len(r.Runbooks) == 0 || len(r.Services) == 0 {
			bad(field, "needs runbooks and services; a rule that names none would allow nothing (or, worse, be read as everything)")
		}
		for _, p := range append(append([]string{}, r.Runbooks...), r.Services...) {
			if _, err := path.Match(p, ""); err != nil {
				bad(field, "bad pattern %q: %v", p, err)
			}
		}
	}
	return errs
}
