package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/google/go-github/v60/github"

	"github.com/vigilops/vigil/config"
	"github.com/vigilops/vigil/runbooks"
)

// loadRunbooks loads the runbook library from its source (runbooks.github
// when set, else runbooks.dir); the returned reloader keeps it current once
// run, on every replica. It also returns the GitHub client for github steps,
// nil when no github.token is configured. A directory that cannot be read
// stops Vigil from starting; an unreachable GitHub only delays the runbooks
// until a later sync succeeds.
func loadRunbooks(ctx context.Context, cfg config.Config, logger *slog.Logger) (*runbooks.Reloader, *github.Client, error) {
	var token string
	if cfg.GitHub.Token != "" {
		var err error
		if token, err = cfg.GitHub.Token.Resolve(); err != nil {
			return nil, nil, fmt.Errorf("github.token: %w", err)
		}
	}
	gh, err := runbooks.NewGitHubClient(cfg.GitHub.BaseURL, token, nil)
	if err != nil {
		return nil, nil, err
	}
	dir := runbooks.Directory{Groups: cfg.Groups, OnCall: cfg.OnCall}
	rl := &runbooks.Reloader{
		Source: runbooks.Dir(cfg.Runbooks.Dir), Interval: cfg.Runbooks.Reload,
		Directory: dir, Holder: runbooks.NewHolder(&runbooks.Library{Directory: dir}), Logger: logger,
	}
	if cfg.Runbooks.GitHub != "" {
		if rl.Source, err = runbooks.ParseGitHubRepo(cfg.Runbooks.GitHub, gh); err != nil {
			return nil, nil, err
		}
		rl.Interval = cfg.Runbooks.Sync
	}
	if _, err := rl.Poll(ctx); err != nil {
		if cfg.Runbooks.GitHub == "" {
			return nil, nil, err
		}
		logger.Error("runbooks not loaded yet; retrying at every sync", "source", rl.Source.String(), "err", err)
	}
	if token == "" {
		gh = nil
	}
	return rl, gh, nil
}
