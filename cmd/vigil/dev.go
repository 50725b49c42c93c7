package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/config"
	"github.com/vigilops/vigil/internal/app"
	"github.com/vigilops/vigil/internal/devtemporal"
)

// Files under the data directory.
const (
	vigilDB    = app.StoreFile
	temporalDB = "temporal.db"
)

type devOptions struct {
	runFlags
	consoleUser string
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
directory and every open incident is still there, still waiting.

For production (replicas on PostgreSQL and a Temporal cluster), see vigil serve.`,
		Example: `  vigil dev --demo                       # play a demo incident, then approve its rollback in the console
  vigil dev --data-dir /var/lib/vigil --runbooks ./runbooks
  vigil dev --temporal-address temporal.internal:7233 --config vigil.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(o.configPath)
			if err != nil {
				return err
			}
			o.apply(cmd, &cfg)
			if o.demo {
				if err := demoConfig(&cfg); err != nil {
					return err
				}
			}
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
	f := cmd.Flags()
	o.register(f, runFlagHelp{
		dataDir:  "directory for Vigil's store and the embedded Temporal database",
		temporal: "host:port of an external Temporal frontend; empty runs the embedded server",
		httpAddr: "address for the console, ingest and API",
	})
	f.StringVar(&o.consoleUser, "console-user", config.Default().Console.User, "identity the console acts as in development mode")
	f.BoolVar(&o.demo, "demo", false, "play a built-in demo incident (a bad deploy seen across three services) into this Vigil once it is up")
	return cmd
}

// apply overrides configuration with the flags the user set.
func (o *devOptions) apply(cmd *cobra.Command, cfg *config.Config) {
	o.runFlags.apply(cmd, cfg)
	if cmd.Flags().Changed("console-user") || o.configPath == "" {
		cfg.Console.User = o.consoleUser
	}
}

func newLogger(level string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// devMain runs Vigil as `vigil dev` until ctx is done, then shuts it down in
// reverse order and reports a clean stop.
func devMain(ctx context.Context, cfg config.Config, demo bool, logger *slog.Logger, out io.Writer) error {
	d, err := startDev(ctx, cfg, logger)
	if err != nil {
		return err
	}
	base := "http://" + d.app.Addr()
	fmt.Fprintf(out, "Vigil is running.\n  console:  %s/\n  ingest:   POST %s/api/v1/alerts/alertmanager\n  data dir: %s\nPress Ctrl-C to stop.\n", base, base, cfg.DataDir)
	if demo {
		go playDemo(ctx, base, cfg, logger, out)
	}
	select {
	case <-ctx.Done():
		logger.Info("shutting down")
	case <-d.app.Done():
	}
	if err := d.stop(); err != nil {
		return err
	}
	logger.Info("Vigil stopped")
	return nil
}

// devVigil is `vigil dev` running: the app with every role, on the embedded
// Temporal server unless temporal.address names one, holding the data
// directory's lock.
type devVigil struct {
	app  *app.App
	stop func() error // the app, then the embedded server, then the lock
}

// stopTimeout bounds the wait for HTTP requests in flight at shutdown.
const stopTimeout = 10 * time.Second

// startDev takes the data directory's lock, starts the embedded Temporal
// server (when temporal.address is empty) and starts Vigil on them.
func startDev(ctx context.Context, cfg config.Config, logger *slog.Logger) (_ *devVigil, err error) {
	unlock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	var stops []func() error // in reverse order of start
	stop := func() error {
		var errs []error
		for i := len(stops) - 1; i >= 0; i-- {
			errs = append(errs, stops[i]())
		}
		stops = nil
		return errors.Join(errs...)
	}
	stops = append(stops, func() error { unlock(); return nil })
	defer func() {
		if err != nil {
			_ = stop()
		}
	}()
	addr := cfg.Temporal.Address
	if addr == "" {
		start := time.Now()
		srv, err := devtemporal.Start(ctx, devtemporal.Options{
			DBPath: filepath.Join(cfg.DataDir, temporalDB), Namespace: cfg.Temporal.Namespace,
			Logger: logger.With("component", "temporal-server"),
		})
		if err != nil {
			return nil, err
		}
		stops = append(stops, func() error {
			if err := srv.Stop(); err != nil {
				logger.Warn("embedded temporal: stop", "err", err)
			}
			return nil
		})
		addr = srv.Address()
		logger.Info("embedded Temporal server started", "address", addr, "took", time.Since(start).Round(time.Millisecond))
	}
	if len(cfg.Temporal.Encryption.Keys) == 0 {
		key, err := app.DevPayloadKey(cfg.DataDir)
		if err != nil {
			return nil, err
		}
		cfg.Temporal.Encryption.Keys = []config.EncryptionKey{key}
	}
	holder, err := dataDirHolder(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	a, err := app.New(ctx, app.Options{Config: cfg, TemporalAddress: addr, Logger: logger, Holder: holder})
	if err != nil {
		return nil, err
	}
	stops = append(stops, func() error {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
		defer cancel()
		return a.Stop(sctx)
	})
	if err := a.Start(ctx); err != nil {
		return nil, err
	}
	return &devVigil{app: a, stop: stop}, nil
}

// dataDirHolder names the process holding dir's lock in the store's leases.
// The lock makes it the only process on dir, so the name can stay the same
// across restarts: a Vigil started again after a crash takes back its
// singleton loops at once instead of waiting out the leases the dead one held.
func dataDirHolder(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("data dir: %w", err)
	}
	host, _ := os.Hostname()
	return host + ":" + abs, nil
}
