package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/config"
	"github.com/vigilops/vigil/internal/app"
	"github.com/vigilops/vigil/store"
)

type serveOptions struct {
	runFlags
	store string
	roles string
}

func newServeCmd() *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve --temporal-address HOST:PORT [--store DSN] [--roles ROLES]",
		Short: "Run a production Vigil replica: any number share one store and a Temporal cluster",
		Long: `Runs one Vigil replica. Any number of replicas share one store (--store) and one
Temporal cluster (--temporal-address); nothing that matters lives in a replica's
memory or disk, so replicas can be added, removed and restarted at any time.

--store names the store: postgres://user:password@host:5432/vigil for replicas on
any number of hosts, or sqlite:///path/vigil.db for a single replica (the default
is SQLite in --data-dir, as with vigil dev). env:NAME or file:PATH keeps the
password off the command line. The schema is migrated at start (vigil migrate does
it ahead of time).

--temporal-address is required: serve embeds no Temporal server. Point it at a
Temporal cluster, or at vigil temporal-server for tests and small installations.

--roles says which parts this replica runs, comma-separated (default all):
  api      the incidents, decisions, acts, runs, silences, timelines and reports
           API, and Slack (its HTTP endpoints, or Socket Mode)
  ingest   POST /api/v1/alerts/alertmanager, /api/v1/metrics, /api/v1/logs and
           the GitHub webhook; accepted signals are committed to the store, the
           queue every replica shares
  console  the web console's pages
  worker   the Temporal worker (incident and remediation workflows, runbook
           steps) and the singleton loops: the outbox dispatcher, the GitHub and
           Prometheus pollers, log file tails and retention. Each loop runs on
           one worker replica at a time, holding a lease in the store
           (ha.lease_ttl, default 15s); when that replica dies, another takes the
           loop over within about that time.
Scale api, ingest and console replicas behind a load balancer for requests, and
worker replicas for workflows and steps. Every replica serves GET /healthz (the
process is alive), GET /readyz (200 once the store answers with a current schema
and Temporal answers, else 503 with the reason) and GET /metrics.

With PostgreSQL, all replicas sign the audit trail with one key: audit.signing_key
is required. Set console.session_secret when several replicas serve the console.

SIGTERM or Ctrl-C stops the replica gracefully: requests in flight are answered,
and its leases are released so another replica takes its loops over at once.`,
		Example: `  # One replica of each kind on PostgreSQL, against a Temporal cluster:
  vigil serve --config /etc/vigil/vigil.yaml --store env:VIGIL_STORE --temporal-address temporal:7233 \
      --roles api,ingest,console --http-addr 0.0.0.0:8080
  vigil serve --config /etc/vigil/vigil.yaml --store env:VIGIL_STORE --temporal-address temporal:7233 \
      --roles worker --http-addr 0.0.0.0:8081
  # A single replica on SQLite:
  vigil serve --data-dir /var/lib/vigil --temporal-address 127.0.0.1:7233`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(o.configPath)
			if err != nil {
				return err
			}
			o.apply(cmd, &cfg)
			opts, err := o.resolve(cfg)
			if err != nil {
				return err
			}
			logger, err := newLogger(o.logLevel, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			opts.Logger = logger
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return serveMain(ctx, opts, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	o.register(f, runFlagHelp{
		dataDir:  "directory for a SQLite store, its spool and the development signing key",
		temporal: "host:port of the Temporal frontend (required, unless temporal.address is set in --config)",
		httpAddr: "address to serve on (0.0.0.0:8080 for every interface); port 0 picks a free one",
	})
	f.StringVar(&o.store, "store", "", "the store: postgres://user:password@host:5432/db or sqlite:///path/vigil.db, or env:NAME / file:PATH holding it (default: SQLite in --data-dir)")
	f.StringVar(&o.roles, "roles", app.AllRoles().String(), "the parts this replica runs, comma-separated: api, ingest, worker, console")
	return cmd
}

// resolve checks the flags against cfg and turns them into the app's options.
// Every error names the flag (or setting) to fix.
func (o *serveOptions) resolve(cfg config.Config) (app.Options, error) {
	addr := cfg.Temporal.Address
	if addr == "" {
		return app.Options{}, errors.New("--temporal-address is required: vigil serve embeds no Temporal server; give the host:port of a Temporal frontend " +
			"(or set temporal.address in --config); `vigil temporal-server` runs one on PostgreSQL, `vigil dev` an embedded one")
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return app.Options{}, fmt.Errorf("--temporal-address %q is not host:port (e.g. temporal.example.com:7233)", addr)
	}
	roles, err := app.ParseRoles(o.roles)
	if err != nil {
		return app.Options{}, fmt.Errorf("--roles: %w", err)
	}
	dsn, err := storeDSN(o.store)
	if err != nil {
		return app.Options{}, err
	}
	if err := cfg.Validate(); err != nil {
		return app.Options{}, fmt.Errorf("invalid settings: %w", err)
	}
	if engine, _, _ := store.ParseDSN(dsn); engine == store.Postgres && cfg.Audit.SigningKey == "" {
		return app.Options{}, app.ErrSharedSigningKey
	}
	return app.Options{Config: cfg, StoreDSN: dsn, TemporalAddress: addr, Roles: roles}, nil
}

// storeDSN reads --store: a DSN, or env:NAME or file:PATH holding one; empty
// stays empty (SQLite in the data directory).
func storeDSN(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	if strings.HasPrefix(v, "env:") || strings.HasPrefix(v, "file:") {
		dsn, err := config.Secret(v).Resolve()
		if err != nil {
			return "", fmt.Errorf("--store: %w", err)
		}
		v = strings.TrimSpace(dsn)
	}
	if _, _, err := store.ParseDSN(v); err != nil {
		return "", fmt.Errorf("--store: %w", err)
	}
	return v, nil
}

// serveMain runs one replica until ctx is done, then stops it gracefully. A
// SQLite store is one process's: its directory's lock is held meanwhile.
func serveMain(ctx context.Context, o app.Options, out io.Writer) error {
	if dir, ok := sqliteDir(o); ok {
		unlock, err := lockDataDir(dir)
		if err != nil {
			return err
		}
		defer unlock()
		if o.Holder == "" {
			if o.Holder, err = dataDirHolder(dir); err != nil {
				return err
			}
		}
	}
	a, err := startReplica(ctx, o, out)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		o.Logger.Info("shutting down")
	case <-a.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
	defer cancel()
	if err := a.Stop(sctx); err != nil {
		return err
	}
	o.Logger.Info("Vigil stopped")
	return nil
}

// startReplica starts Vigil as o says and prints its ready line.
func startReplica(ctx context.Context, o app.Options, out io.Writer) (*app.App, error) {
	a, err := app.New(ctx, o)
	if err != nil {
		return nil, err
	}
	if err := a.Start(ctx); err != nil {
		_ = a.Stop(context.WithoutCancel(ctx))
		return nil, err
	}
	fmt.Fprintf(out, "Vigil serving on http://%s: roles %s, store %s, Temporal %s\n", a.Addr(), a.Roles(), a.Store(), o.TemporalAddress)
	return a, nil
}

// sqliteDir is the directory of o's store when it is SQLite.
func sqliteDir(o app.Options) (string, bool) {
	if o.StoreDSN == "" {
		return o.Config.DataDir, true
	}
	engine, path, err := store.ParseDSN(o.StoreDSN)
	if err != nil || engine != store.SQLite {
		return "", false
	}
	return filepath.Dir(path), true
}
