package changes

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"
)

// maxPages bounds how many pages of 100 one listing reads, so a busy
// repository cannot spend the API rate limit on one incident.
const maxPages = 5

// Fetcher lists the changes of catalogued services through the GitHub REST
// API. It is safe for concurrent use.
type Fetcher struct {
	client   *github.Client
	catalog  *Catalog
	lookback time.Duration
	logger   *slog.Logger

	mu       sync.Mutex
	defaults map[string]string // repo -> default branch, looked up once
}

// NewFetcher returns a fetcher that looks lookback before an onset.
func NewFetcher(client *github.Client, catalog *Catalog, lookback time.Duration, logger *slog.Logger) *Fetcher {
	return &Fetcher{client: client, catalog: catalog, lookback: lookback, logger: logger, defaults: map[string]string{}}
}

// Before returns the changes to services in the lookback window before onset
// (onset included), oldest first. See Between.
func (f *Fetcher) Before(ctx context.Context, services []string, onset time.Time) ([]Change, error) {
	return f.Between(ctx, services, onset.Add(-f.lookback), onset)
}

// Between returns the changes to services (every catalogued service when
// services is nil) made from from through to, oldest first: deployments of
// their environments, pull requests merged into their branches (with their
// merge commits left out of the commits), and commits on their branches. A
// deployment that shipped a listed pull request's merge commit names it.
//
// A repository that cannot be read is skipped; the error names each one, and
// the changes of the others are still returned.
func (f *Fetcher) Between(ctx context.Context, services []string, from, to time.Time) ([]Change, error) {
	var out []Change
	var errs []error
	for _, repo := range f.catalog.Repos() {
		var wanted []Service
		for _, s := range f.catalog.Services(repo) {
			if services == nil || slices.Contains(services, s.Name) {
				wanted = append(wanted, s)
			}
		}
		if len(wanted) == 0 {
			continue
		}
		cs, err := f.repo(ctx, repo, wanted, from, to)
		if err != nil {
			errs = append(errs, fmt.Errorf("changes: %s: %w", repo, err))
			continue
		}
		out = append(out, cs...)
	}
	slices.SortFunc(out, func(a, b Change) int { return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.ID, b.ID)) })
	return out, errors.Join(errs...)
}

// repo lists one repository's changes for the wanted services.
func (f *Fetcher) repo(ctx context.Context, repo string, wanted []Service, from, to time.Time) ([]Change, error) {
	owner, name, _ := strings.Cut(repo, "/")
	def := ""
	if slices.ContainsFunc(wanted, func(s Service) bool { return s.Branch == "" }) {
		var err error
		if def, err = f.defaultBranch(ctx, owner, name); err != nil {
			return nil, err
		}
	}
	var found []Change
	var mergeSHAs []string
	byPR := map[string]*PullRef{}
	branches := map[string]bool{}
	for _, s := range wanted {
		branches[cmp.Or(s.Branch, def)] = true
	}
	for _, branch := range slices.Sorted(maps.Keys(branches)) {
		prs, err := f.mergedPRs(ctx, owner, name, branch, from, to)
		if err != nil {
			return nil, err
		}
		for _, pr := range prs {
			c := FromPullRequest(repo, pr)
			found = append(found, c)
			mergeSHAs = append(mergeSHAs, c.SHA)
			byPR[c.SHA] = &PullRef{Number: c.Number, Author: c.Author}
		}
		commits, err := f.commits(ctx, owner, name, branch, from, to)
		if err != nil {
			return nil, err
		}
		for _, rc := range commits {
			if !slices.Contains(mergeSHAs, rc.GetSHA()) {
				found = append(found, FromCommit(repo, branch, rc))
			}
		}
	}
	deploys, err := f.deployments(ctx, owner, name, from, to)
	if err != nil {
		return nil, err
	}
	for _, d := range deploys {
		c := FromDeployment(repo, d)
		c.PR = byPR[c.SHA]
		found = append(found, c)
	}
	var out []Change
	for _, c := range found {
		for _, a := range f.catalog.Attribute(c, def) {
			if slices.ContainsFunc(wanted, func(s Service) bool { return s.Name == a.Service }) {
				out = append(out, a)
			}
		}
	}
	return out, nil
}

