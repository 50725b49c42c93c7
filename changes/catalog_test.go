package changes

import (
	"strings"
	"testing"
)

func TestAttribute(t *testing.T) {
	cat := NewCatalog([]Service{
		{Name: "checkout", Repo: "Acme/Checkout", Environments: []string{"production"}},
		{Name: "inventory", Repo: "acme/checkout"},
		{Name: "payments", Repo: "acme/payments", Branch: "release"},
		{Name: "db"}, // no repository: never attributed
	})
	deploy := func(repo, env string) Change {
		return Change{ID: "d", Kind: KindDeploy, Repo: repo, Environment: env}
	}
	landed := func(kind, repo, branch string) Change {
		return Change{ID: "c", Kind: kind, Repo: repo, Branch: branch}
	}
	tests := []struct {
		name          string
		change        Change
		defaultBranch string
		want          string // "ID:service ..." of the results
	}{
		{"deployment to production: both services", deploy("acme/checkout", "production"), "main", "d@checkout:checkout d@inventory:inventory"},
		{"deployment to staging: the service counting every environment", deploy("acme/checkout", "staging"), "main", "d@inventory:inventory"},
		{"repository names are case-insensitive", deploy("ACME/CHECKOUT", "production"), "main", "d@checkout:checkout d@inventory:inventory"},
		{"merge into the default branch", landed(KindPullRequest, "acme/checkout", "main"), "main", "c@checkout:checkout c@inventory:inventory"},
		{"push to a feature branch", landed(KindPush, "acme/checkout", "feature"), "main", ""},
		{"a configured branch replaces the default", landed(KindCommit, "acme/payments", "release"), "main", "c@payments:payments"},
		{"the default branch of a service with its own", landed(KindCommit, "acme/payments", "main"), "main", ""},
		{"an unmapped repository's default branch: no service", landed(KindPush, "acme/website", "main"), "main", "c:"},
		{"an unmapped repository's feature branch", landed(KindPush, "acme/website", "wip"), "main", ""},
		{"an unmapped repository's deployment", deploy("acme/website", "preview"), "", "d:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, c := range cat.Attribute(tt.change, tt.defaultBranch) {
				got = append(got, c.ID+":"+c.Service)
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("Attribute = %q, want %q", g, tt.want)
			}
		})
	}
	if got := cat.Repos(); strings.Join(got, " ") != "Acme/Checkout acme/payments" {
		t.Errorf("Repos = %v", got)
	}
}
