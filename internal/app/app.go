// Package app wires Vigil once: the store, the Temporal client and worker,
// ingest, the chat surfaces, the console and API, and the singleton loops,
// for the roles a replica runs. `vigil dev`, `vigil serve`, the storm
// benchmark and the end-to-end tests all run Vigil through it.
//
// New builds everything and starts nothing; Start listens and starts the
// worker and the loops; Stop shuts them down in reverse order. Loops that
// must run once in a whole installation (the outbox dispatcher, the pollers,
// log tails, retention) run under a lease in the store, so any number of
// worker replicas may share it.
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"golang.org/x/sync/errgroup"

	"github.com/vigilops/vigil/activities"
	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/bot/commands"
	"github.com/vigilops/vigil/bot/console"
	"github.com/vigilops/vigil/config"
	"github.com/vigilops/vigil/ingest"
	"github.com/vigilops/vigil/internal/httpx"
	"github.com/vigilops/vigil/internal/lease"
	"github.com/vigilops/vigil/runbooks"
	"github.com/vigilops/vigil/store"
	"github.com/vigilops/vigil/workflows"
	"github.com/vigilops/vigil/workflows/contract"
)

// Files under the data directory (SQLite only).
const (
	// StoreFile is the store when no DSN is given.
	StoreFile = "vigil.db"
	// spoolFile holds accepted alerts not yet routed (ingest.spool).
	spoolFile = "spool.db"
)

// sharedPoll is how often the dispatcher and the announcer look at the
// outbox on a shared store: the replicas that accept signals cannot wake a
// dispatcher on another one, so it polls. On SQLite (one process) ingest
// wakes it, and the dispatcher's own default (2s) is only a fallback.
const sharedPoll = 250 * time.Millisecond

// Options configure an App.
type Options struct {
	// Config is the validated configuration; New validates it again.
	Config config.Config
	// StoreDSN names the store: postgres://… or sqlite:///path (see
	// store.OpenDSN). Empty is SQLite at Config.DataDir/vigil.db.
	StoreDSN string
	// TemporalAddress is the host:port of the Temporal frontend; required.
	// (`vigil dev` starts an embedded server and passes its address.)
	TemporalAddress string
	// Roles are the parts this replica runs; empty runs all of them.
	Roles Roles
	// Logger receives every log; nil discards them.
	Logger *slog.Logger
	// Holder names this replica in the leases it holds; it must differ
	// between live replicas. Default hostname-pid-random.
	Holder string
	// WrapDeliverer, when set, wraps what the outbox dispatcher hands events
	// to (the incident workflows, through Temporal): a benchmark times
	// deliveries with it.
	WrapDeliverer func(ingest.Deliverer) ingest.Deliverer
}

// App is Vigil wired for one replica. Call New, Start and Stop from one
// goroutine; the accessors are safe from any once Start has returned.
type App struct {
	cfg      config.Config
	roles    Roles
	logger   *slog.Logger
	holder   string
	temporal string // the frontend's address

	st      *store.Store
	tc      client.Client
	worker  worker.Worker // nil without the worker role
	spool   *ingest.Spool // nil without one
	con     *console.Console
	handler http.Handler
	metrics *prometheus.Registry
	held    *prometheus.GaugeVec

	runs  runs     // loops and singletons, started by Start
	waits []func() // called once the HTTP server and the loops have stopped

	// life is the app's own context: Start's context bounds starting only,
	// and Stop ends life after the HTTP server, so requests in flight are
	// answered by the loops (group commit) they wait on.
	life  context.Context
	end   context.CancelFunc
	group *errgroup.Group
	gctx  context.Context
	fatal chan error // the worker's fatal error

	ln                              net.Listener
	hs                              *http.Server
	started, workerStarted, stopped bool
}

// runs collects what a replica runs: loops on every replica with their role,
// and singletons on the one replica holding their lease.
type runs struct {
	loops      []func(context.Context)
	singletons []singleton
}

type singleton struct {
	name string
	run  func(context.Context)
}

func (r *runs) loop(f func(context.Context)) { r.loops = append(r.loops, f) }

func (r *runs) singleton(name string, f func(context.Context)) {
	r.singletons = append(r.singletons, singleton{name: name, run: f})
}

