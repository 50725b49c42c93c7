package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/config"
	"github.com/vigilops/vigil/internal/devtemporal"
	"github.com/vigilops/vigil/store"
)

type temporalServerOptions struct {
	store      string
	visibility string
	listen     string
	namespace  string
	logLevel   string
}

func newTemporalServerCmd() *cobra.Command {
	var o temporalServerOptions
	cmd := &cobra.Command{
		Use:   "temporal-server",
		Short: "Run a single Temporal server persisted to PostgreSQL, for Vigil replicas to share",
		Long: `Runs a Temporal server (frontend, history, matching and worker services in this
one process) that keeps its state in PostgreSQL. Several Vigil replicas can point
--temporal-address at it. It is one server process, not a cluster: one runs per
database (a second is refused at start), so use a Temporal cluster where Temporal
itself must be highly available.

--store names the database. It is created if missing (the role then needs
CREATEDB); its schema is set up on the first start and updated to this Vigil's
Temporal version on later starts; the namespace is registered if missing.
Visibility records (what listing workflows reads) go to --visibility-store, by
default the database <name>_visibility on the same server, prepared the same way.
Either flag takes a URL, or env:NAME or file:PATH to keep the password off the
command line.

The frontend listens on --listen. The other services stay on loopback ports. With
a wildcard address (0.0.0.0:7233 in a container) the services reach the frontend
through 127.0.0.1, and so do clients on this host; clients elsewhere dial the
host's own address.

Stop it with Ctrl-C or SIGTERM; workflows carry on when it starts again.`,
		Example: `  vigil temporal-server --store postgres://temporal:secret@db:5432/temporal
  vigil temporal-server --store env:TEMPORAL_STORE --listen 0.0.0.0:7233 --namespace vigil
  vigil temporal-server --store file:/run/secrets/temporal-dsn \
      --visibility-store file:/run/secrets/temporal-visibility-dsn`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := o.resolve()
			if err != nil {
				return err
			}
			logger, err := newLogger(o.logLevel, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			opts.Logger = logger
			return runTemporalServer(ctx, opts, logger, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.store, "store", "", "PostgreSQL URL of Temporal's database, postgres://user:password@host:5432/temporal (or env:NAME, file:PATH)")
	f.StringVar(&o.visibility, "visibility-store", "", "PostgreSQL URL of the visibility database (default: <store database>_visibility on the same server)")
	f.StringVar(&o.listen, "listen", "127.0.0.1:7233", "IP:port the frontend listens on; 0.0.0.0:7233 for every interface")
	f.StringVar(&o.namespace, "namespace", config.Default().Temporal.Namespace, "namespace to register")
	f.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}

// resolve checks the flags and reads the stores' URLs.
func (o *temporalServerOptions) resolve() (devtemporal.Options, error) {
	if o.store == "" {
		return devtemporal.Options{}, errors.New("--store is required: postgres://user:password@host:5432/temporal")
	}
	dsn, err := resolveDSN("--store", o.store)
	if err != nil {
		return devtemporal.Options{}, err
	}
	var vis string
	if o.visibility != "" {
		if vis, err = resolveDSN("--visibility-store", o.visibility); err != nil {
			return devtemporal.Options{}, err
		}
	}
	return devtemporal.Options{PostgresDSN: dsn, VisibilityDSN: vis, ListenAddr: o.listen, Namespace: o.namespace}, nil
}

// resolveDSN reads an env:NAME or file:PATH reference, or takes a URL as it is.
func resolveDSN(flag, v string) (string, error) {
	if strings.HasPrefix(v, "env:") || strings.HasPrefix(v, "file:") {
		dsn, err := config.Secret(v).Resolve()
		if err != nil {
			return "", fmt.Errorf("%s: %w", flag, err)
		}
		v = strings.TrimSpace(dsn)
	}
	if err := devtemporal.CheckPostgresDSN(v); err != nil {
		return "", fmt.Errorf("%s: %w", flag, err)
	}
	return v, nil
}

// runTemporalServer serves until ctx is done.
func runTemporalServer(ctx context.Context, opts devtemporal.Options, logger *slog.Logger, out io.Writer) error {
	began := time.Now()
	srv, err := devtemporal.Start(ctx, opts)
	if err != nil {
		return err
	}
	logger.Info("Temporal server ready", "took", time.Since(began).Round(time.Millisecond), "address", srv.Address())
	fmt.Fprintf(out, "Temporal server listening on %s (namespace %s, store %s)\n", srv.ListenAddress(), srv.Namespace(), store.Redact(opts.PostgresDSN))
	<-ctx.Done()
	logger.Info("shutting down")
	if err := srv.Stop(); err != nil {
		return fmt.Errorf("stop Temporal server: %w", err)
	}
	logger.Info("Temporal server stopped")
	return nil
}
