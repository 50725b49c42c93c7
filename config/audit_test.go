package config

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLoadReviewSections(t *testing.T) {
	c, err := Load(filepath.Join("testdata", "review-good.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Audit.SigningKey != "file:/etc/vigil/audit.key" || len(c.Audit.TrustedKeys) != 1 || c.Retention.EventsDays != 90 {
		t.Errorf("audit = %+v, retention = %+v", c.Audit, c.Retention)
	}
	if c.Postmortems.GitHubRepo != "acme/incidents" || !reflect.DeepEqual(c.Postmortems.IssueLabels(), []string{"postmortem", "sev"}) {
		t.Errorf("postmortems = %+v", c.Postmortems)
	}
	if got := Default().Postmortems.IssueLabels(); !reflect.DeepEqual(got, []string{"postmortem"}) {
		t.Errorf("default labels = %v", got)
	}

	_, err = Load(filepath.Join("testdata", "review-bad.yaml"))
	for _, want := range []string{
		"audit.signing_key: secret must be a reference env:NAME or file:PATH, not an inline value",
		"audit.trusted_keys[0]: must be the base64 of a 32-byte ed25519 public key",
		"retention.events_days: must be 0 (keep forever) or more, got -1",
		`postmortems.github_repo: "not a repo" must be owner/name`,
		"postmortems.github_repo: filing issues needs github.token",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v\ndoes not contain %q", err, want)
		}
	}
}