// New wires Vigil for o.Roles. It opens the store (applying migrations),
// loads the runbooks, enables audit signing and connects to Temporal, and
// starts no goroutine of its own; on error, everything opened is closed.
func New(ctx context.Context, o Options) (_ *App, err error) {
	cfg := o.Config
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid settings: %w", err)
	}
	if o.TemporalAddress == "" {
		return nil, errors.New("no Temporal address: give the host:port of a Temporal frontend")
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &App{cfg: cfg, roles: o.Roles, logger: logger, holder: o.Holder, temporal: o.TemporalAddress,
		metrics: prometheus.NewRegistry(), fatal: make(chan error, 1)}
	if len(a.roles) == 0 {
		a.roles = AllRoles()
	}
	if a.holder == "" {
		a.holder = defaultHolder()
	}
	a.life, a.end = context.WithCancel(context.WithoutCancel(ctx))
	defer func() {
		if err != nil {
			_ = a.Stop(context.Background())
		}
	}()

	engine := store.SQLite
	if o.StoreDSN != "" {
		if engine, _, err = store.ParseDSN(o.StoreDSN); err != nil {
			return nil, err
		}
	}
	// Every replica appends to one audit trail and must sign it with one key.
	shared := engine != store.SQLite
	if shared && cfg.Audit.SigningKey == "" {
		return nil, ErrSharedSigningKey
	}
	if a.st, err = openStore(engine, o.StoreDSN, cfg.DataDir); err != nil {
		return nil, err
	}
	st := a.st
	if err := correlateIngest(st, cfg); err != nil {
		return nil, err
	}
	silences, err := ingest.LoadSilences(ctx, st, logger.With("component", "silences"))
	if err != nil {
		return nil, err
	}
	st.Mute(silences)
	if len(cfg.Ingest.InhibitRules) > 0 { // otherwise there is nothing to watch alerts for
		inhibitions, err := loadInhibitions(ctx, st, cfg.Ingest.InhibitRules)
		if err != nil {
			return nil, err
		}
		st.Mute(silences, inhibitions)
	}
	if err := enableAuditSigning(ctx, st, cfg, logger); err != nil {
		return nil, err
	}
	reloader, gh, err := loadRunbooks(ctx, cfg, logger.With("component", "runbooks"))
	if err != nil {
		return nil, err
	}
	a.runs.loop(reloader.Run)
	library := reloader.Holder

	copts, err := temporalOptions(cfg.Temporal, o.TemporalAddress, logger)
	if err != nil {
		return nil, err
	}
	a.tc, err = client.DialContext(ctx, copts)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s: %w", o.TemporalAddress, err)
	}
	wf := contract.Client{Temporal: a.tc, TaskQueue: cfg.Temporal.TaskQueue}

	thread := console.Thread{Store: st}
	var chat bot.Surface = thread
	sl, err := newSlack(cfg.Slack, st, logger.With("component", "slack"))
	if err != nil {
		return nil, err
	}
	notify := notifier{chat: chat}
	if sl != nil {
		chat = bot.Fanout{thread, sl.surface}
		notify = notifier{chat: chat, slack: sl.surface}
	}
	assistant, err := NewAssistant(cfg, a.metrics, logger.With("component", "assist"))
	if err != nil {
		return nil, err
	}
	asks := &activities.Assist{Assistant: assistant, Store: st, Logger: logger.With("component", "assist")}
	a.held = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "vigil_lease_held", Help: "1 while this replica holds the lease and runs its singleton loop, else 0.",
	}, []string{"lease"})
	a.metrics.MustRegister(a.held, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// Wake-ups reach a dispatcher in this process; one elsewhere polls.
	wake := func() {}
	var disp *ingest.Dispatcher
	if a.roles.Has(RoleWorker) {
		// WorkerStopTimeout: a replica stopping (SIGTERM in a rollout) lets
		// the activities it runs, runbook steps among them, finish for that
		// long before cancelling them.
		w := worker.New(a.tc, cfg.Temporal.TaskQueue, worker.Options{WorkerStopTimeout: workerStopTimeout, OnFatalError: func(err error) {
			select {
			case a.fatal <- err:
			default:
			}
		}})
		w.RegisterWorkflow(workflows.IncidentWorkflow)
		w.RegisterWorkflow(workflows.RemediationWorkflow)
		w.RegisterActivity(&activities.Activities{
			Store: st, Chat: chat, Runbooks: library, Groups: cfg.Groups,
			Steps: runbooks.Executor{GitHub: gh, Notifier: notify}, Logger: logger,
			Dependencies: cfg.Changes.Edges(),
		})
		rv, err := reviewActivities(cfg, st, chat, logger)
		if err != nil {
			return nil, err
		}
		w.RegisterActivity(rv)
		w.RegisterActivity(asks)
		a.worker = w

		var to ingest.Deliverer = wf
		if o.WrapDeliverer != nil {
			to = o.WrapDeliverer(to)
		}
		disp = ingest.NewDispatcher(st, to, logger.With("component", "dispatch"))
		disp.Policy = incidentPolicy(cfg)
		disp.Announcer = ingest.NewAnnouncer(st, thread, logger.With("component", "announce"))
		if shared {
			disp.Poll, disp.Announcer.Poll = sharedPoll, sharedPoll
		}
		disp.Opened = changeLookup(a.life, cfg, gh, st, disp.Wake, a.spawn, logger)
		wake = disp.Wake
		a.runs.singleton("dispatch", disp.Run)
		if prune := retention(st, cfg.Retention, logger.With("component", "retention")); prune != nil {
			a.runs.singleton("retention", prune)
		}
	}

	tokens, err := resolveTokens(cfg.Ingest.Tokens)
	if err != nil {
		return nil, err
	}
	bearer := func(h http.Handler) http.Handler { return httpx.RequireBearer(tokens, h) }
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", healthz)
	mux.Handle("GET /readyz", readyz(a.Ready))
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.metrics, promhttp.HandlerOpts{}))
	if a.roles.Has(RoleIngest) {
		if err := a.wireAlerts(mux, bearer, wake, disp); err != nil {
			return nil, err
		}
	}
	if err := wireChanges(&a.runs, a.roles, cfg, st, gh, mux, wake, logger); err != nil {
		return nil, err
	}
	if err := wireSignals(&a.runs, a.roles, cfg, signalSink(cfg, st), st, mux, tokens, wake, logger); err != nil {
		return nil, err
	}
	manual := &ingest.Manual{Store: st, Runbooks: library, Notify: wake}
	if a.roles.Has(RoleAPI) {
		silences.Register(mux, bearer)
	}
	var routes console.Routes
	if a.roles.Has(RoleAPI) {
		routes |= console.API
	}
	if a.roles.Has(RoleConsole) {
		routes |= console.Pages
	}
	if routes != 0 {
		auth, err := consoleAuth(cfg.Console)
		if err != nil {
			return nil, err
		}
		if shared && auth != nil && cfg.Console.SessionSecret == "" && a.roles.Has(RoleConsole) {
			logger.Warn("console.session_secret is not set: each replica signs sessions with a key of its own, so a login holds only on the replica that made it; set it when several replicas serve the console")
		}
		a.con = &console.Console{Store: st, Decider: wf, Runner: manual, User: cfg.Console.User, Auth: auth, Logger: logger.With("component", "console")}
		a.con.RegisterRoutes(mux, routes)
	}
	if sl != nil && a.roles.Has(RoleAPI) {
		cmds := commands.New(commands.Deps{Incidents: st, Audit: st, Decider: wf, Acter: wf, Runner: manual, Inputs: wf, Asker: asks, Silencer: silences}, "/vigil ", logger.With("component", "commands"))
		run, wait, err := sl.serve(mux, cmds)
		if err != nil {
			return nil, err
		}
		if run != nil {
			a.runs.loop(run)
		}
		a.waits = append(a.waits, wait)
	}
	a.handler = httpx.SecurityHeaders(limitBodies(cfg.HTTP.MaxBodyBytes, mux))
	return a, nil
}

