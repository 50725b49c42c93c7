package changes

import (
	"cmp"
	"slices"
	"strings"
)

// Service is a service built from a GitHub repository.
type Service struct {
	Name string
	Repo string // owner/name
	// Branch whose merges and pushes change the service; empty means the
	// repository's default branch.
	Branch string
	// Environments whose deployments change the service; empty means all.
	Environments []string
}

// Catalog knows which services each repository builds.
type Catalog struct {
	byRepo map[string][]Service // by lower-cased owner/name; sorted by name
}

// NewCatalog returns the catalog of services; those without a repository are
// left out.
func NewCatalog(services []Service) *Catalog {
	c := &Catalog{byRepo: map[string][]Service{}}
	for _, s := range services {
		if s.Repo != "" {
			k := strings.ToLower(s.Repo)
			c.byRepo[k] = append(c.byRepo[k], s)
		}
	}
	for _, ss := range c.byRepo {
		slices.SortFunc(ss, func(a, b Service) int { return cmp.Compare(a.Name, b.Name) })
	}
	return c
}

// Services returns the services built from repo. A nil catalog has none.
func (c *Catalog) Services(repo string) []Service {
	if c == nil {
		return nil
	}
	return c.byRepo[strings.ToLower(repo)]
}

// Repos returns the repositories with services, sorted, as configured.
func (c *Catalog) Repos() []string {
	if c == nil {
		return nil
	}
	var out []string
	for _, ss := range c.byRepo {
		out = append(out, ss[0].Repo)
	}
	slices.Sort(out)
	return out
}

// Attribute returns the change once for each service it concerns:
//   - a deployment concerns the services of its repository whose
//     environments include its environment (or that name none);
//   - a merge, push or commit concerns those whose branch it landed on
//     (defaultBranch for services that name no branch).
//
// A change to a repository that builds no service is returned as is, with no
// service, if it is a deployment or landed on defaultBranch, so it still shows
// on timelines. Anything else concerns nothing (a push to a feature branch, a
// deployment to staging of a service that only counts production).
func (c *Catalog) Attribute(ch Change, defaultBranch string) []Change {
	services := c.Services(ch.Repo)
	if len(services) == 0 {
		if ch.Kind == KindDeploy || defaultBranch == "" || ch.Branch == defaultBranch {
			return []Change{ch}
		}
		return nil
	}
	var out []Change
	for _, s := range services {
		if concerns(s, ch, defaultBranch) {
			out = append(out, ch.ForService(s.Name))
		}
	}
	return out
}

func concerns(s Service, ch Change, defaultBranch string) bool {
	if ch.Kind == KindDeploy {
		return len(s.Environments) == 0 || slices.Contains(s.Environments, ch.Environment)
	}
	return ch.Branch == cmp.Or(s.Branch, defaultBranch)
}
