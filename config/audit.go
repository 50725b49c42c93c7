package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
)

// Audit configures the audit trail's signed checkpoints.
type Audit struct {
	// SigningKey is a secret reference (env:NAME or file:PATH) to the ed25519
	// private key that signs checkpoints: PKCS#8 PEM (`openssl genpkey -algorithm
	// ed25519`) or the base64 of a 32-byte seed. Empty: `vigil dev` keeps a key in
	// DATA_DIR/audit.key, creating it on first start. That is fine for development
	// and no protection against someone who can write the data directory, so
	// production keeps the key elsewhere.
	SigningKey Secret `yaml:"signing_key"`
	// TrustedKeys are earlier public keys (the base64 of the 32 raw bytes, as
	// `vigil audit public-key` prints) whose checkpoints stay valid after the
	// signing key is rotated.
	TrustedKeys []string `yaml:"trusted_keys"`
}

// Retention says how long raw data is kept. The audit trail is never pruned.
type Retention struct {
	// EventsDays is how many days raw events (each accepted alert change) are
	// kept. Older ones that were delivered are deleted hourly, and every deletion
	// is recorded in the audit trail. 0 (the default) keeps them forever. Reports
	// count alerts from the events, so they cannot look back further than this.
	EventsDays int `yaml:"events_days"`
}

// Postmortems configures where postmortem drafts go besides the incident thread.
type Postmortems struct {
	// GitHubRepo (owner/name), when set, files each draft as an issue there,
	// through the API and token of the github section.
	GitHubRepo string `yaml:"github_repo"`
	// Labels for those issues. Unset: [postmortem]; [] files them unlabelled.
	Labels []string `yaml:"labels"`
}

// IssueLabels are the labels postmortem issues get.
func (p Postmortems) IssueLabels() []string {
	if p.Labels == nil {
		return []string{"postmortem"}
	}
	return p.Labels
}

var ownerRepoRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)

// validateReview checks the audit, retention and postmortems sections.
func (c *Config) validateReview() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, args...)...))
	}
	if c.Audit.SigningKey != "" {
		if err := c.Audit.SigningKey.Validate(); err != nil {
			bad("audit.signing_key", "%v", err)
		}
	}
	for i, k := range c.Audit.TrustedKeys {
		if raw, err := base64.StdEncoding.DecodeString(k); err != nil || len(raw) != 32 {
			bad(fmt.Sprintf("audit.trusted_keys[%d]", i), "must be the base64 of a 32-byte ed25519 public key (as `vigil audit public-key` prints)")
		}
	}
	if c.Retention.EventsDays < 0 {
		bad("retention.events_days", "must be 0 (keep forever) or more, got %d", c.Retention.EventsDays)
	}
	if r := c.Postmortems.GitHubRepo; r != "" {
		if !ownerRepoRE.MatchString(r) {
			bad("postmortems.github_repo", "%q must be owner/name (e.g. acme/incidents)", r)
		}
		if c.GitHub.Token == "" {
			errs = append(errs, errors.New("postmortems.github_repo: filing issues needs github.token"))
		}
	}
	return errs
}