// wireAlerts registers the Alertmanager receiver. Alerts from concurrent
// requests are committed together (the batcher, a loop, outlives the HTTP
// server's shutdown, so requests in flight are answered). On SQLite the
// spool may answer first and route after (ingest.spool); a spool file left
// from before is routed even with ingest.spool off. On a shared store the
// spool is the store itself (unless ingest.spool is off): nothing accepted
// waits in one replica.
func (a *App) wireAlerts(mux *http.ServeMux, bearer func(http.Handler) http.Handler, wake func(), disp *ingest.Dispatcher) error {
	cfg, logger := a.cfg, a.logger
	batch := ingest.NewBatcher(a.st, 0)
	a.runs.loop(batch.Run)
	var alerts ingest.AlertStore = batch
	if a.st.Engine() == store.SQLite {
		spoolPath := filepath.Join(cfg.DataDir, spoolFile)
		if _, err := os.Stat(spoolPath); cfg.Ingest.Spool != config.SpoolOff || err == nil {
			spool, err := ingest.OpenSpool(spoolPath, "alertmanager", logger.With("component", "spool"))
			if err != nil {
				return err
			}
			a.spool = spool
			spool.Notify = wake
			if disp != nil {
				disp.Yield = spool.Yield
			}
			a.runs.loop(func(ctx context.Context) { spool.Run(ctx, a.st) })
			switch cfg.Ingest.Spool {
			case config.SpoolAlways:
				alerts = spool
			case config.SpoolOff:
			default:
				alerts = &ingest.AutoSpool{Direct: batch, Spool: spool}
			}
		}
	} else if cfg.Ingest.Spool != config.SpoolOff {
		// A shared store keeps the spool itself: every ingest replica
		// appends, the one holding the route lease routes. Always, not
		// auto: a replica cannot tell whether another has a group's
		// earlier alerts still spooled, so answering some through the
		// store could route them ahead of those.
		spool := ingest.NewStoreSpool(a.st, "alertmanager", logger.With("component", "spool"))
		spool.Notify = wake
		a.runs.loop(spool.Accept)
		a.runs.singleton("route", func(ctx context.Context) { spool.Route(ctx, a.st) })
		alerts = spool
	}
	mux.Handle("POST /api/v1/alerts/alertmanager", bearer(&ingest.Alertmanager{
		Store: alerts, GroupBy: cfg.Ingest.GroupBy, Notify: wake, Logger: logger.With("component", "ingest"),
	}))
	return nil
}

