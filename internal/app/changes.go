package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/vigilops/vigil/analyzers/correlate"
	"github.com/vigilops/vigil/changes"
	"github.com/vigilops/vigil/config"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/ingest"
	"github.com/vigilops/vigil/runbooks"
	"github.com/vigilops/vigil/store"
)

// serviceCatalog is changes.services as the changes package takes it.
func serviceCatalog(cfg config.Config) *changes.Catalog {
	var services []changes.Service
	for _, name := range slices.Sorted(maps.Keys(cfg.Changes.Services)) {
		s := cfg.Changes.Services[name]
		services = append(services, changes.Service{Name: name, Repo: s.Repo, Branch: s.Branch, Environments: s.Environments})
	}
	return changes.NewCatalog(services)
}

// wireChanges registers the GitHub webhook on mux (ingest role) when
// changes.webhook_secret is set (outside the bearer tokens: the HMAC
// signature is its authentication), and adds the GitHub change poller as a
// singleton (worker role) when changes.poll is set, through gh (validation
// requires github.token for polling).
func wireChanges(r *runs, roles Roles, cfg config.Config, st *store.Store, gh *github.Client, mux *http.ServeMux, notify func(), logger *slog.Logger) error {
	logger = logger.With("component", "changes")
	catalog := serviceCatalog(cfg)
	if cfg.Changes.WebhookSecret != "" && roles.Has(RoleIngest) {
		secret, err := cfg.Changes.WebhookSecret.Resolve()
		if err != nil {
			return fmt.Errorf("changes.webhook_secret: %w", err)
		}
		mux.Handle("POST /api/v1/github/webhook", &ingest.GitHub{Store: st, Secret: []byte(secret), Catalog: catalog, Notify: notify, Logger: logger})
		logger.Info("GitHub webhooks on", "path", "/api/v1/github/webhook")
	}
	if cfg.Changes.Poll == 0 || !roles.Has(RoleWorker) {
		return nil
	}
	p := &changes.Poller{
		Fetcher: changes.NewFetcher(gh, catalog, cfg.Changes.LookbackOrDefault(), logger), Store: st,
		Interval: cfg.Changes.Poll, Notify: notify, Logger: logger, Now: time.Now,
	}
	r.singleton("changes-poll", func(ctx context.Context) {
		logger.Info("polling GitHub for changes", "repos", catalog.Repos(), "every", cfg.Changes.Poll)
		p.Run(ctx)
	})
	return nil
}

// correlateIngest makes ingest route signals through analyzers/correlate, over
// the service catalogue's dependency edges and, with learning on, the edges
// learned from which services alert together.
func correlateIngest(st *store.Store, cfg config.Config) error {
	c := cfg.Ingest.Correlation
	if !c.Enabled {
		return nil
	}
	var learner *correlate.Learner
	if c.Learn {
		var err error
		if learner, err = correlate.NewLearner(correlate.DefaultLearnConfig()); err != nil {
			return err
		}
	}
	corr, err := correlate.NewCorrelator(correlate.Config{
		Window: c.Window, ChangeLookback: cfg.Changes.LookbackOrDefault(), MaxHops: c.MaxHops,
	}, correlate.NewGraph(cfg.Changes.Edges()), learner)
	if err != nil {
		return fmt.Errorf("ingest.correlation: %w", err)
	}
	st.Correlate(corr, learner)
	return nil
}

// loadInhibitions parses ingest.inhibit_rules and loads the firing alerts that
// may inhibit. Errors name the rule and matcher to fix.
func loadInhibitions(ctx context.Context, st *store.Store, rules []config.InhibitRule) (*ingest.Inhibitions, error) {
	var out []correlate.InhibitRule
	var errs []error
	parse := func(i int, side string, texts []string) correlate.Matchers {
		var ms correlate.Matchers
		for j, t := range texts {
			m, err := runbooks.ParseMatcher(t)
			if err != nil {
				errs = append(errs, fmt.Errorf("ingest.inhibit_rules[%d].%s[%d]: %w", i, side, j, err))
				continue
			}
			ms = append(ms, m)
		}
		return ms
	}
	for i, r := range rules {
		out = append(out, correlate.InhibitRule{
			Source: parse(i, "source_matchers", r.SourceMatchers),
			Target: parse(i, "target_matchers", r.TargetMatchers),
			Equal:  r.Equal,
		})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return ingest.LoadInhibitions(ctx, st, out)
}

// changeLookup returns the dispatcher's hook that, for each new incident,
// fetches the changes to its services before its onset through the GitHub API
// (changes.Lookup). It returns nil when there is nothing to ask: no
// github.token, or no service in the catalogue with a repository. Each
// lookup runs in a goroutine of its own, started by spawn (nil: go).
func changeLookup(ctx context.Context, cfg config.Config, gh *github.Client, st *store.Store, notify func(), spawn func(func()), logger *slog.Logger) func(store.Delivery) {
	catalog := serviceCatalog(cfg)
	if gh == nil || len(catalog.Repos()) == 0 {
		return nil
	}
	logger = logger.With("component", "changes")
	l := &changes.Lookup{
		Fetcher: changes.NewFetcher(gh, catalog, cfg.Changes.LookbackOrDefault(), logger),
		Store:   st, Notify: notify, Logger: logger,
	}
	busy := make(chan struct{}, 4) // lookups at once, so a storm does not flood GitHub
	if spawn == nil {
		spawn = func(f func()) { go f() }
	}
	return func(dl store.Delivery) {
		svcs := map[string]bool{}
		if s := dl.GroupLabels["service"]; s != "" {
			svcs[s] = true
		}
		var onset time.Time
		for _, e := range dl.Events {
			if e.Kind == incident.KindChange || e.Kind == incident.KindMerge {
				continue // not symptoms: they say nothing of the onset
			}
			if s := e.Labels["service"]; s != "" {
				svcs[s] = true
			}
			if !e.StartsAt.IsZero() && (onset.IsZero() || e.StartsAt.Before(onset)) {
				onset = e.StartsAt
			}
		}
		spawn(func() {
			select {
			case busy <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-busy }()
			lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if _, err := l.Opened(lctx, dl.IncidentID, slices.Sorted(maps.Keys(svcs)), onset); err != nil {
				logger.Warn("changes before onset: lookup failed", "incident", dl.IncidentID, "err", err)
			}
		})
	}
}
