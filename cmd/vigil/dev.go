package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/vigilops/vigil/activities"
	"github.com/vigilops/vigil/bot/console"
	"github.com/vigilops/vigil/config"
	"github.com/vigilops/vigil/ingest"
	"github.com/vigilops/vigil/internal/devtemporal"
	"github.com/vigilops/vigil/internal/httpx"
	"github.com/vigilops/vigil/runbooks"
	"github.com/vigilops/vigil/store"
	"github.com/vigilops/vigil/workflows"
)

// Files under the data directory.
const (
	vigilDB    = "vigil.db"
	temporalDB = "temporal.db"
)

type devOptions struct {
	configPath  string
	dataDir     string
	temporal    string
	namespace   string
	httpAddr    string
	runbooksDir string
	consoleUser string
	logLevel    string
	demo        bool
}

func newDevCmd() *cobra.Command {
	var o devOptions
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run Vigil in one process: embedded Temporal, worker, ingest API and console",
		Long: `Runs everything Vigil needs in one process:
  - an embedded Temporal server persisted to SQLite under --data-dir
    (or an external cluster with --temporal-address),
  - the worker that runs incident and remediation workflows,
  - the ingest API (POST /api/v1/alerts/alertmanager) and the incidents API,
  - the web console, which in development mode acts as --console-user without a login.

State lives in --data-dir: stop Vigil (Ctrl-C) and start it again with the same
directory and every open incident is still there, still waiting.`,
		Example: `  vigil dev --demo                       # play a demo incident, then approve it in the console
  vigil dev --data-dir /var/lib/vigil --runbooks ./runbooks
  vigil dev --temporal-address temporal.internal:7233 --config vigil.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(o.configPath)
			if err != nil {
				return err
			}
			o.apply(cmd, &cfg)
			if err := cfg.Validate(); err != nil {
				return fmt.Errorf("invalid settings: %w", err)
			}
			logger, err := newLogger(o.logLevel, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return devMain(ctx, cfg, o.demo, logger, cmd.OutOrStdout())
		},
	}
	d := config.Default()
	f := cmd.Flags()
	f.StringVar(&o.configPath, "config", "", "vigil.yaml to load (flags override it; default: built-in defaults)")
	f.StringVar(&o.dataDir, "data-dir", d.DataDir, "directory for Vigil's store and the embedded Temporal database")
	f.StringVar(&o.temporal, "temporal-address", "", "host:port of an external Temporal frontend; empty runs the embedded server")
	f.StringVar(&o.namespace, "namespace", d.Temporal.Namespace, "Temporal namespace")
	f.StringVar(&o.httpAddr, "http-addr", d.HTTP.Addr, "address for the console, ingest and API")
	f.StringVar(&o.runbooksDir, "runbooks", d.Runbooks.Dir, "directory of runbook YAML files")
	f.StringVar(&o.consoleUser, "console-user", d.Console.User, "identity the console acts as in development mode")
	f.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	f.BoolVar(&o.demo, "demo", false, "post a built-in demo alert to this Vigil once it is up")
	return cmd
}

// apply overrides configuration with the flags the user set.
func (o *devOptions) apply(cmd *cobra.Command, cfg *config.Config) {
	set := func(name string, dst *string, v string) {
		if cmd.Flags().Changed(name) || o.configPath == "" {
			*dst = v
		}
	}
	set("data-dir", &cfg.DataDir, o.dataDir)
	set("temporal-address", &cfg.Temporal.Address, o.temporal)
	set("namespace", &cfg.Temporal.Namespace, o.namespace)
	set("http-addr", &cfg.HTTP.Addr, o.httpAddr)
	set("runbooks", &cfg.Runbooks.Dir, o.runbooksDir)
	set("console-user", &cfg.Console.User, o.consoleUser)
}

func newLogger(level string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// runDev runs every part of Vigil until ctx is done, then shuts them down in
// reverse order.
func runDev(ctx context.Context, cfg config.Config, demo bool, logger *slog.Logger, out io.Writer) error {
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	st, err := store.Open(filepath.Join(cfg.DataDir, vigilDB))
	if err != nil {
		return err
	}
	defer st.Close()

	lib, problems, err := runbooks.LoadDir(cfg.Runbooks.Dir, cfg.Groups)
	if err != nil {
		return err
	}
	for _, p := range problems {
		logger.Error("runbook not loaded", "problem", p.String())
	}
	logger.Info("runbooks loaded", "dir", cfg.Runbooks.Dir, "count", len(lib.Runbooks), "problems", len(problems))

	addr := cfg.Temporal.Address
	if addr == "" {
		start := time.Now()
		srv, err := devtemporal.Start(ctx, devtemporal.Options{
			DBPath: filepath.Join(cfg.DataDir, temporalDB), Namespace: cfg.Temporal.Namespace,
			Logger: logger.With("component", "temporal-server"),
		})
		if err != nil {
			return err
		}
		defer func() {
			if err := srv.Stop(); err != nil {
				logger.Warn("embedded temporal: stop", "err", err)
			}
		}()
		addr = srv.Address()
		logger.Info("embedded Temporal server started", "address", addr, "took", time.Since(start).Round(time.Millisecond))
	}
	tc, err := client.DialContext(ctx, client.Options{
		HostPort: addr, Namespace: cfg.Temporal.Namespace,
		Logger: sdklog.NewStructuredLogger(logger.With("component", "temporal-sdk")),
	})
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s: %w", addr, err)
	}
	defer tc.Close()

	thread := console.Thread{Store: st}
	w := worker.New(tc, cfg.Temporal.TaskQueue, worker.Options{})
	w.RegisterWorkflow(workflows.IncidentWorkflow)
	w.RegisterWorkflow(workflows.RemediationWorkflow)
	w.RegisterActivity(&activities.Activities{
		Store: st, Chat: thread, Runbooks: runbooks.NewHolder(lib), Groups: cfg.Groups,
		Steps: runbooks.Executor{}, Logger: logger,
	})
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	defer w.Stop()

	wf := workflows.Client{Temporal: tc, TaskQueue: cfg.Temporal.TaskQueue}
	disp := ingest.NewDispatcher(st, wf, logger.With("component", "dispatch"))
	disp.Policy = incidentPolicy(cfg)
	dctx, stopDispatch := context.WithCancel(ctx)
	dispatched := make(chan struct{})
	go func() { defer close(dispatched); disp.Run(dctx) }()
	defer func() { stopDispatch(); <-dispatched }()

	tokens, err := resolveTokens(cfg.Ingest.Tokens)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("POST /api/v1/alerts/alertmanager", httpx.RequireBearer(tokens, &ingest.Alertmanager{
		Store: st, GroupBy: cfg.Ingest.GroupBy, Notify: disp.Wake, Logger: logger.With("component", "ingest"),
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	(&console.Console{Store: st, Decider: wf, User: cfg.Console.User, Logger: logger.With("component", "console")}).Register(mux)

	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (use --http-addr to pick another): %w", cfg.HTTP.Addr, err)
	}
	hs := &http.Server{Handler: limitBodies(cfg.HTTP.MaxBodyBytes, mux), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "Vigil is running.\n  console:  %s/\n  ingest:   POST %s/api/v1/alerts/alertmanager\n  data dir: %s\nPress Ctrl-C to stop.\n", base, base, cfg.DataDir)
	if demo {
		go playDemo(ctx, base, cfg.DataDir, logger, out)
	}

	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("http server: %w", err)
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Warn("http shutdown", "err", err)
	}
	return nil
}

// devMain runs runDev and reports a clean stop, after every deferred shutdown.
func devMain(ctx context.Context, cfg config.Config, demo bool, logger *slog.Logger, out io.Writer) error {
	if err := runDev(ctx, cfg, demo, logger, out); err != nil {
		return err
	}
	logger.Info("Vigil stopped")
	return nil
}

// limitBodies caps every request body; handlers see an *http.MaxBytesError past it.
func limitBodies(limit int64, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		h.ServeHTTP(w, r)
	})
}

func resolveTokens(refs []config.Secret) ([]string, error) {
	var out []string
	for _, r := range refs {
		v, err := r.Resolve()
		if err != nil {
			return nil, fmt.Errorf("ingest.tokens: %w", err)
		}
		out = append(out, strings.TrimSpace(v))
	}
	return out, nil
}

// incidentPolicy is what new incidents run under, from configuration.
func incidentPolicy(cfg config.Config) workflows.IncidentPolicy {
	p := workflows.IncidentPolicy{NoAckAfter: cfg.Escalation.NoAckAfter, EscalateTo: cfg.Escalation.EscalateTo}
	for _, r := range cfg.Autonomy {
		p.Autonomy = append(p.Autonomy, workflows.AutonomyRule{Name: r.Name, Runbooks: r.Runbooks, Services: r.Services})
	}
	return p
}