// Start listens on http.addr and starts the worker, the loops and, each
// under its lease, the singletons. ctx bounds starting only: the app runs
// until Stop, or until a part of it fails (Done, Err). After a failed
// Start, call Stop to release what was started.
func (a *App) Start(ctx context.Context) error {
	if a.started {
		return errors.New("app: started twice")
	}
	a.started = true
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", a.cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (use --http-addr to pick another): %w", a.cfg.HTTP.Addr, err)
	}
	a.ln = ln
	a.group, a.gctx = errgroup.WithContext(a.life)
	if a.worker != nil {
		if err := a.worker.Start(); err != nil {
			return fmt.Errorf("start worker: %w", err)
		}
		a.workerStarted = true
		a.group.Go(func() error {
			select {
			case err := <-a.fatal:
				return fmt.Errorf("temporal worker: %w", err)
			case <-a.gctx.Done():
				return nil
			}
		})
	}
	for _, f := range a.runs.loops {
		a.group.Go(func() error { f(a.gctx); return nil })
	}
	for _, s := range a.runs.singletons {
		r := lease.Runner{Leaser: a.st, Name: s.name, Holder: a.holder, TTL: a.cfg.HA.LeaseTTL,
			Logger: a.logger.With("component", "lease"), Held: a.heldGauge(s.name)}
		a.group.Go(func() error { r.Run(a.gctx, s.run); return nil })
	}
	a.hs = &http.Server{Handler: a.handler, ReadHeaderTimeout: 10 * time.Second}
	if a.con != nil {
		a.hs.RegisterOnShutdown(a.con.Shutdown) // live pages' streams would hold the shutdown open
	}
	a.group.Go(func() error {
		if err := a.hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http server: %w", err)
		}
		return nil
	})
	return nil
}

