package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/vigilops/vigil/activities"
	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/bot/commands"
	"github.com/vigilops/vigil/bot/console"
	vslack "github.com/vigilops/vigil/bot/slack"
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
	spoolDB    = "spool.db" // with ingest.spool: accepted alerts not yet routed
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
	unlock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer unlock()
	st, err := store.Open(filepath.Join(cfg.DataDir, vigilDB))
	if err != nil {
		return err
	}
	defer st.Close()
	if err := correlateIngest(st, cfg); err != nil {
		return err
	}
	silences, err := ingest.LoadSilences(ctx, st, logger.With("component", "silences"))
	if err != nil {
		return err
	}
	st.Mute(silences)
	if len(cfg.Ingest.InhibitRules) > 0 { // otherwise there is nothing to watch alerts for
		inhibitions, err := loadInhibitions(ctx, st, cfg.Ingest.InhibitRules)
		if err != nil {
			return err
		}
		st.Mute(silences, inhibitions)
	}
	if err := enableAuditSigning(ctx, st, cfg, logger); err != nil {
		return err
	}
	defer startRetention(ctx, st, cfg.Retention, logger.With("component", "retention"))()

	library, gh, err := startRunbooks(ctx, cfg, logger.With("component", "runbooks"))
	if err != nil {
		return err
	}

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
	var chat bot.Surface = thread
	sl, err := newSlack(cfg.Slack, st, logger.With("component", "slack"))
	if err != nil {
		return err
	}
	if sl != nil {
		chat = bot.Fanout{thread, sl.surface}
	}
	notify := notifier{chat: chat}
	if sl != nil {
		notify.slack = sl.surface
	}
	w := worker.New(tc, cfg.Temporal.TaskQueue, worker.Options{})
	w.RegisterWorkflow(workflows.IncidentWorkflow)
	w.RegisterWorkflow(workflows.RemediationWorkflow)
	w.RegisterActivity(&activities.Activities{
		Store: st, Chat: chat, Runbooks: library, Groups: cfg.Groups,
		Steps: runbooks.Executor{GitHub: gh, Notifier: notify}, Logger: logger,
		Dependencies: cfg.Changes.Edges(),
	})
	rv, err := reviewActivities(cfg, st, chat, logger)
	if err != nil {
		return err
	}
	w.RegisterActivity(rv)
	metrics := prometheus.NewRegistry()
	assistant, err := newAssistant(cfg, metrics, logger.With("component", "assist"))
	if err != nil {
		return err
	}
	asks := &activities.Assist{Assistant: assistant, Store: st, Logger: logger.With("component", "assist")}
	w.RegisterActivity(asks)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	defer w.Stop()

	wf := workflows.Client{Temporal: tc, TaskQueue: cfg.Temporal.TaskQueue}
	disp := ingest.NewDispatcher(st, wf, logger.With("component", "dispatch"))
	disp.Policy = incidentPolicy(cfg)
	disp.Opened = changeLookup(ctx, cfg, gh, st, disp.Wake, logger)
	disp.Announcer = ingest.NewAnnouncer(st, thread, logger.With("component", "announce"))
	dctx, stopDispatch := context.WithCancel(ctx)
	dispatched := make(chan struct{})
	go func() { defer close(dispatched); disp.Run(dctx) }()
	defer func() { stopDispatch(); <-dispatched }()

	tokens, err := resolveTokens(cfg.Ingest.Tokens)
	if err != nil {
		return err
	}
	// Alerts from concurrent requests are committed together. The batcher
	// outlives the HTTP server's shutdown, so requests in flight are answered.
	batch := ingest.NewBatcher(st, 0)
	bctx, stopBatch := context.WithCancel(context.WithoutCancel(ctx))
	batched := make(chan struct{})
	go func() { defer close(batched); batch.Run(bctx) }()
	defer func() { stopBatch(); <-batched }()
	var alerts ingest.AlertStore = batch
	// With ingest.spool off, a spool file left from before is still routed.
	spoolPath := filepath.Join(cfg.DataDir, spoolDB)
	if _, err := os.Stat(spoolPath); cfg.Ingest.Spool != config.SpoolOff || err == nil {
		spool, err := ingest.OpenSpool(spoolPath, "alertmanager", logger.With("component", "spool"))
		if err != nil {
			return err
		}
		defer spool.Close()
		spool.Notify, disp.Yield = disp.Wake, spool.Yield
		spooled := make(chan struct{})
		go func() { defer close(spooled); spool.Run(bctx, st) }()
		defer func() { stopBatch(); <-spooled }()
		switch cfg.Ingest.Spool {
		case config.SpoolAlways:
			alerts = spool
		case config.SpoolOff:
		default:
			alerts = &ingest.AutoSpool{Direct: batch, Spool: spool}
		}
	}
	manual := &ingest.Manual{Store: st, Runbooks: library, Notify: disp.Wake}
	mux := http.NewServeMux()
	silences.Register(mux, func(h http.Handler) http.Handler { return httpx.RequireBearer(tokens, h) })
	mux.Handle("POST /api/v1/alerts/alertmanager", httpx.RequireBearer(tokens, &ingest.Alertmanager{
		Store: alerts, GroupBy: cfg.Ingest.GroupBy, Notify: disp.Wake, Logger: logger.With("component", "ingest"),
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.Handle("GET /metrics", promhttp.HandlerFor(metrics, promhttp.HandlerOpts{}))
	stopChanges, err := startChanges(ctx, cfg, st, gh, mux, disp.Wake, logger)
	if err != nil {
		return err
	}
	defer stopChanges()
	stopSignals, err := startSignals(ctx, cfg, signalSink(cfg, st), st, mux, tokens, disp.Wake, logger)
	if err != nil {
		return err
	}
	defer stopSignals()
	auth, err := consoleAuth(cfg.Console)
	if err != nil {
		return err
	}
	con := &console.Console{Store: st, Decider: wf, Runner: manual, User: cfg.Console.User, Auth: auth, Logger: logger.With("component", "console")}
	con.Register(mux)
	if sl != nil {
		cmds := commands.New(commands.Deps{Incidents: st, Audit: st, Decider: wf, Acter: wf, Runner: manual, Inputs: wf, Asker: asks, Silencer: silences}, "/vigil ", logger.With("component", "commands"))
		stopSlack, err := sl.serve(ctx, mux, cmds)
		if err != nil {
			return err
		}
		defer stopSlack()
	}

	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (use --http-addr to pick another): %w", cfg.HTTP.Addr, err)
	}
	hs := &http.Server{Handler: limitBodies(cfg.HTTP.MaxBodyBytes, mux), ReadHeaderTimeout: 10 * time.Second}
	hs.RegisterOnShutdown(con.Shutdown) // live pages' streams would hold the shutdown open
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
	p := workflows.IncidentPolicy{NoAckAfter: cfg.Escalation.NoAckAfter, EscalateTo: cfg.Escalation.EscalateTo,
		ModelBriefs: cfg.Assist.Enabled, SlowChat: cfg.Slack.Enabled()}
	for _, r := range cfg.Autonomy {
		p.Autonomy = append(p.Autonomy, workflows.AutonomyRule{Name: r.Name, Runbooks: r.Runbooks, Services: r.Services})
	}
	return p
}

// consoleAuth turns console configuration into authentication; nil is
// development mode (no users, no SSO header).
func consoleAuth(c config.Console) (*console.Auth, error) {
	if !c.AuthEnabled() {
		return nil, nil
	}
	o := console.AuthOptions{SessionTTL: c.SessionTTL, TrustedHeader: c.TrustedHeader, TrustedGroupsHeader: c.TrustedGroupsHeader}
	for _, u := range c.Users {
		o.Users = append(o.Users, console.User{ID: u.ID, Name: u.Name, TokenSHA256: u.TokenSHA256})
	}
	for _, p := range c.TrustedProxies {
		o.TrustedProxies = append(o.TrustedProxies, netip.MustParsePrefix(p)) // validated by config
	}
	if c.SessionSecret != "" {
		key, err := c.SessionSecret.Resolve()
		if err != nil {
			return nil, fmt.Errorf("console.session_secret: %w", err)
		}
		o.SessionKey = []byte(key)
	}
	return console.NewAuth(o)
}

// slackChat is Slack as configured: the surface that posts threads, and the
// app that answers people over Socket Mode or HTTP.
type slackChat struct {
	cfg     config.Slack
	client  *slack.Client
	surface *vslack.Surface
	threads *store.Store
	logger  *slog.Logger
}

// newSlack connects nothing yet; it returns nil when Slack is off.
func newSlack(cfg config.Slack, st *store.Store, logger *slog.Logger) (*slackChat, error) {
	if !cfg.Enabled() {
		return nil, nil
	}
	token, err := cfg.BotToken.Resolve()
	if err != nil {
		return nil, fmt.Errorf("slack.bot_token: %w", err)
	}
	var opts []slack.Option
	if cfg.SocketMode() {
		appToken, err := cfg.AppToken.Resolve()
		if err != nil {
			return nil, fmt.Errorf("slack.app_token: %w", err)
		}
		opts = append(opts, slack.OptionAppLevelToken(appToken))
	}
	client := slack.New(token, opts...)
	routes := vslack.Routes{Default: cfg.Channel}
	for _, r := range cfg.Routes {
		routes.Rules = append(routes.Rules, vslack.Route{Channel: r.Channel, Severities: r.Severities, Services: r.Services})
	}
	return &slackChat{cfg: cfg, client: client, threads: st, logger: logger,
		surface: &vslack.Surface{API: client, Store: st, Routes: routes, Logger: logger}}, nil
}

// serve starts answering people: over Socket Mode when an app token is set,
// else on the HTTP endpoints (registered on mux). The returned stop waits for
// acts in progress.
func (s *slackChat) serve(ctx context.Context, mux *http.ServeMux, cmds *commands.Bot) (stop func(), err error) {
	app := &vslack.App{
		Bot: cmds, Threads: s.threads, API: s.client, Logger: s.logger,
		Directory: &vslack.Directory{Users: s.cfg.Users, Groups: s.cfg.UserGroups, API: s.client, Logger: s.logger},
	}
	if !s.cfg.SocketMode() {
		secret, err := s.cfg.SigningSecret.Resolve()
		if err != nil {
			return nil, fmt.Errorf("slack.signing_secret: %w", err)
		}
		app.Register(mux, vslack.NewVerifier(secret, nil))
		s.logger.Info("slack: HTTP mode", "events", vslack.PathEvents, "interactivity", vslack.PathInteractive, "commands", vslack.PathCommands)
		return app.Wait, nil
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := app.RunSocketMode(sctx, socketmode.New(s.client)); err != nil {
			s.logger.Error("slack: socket mode stopped", "err", err)
		}
	}()
	return func() { cancel(); <-done; app.Wait() }, nil
}
