package config

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoadChanges(t *testing.T) {
	tests := []struct {
		file    string
		wantErr []string
		check   func(t *testing.T, c Changes)
	}{
		{file: "changes-good.yaml", check: func(t *testing.T, c Changes) {
			if c.WebhookSecret != "env:VIGIL_GITHUB_WEBHOOK_SECRET" || c.Poll != 2*time.Minute {
				t.Errorf("changes = %+v", c)
			}
			if c.LookbackOrDefault() != DefaultChangeLookback {
				t.Errorf("lookback = %s, want the default", c.LookbackOrDefault())
			}
			wantRepos := map[string][]string{"acme/checkout": {"checkout", "inventory"}, "acme/payments": {"payments"}}
			if got := c.Repos(); !reflect.DeepEqual(got, wantRepos) {
				t.Errorf("Repos = %v, want %v (lower-cased, monorepo shared)", got, wantRepos)
			}
			wantEdges := [][2]string{{"checkout", "inventory"}, {"checkout", "payments"}, {"inventory", "db"}, {"payments", "db"}}
			if got := c.Edges(); !reflect.DeepEqual(got, wantEdges) {
				t.Errorf("Edges = %v, want %v", got, wantEdges)
			}
			if s := c.Services["payments"]; s.Branch != "release" || len(s.Environments) != 0 {
				t.Errorf("payments = %+v", s)
			}
		}},
		{file: "empty.yaml", check: func(t *testing.T, c Changes) {
			if c.WebhookSecret != "" || c.Poll != 0 || len(c.Services) != 0 || c.LookbackOrDefault() != 2*time.Hour {
				t.Errorf("defaults: %+v", c)
			}
		}},
		{file: "changes-bad.yaml", wantErr: []string{
			"changes.webhook_secret: secret must be a reference env:NAME or file:PATH",
			"changes.lookback: must be between 0 (default 2h0m0s) and 168h, got 200h0m0s",
			"changes.poll: must be 0 (off) or at least 30s, got 5s",
			`changes.services: service name "bad name" must be letters`,
			`changes.services.checkout.repo: "checkout" must be owner/name`,
			`changes.services.checkout.branch: "feature..x" is not a branch name`,
			"changes.services.checkout.environments: must not hold an empty name",
			"changes.services.checkout.calls: a service cannot call itself",
			`changes.services.checkout.calls: "payments" is listed twice`,
			`changes.services.checkout.calls: "no way" is not a service name`,
			"changes.services.db: branch and environments need a repo",
		}},
		{file: "changes-poll-nothing.yaml", wantErr: []string{"changes.poll: polls nothing", "changes.poll: needs github.token"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			c, err := Load(filepath.Join("testdata", tt.file))
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatal("Load succeeded")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error lacks %q:\n%v", w, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c.Changes)
		})
	}
}