// Stop shuts down in reverse order: the HTTP server first, so requests in
// flight are answered (ctx bounds the wait for them), then the loops and
// singletons (releasing their leases), the worker, Temporal's client and
// the store. It returns why the app failed, if it did. Stop is safe after a
// failed New or Start; a second call does nothing.
func (a *App) Stop(ctx context.Context) error {
	if a.stopped {
		return nil
	}
	a.stopped = true
	var errs []error
	switch {
	case a.hs != nil:
		if err := a.hs.Shutdown(ctx); err != nil {
			a.logger.Warn("http shutdown", "err", err)
			_ = a.hs.Close()
		}
	case a.ln != nil:
		_ = a.ln.Close()
	}
	a.end()
	if a.group != nil {
		if err := a.group.Wait(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, wait := range a.waits {
		wait()
	}
	if a.workerStarted {
		a.worker.Stop()
	}
	if a.tc != nil {
		a.tc.Close()
	}
	if a.spool != nil {
		if err := a.spool.Close(); err != nil {
			errs = append(errs, fmt.Errorf("spool: %w", err))
		}
	}
	if a.st != nil {
		if err := a.st.Close(); err != nil {
			errs = append(errs, fmt.Errorf("store: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Done is closed once the app stops: Stop was called, or a part of it
// failed (Err says which). It is never closed before Start.
func (a *App) Done() <-chan struct{} {
	if a.gctx == nil {
		return nil
	}
	return a.gctx.Done()
}

// Err is why the app stopped on its own (the HTTP server or the worker
// failed), or nil.
func (a *App) Err() error {
	if a.gctx == nil {
		return nil
	}
	if err := context.Cause(a.gctx); !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// Ready reports whether this replica can serve: the store answers and its
// migrations are current, and Temporal answers. /readyz serves it.
func (a *App) Ready(ctx context.Context) error {
	if err := a.st.Ready(ctx); err != nil {
		return err
	}
	if _, err := a.tc.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return fmt.Errorf("temporal at %s: %w", a.temporal, err)
	}
	return nil
}

// Addr is the address the HTTP server listens on, once started.
func (a *App) Addr() string {
	if a.ln == nil {
		return ""
	}
	return a.ln.Addr().String()
}

// Store is the app's store.
func (a *App) Store() *store.Store { return a.st }

// Temporal is the app's Temporal client.
func (a *App) Temporal() client.Client { return a.tc }

// Roles are the roles this replica runs.
func (a *App) Roles() Roles { return a.roles }

// Holder is this replica's name in the leases it holds.
func (a *App) Holder() string { return a.holder }

// spawn runs f in a goroutine that Stop waits for. Call it only from a loop
// or singleton (the group then still runs).
func (a *App) spawn(f func()) { a.group.Go(func() error { f(); return nil }) }

func (a *App) heldGauge(name string) func(bool) {
	g := a.held.WithLabelValues(name)
	return func(held bool) {
		if held {
			g.Set(1)
		} else {
			g.Set(0)
		}
	}
}

// openStore opens the store dsn names; empty is SQLite in dataDir. On SQLite
// the data directory also holds the spool and the development signing key.
func openStore(engine store.Engine, dsn, dataDir string) (*store.Store, error) {
	if engine == store.SQLite {
		if err := os.MkdirAll(dataDir, 0o750); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
	}
	if dsn == "" {
		return store.Open(filepath.Join(dataDir, StoreFile))
	}
	return store.OpenDSN(dsn)
}

// workerStopTimeout is how long a stopping worker waits for its activities.
const workerStopTimeout = 30 * time.Second

// defaultHolder names this process among replicas: hostname-pid-random.
func defaultHolder() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "vigil"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// incidentPolicy is what new incidents run under, from configuration.
func incidentPolicy(cfg config.Config) contract.IncidentPolicy {
	p := contract.IncidentPolicy{NoAckAfter: cfg.Escalation.NoAckAfter, EscalateTo: cfg.Escalation.EscalateTo,
		ModelBriefs: cfg.Assist.Enabled, SlowChat: cfg.Slack.Enabled()}
	for _, r := range cfg.Autonomy {
		p.Autonomy = append(p.Autonomy, contract.AutonomyRule{Name: r.Name, Runbooks: r.Runbooks, Services: r.Services})
	}
	return p
}