func (f *Fetcher) defaultBranch(ctx context.Context, owner, name string) (string, error) {
	key := strings.ToLower(owner + "/" + name)
	f.mu.Lock()
	b, ok := f.defaults[key]
	f.mu.Unlock()
	if ok {
		return b, nil
	}
	r, _, err := f.client.Repositories.Get(ctx, owner, name)
	if err != nil {
		return "", fmt.Errorf("read the default branch: %w", err)
	}
	b = r.GetDefaultBranch()
	f.mu.Lock()
	f.defaults[key] = b
	f.mu.Unlock()
	return b, nil
}

// mergedPRs lists pull requests merged into branch in [from, to]. Closed pull
// requests come most recently updated first, and a merge updates a pull
// request, so the listing stops at the first one updated before from.
func (f *Fetcher) mergedPRs(ctx context.Context, owner, name, branch string, from, to time.Time) ([]*github.PullRequest, error) {
	opts := &github.PullRequestListOptions{State: "closed", Base: branch, Sort: "updated", Direction: "desc", ListOptions: github.ListOptions{PerPage: 100}}
	var out []*github.PullRequest
	for page := 0; page < maxPages; page++ {
		prs, resp, err := f.client.PullRequests.List(ctx, owner, name, opts)
		if err != nil {
			return nil, fmt.Errorf("list pull requests into %s: %w", branch, err)
		}
		for _, pr := range prs {
			if pr.GetUpdatedAt().Before(from) {
				return out, nil
			}
			if m := pr.GetMergedAt().Time; !m.IsZero() && !m.Before(from) && !m.After(to) {
				out = append(out, pr)
			}
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
	f.logger.Warn("changes: pull requests truncated", "repo", owner+"/"+name, "branch", branch, "pages", maxPages)
	return out, nil
}

// commits lists the commits on branch committed in [from, to].
func (f *Fetcher) commits(ctx context.Context, owner, name, branch string, from, to time.Time) ([]*github.RepositoryCommit, error) {
	opts := &github.CommitsListOptions{SHA: branch, Since: from, Until: to, ListOptions: github.ListOptions{PerPage: 100}}
	var out []*github.RepositoryCommit
	for page := 0; page < maxPages; page++ {
		cs, resp, err := f.client.Repositories.ListCommits(ctx, owner, name, opts)
		if err != nil {
			return nil, fmt.Errorf("list commits of %s: %w", branch, err)
		}
		out = append(out, cs...)
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
	f.logger.Warn("changes: commits truncated", "repo", owner+"/"+name, "branch", branch, "pages", maxPages)
	return out, nil
}

// deployments lists the deployments created in [from, to]; the API lists the
// newest first, so the listing stops at the first one created before from.
func (f *Fetcher) deployments(ctx context.Context, owner, name string, from, to time.Time) ([]*github.Deployment, error) {
	opts := &github.DeploymentsListOptions{ListOptions: github.ListOptions{PerPage: 100}}
	var out []*github.Deployment
	for page := 0; page < maxPages; page++ {
		ds, resp, err := f.client.Repositories.ListDeployments(ctx, owner, name, opts)
		if err != nil {
			return nil, fmt.Errorf("list deployments: %w", err)
		}
		for _, d := range ds {
			at := d.GetCreatedAt().Time
			if at.Before(from) {
				return out, nil
			}
			if !at.After(to) {
				out = append(out, d)
			}
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
	f.logger.Warn("changes: deployments truncated", "repo", owner+"/"+name, "pages", maxPages)
	return out, nil
}
