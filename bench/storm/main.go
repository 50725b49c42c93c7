// Command storm drives an alert storm with known ground truth through Vigil's
// real ingest path and measures what came of it.
//
// It generates N true incidents, each a cascade of alerts across the
// services of one stack (a backing service fails, its callers follow), plus
// unrelated noise alerts and flapping alerts; runs the storm through
// Alertmanager's grouping (group_by [alertname, service], default timers) to
// get the webhook payloads Alertmanager would send; starts Vigil in this
// process (store, embedded Temporal, worker, dispatcher, Alertmanager
// receiver); waits until its worker polls (Vigil running, not starting);
// sends the payloads over HTTP; and waits for every incident's first thread
// post. With --url it sends to a Vigil running elsewhere instead (`make run`,
// say) and measures ingest alone.
//
// With --store postgres://… Vigil runs on that (empty) PostgreSQL database,
// and with --replicas N as N replicas in this process sharing it and one
// embedded Temporal server, each with every role on a port of its own; the
// payloads alternate over them as a round-robin load balancer spreads them.
//
// With --alertmanager (by default whenever prometheus-alertmanager is on
// PATH) the same run first starts Debian's Alertmanager, posts the same
// alerts to its API in the same batches with the same senders, measures the
// alerts/s it accepts (into memory) the same way, and kills it before Vigil
// starts, so the two never share the cores; the report gives both rates and
// Vigil's over Alertmanager's, which a shared machine's load varies far less
// than either.
//
// It reports:
//   - alerts/s accepted durably: alerts in payloads answered 200 (Vigil
//     answers 200 only once they are stored or spooled), over the time from
//     the first send to the last answer;
//   - incidents opened against true incidents, and the pairwise precision,
//     recall and F1 of the grouping (pairs of alerts in one incident against
//     pairs in one true incident);
//   - alert → first thread post latency p50/p99: from the send of the first
//     payload whose answer named an incident (or, for incidents only spooled
//     answers led to, the first payload carrying a firing alert it holds) to
//     that incident's "summary" message in the store;
//   - the same grouping scores for analyzers/correlate run offline over the
//     same firings with the storm's dependency graph, to show what routing
//     through it would give.
//
// Usage:
//
//	go run ./bench/storm [--incidents 100] [--alerts-per-incident 50] [--noise 200]
//	    [--flapping 20] [--concurrency 16] [--duration 0] [--spool auto|always|off]
//	    [--store DSN] [--replicas 1] [--alertmanager auto|off|PATH]
//	    [--url URL] [--json] [--cpuprofile FILE]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/vigilops/vigil/config"
	"github.com/vigilops/vigil/store"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// options are the command line.
type options struct {
	spec        Spec
	concurrency int
	duration    time.Duration
	groupBy     []string
	correlate   bool
	spool       config.SpoolMode
	maxBody     int64
	dataDir     string
	// storeDSN empty is SQLite in dataDir; else a store.OpenDSN DSN.
	storeDSN string
	// replicas of Vigil sharing the store; more than one only on PostgreSQL.
	replicas int
	// alertmanager is "auto", "off" (or empty) or the binary to run.
	alertmanager string
	url          string
	settle       time.Duration
	json         bool
	cpuprofile   string
	logLevel     slog.Level
}

func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("storm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.spec.Incidents, "incidents", 100, "true incidents, all starting within --span (a storm of that many concurrent incidents)")
	fs.IntVar(&o.spec.AlertsPerIncident, "alerts-per-incident", 50, "distinct alerts each incident's cascade raises")
	fs.IntVar(&o.spec.Noise, "noise", 200, "unrelated alerts on random services")
	fs.IntVar(&o.spec.Flapping, "flapping", 20, "alerts that fire and resolve repeatedly")
	fs.IntVar(&o.spec.Flaps, "flaps", 3, "firings of each flapping alert")
	fs.DurationVar(&o.spec.Span, "span", 2*time.Minute, "simulated time over which the incidents start")
	fs.DurationVar(&o.spec.Cascade, "cascade", 3*time.Minute, "simulated time a cascade takes to reach its last service")
	fs.DurationVar(&o.spec.Hold, "hold", 10*time.Minute, "simulated time a cascade's alerts keep firing before they resolve")
	fs.Uint64Var(&o.spec.Seed, "seed", 1, "random seed; the same seed gives the same storm")
	fs.IntVar(&o.concurrency, "concurrency", 16, "concurrent HTTP senders")
	fs.DurationVar(&o.duration, "duration", 0, "wall time to spread the storm over; 0 sends as fast as Vigil answers")
	groupBy := fs.String("group-by", "alertname,service", "Vigil's ingest.group_by")
	fs.BoolVar(&o.correlate, "correlate", true, "route through analyzers/correlate over the storm's dependency graph, as ingest.correlation does with changes.services.*.calls; false groups by --group-by alone")
	spool := fs.String("spool", "auto", "Vigil's ingest.spool: auto (spool while the store is behind), always, or off; a spooled answer names no incidents, so such an incident's latency runs from the first payload carrying a firing alert it holds")
	fs.Int64Var(&o.maxBody, "max-body", 1<<20, "Vigil's http.max_body_bytes")
	fs.StringVar(&o.url, "url", "", "send to the Alertmanager receiver of a Vigil already running (e.g. http://127.0.0.1:8080/api/v1/alerts/alertmanager, as `make run` serves it) rather than one this process starts; only ingest is measured then, and the Vigil-side flags (--group-by, --correlate, --spool, --max-body, --data-dir, --store, --replicas, --log-level) do not apply")
	fs.StringVar(&o.dataDir, "data-dir", "", "directory for Vigil's databases (default: a temporary one, removed afterwards)")
	fs.StringVar(&o.storeDSN, "store", "", "Vigil's store: empty for SQLite in --data-dir, or postgres://user:password@host/db naming an empty PostgreSQL database (the store migrates it); the embedded Temporal server stays SQLite-backed in --data-dir either way")
	fs.IntVar(&o.replicas, "replicas", 1, "Vigil replicas in this process sharing --store and one Temporal server, each running every role on a port of its own, requests alternating over them; more than 1 needs --store postgres://…")
	fs.StringVar(&o.alertmanager, "alertmanager", "auto", "run Debian's prometheus-alertmanager before Vigil in the same run and send it the same alerts, to report Vigil's rate over its: auto (when prometheus-alertmanager is on PATH), off, or the binary's path")
	fs.DurationVar(&o.settle, "settle", 3*time.Minute, "how long to wait after the storm for every incident's first post")
	fs.BoolVar(&o.json, "json", false, "print the summary as JSON")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the storm, sending and settling (Vigil and the driver), to this file")
	level := fs.String("log-level", "error", "Vigil's log level: debug, info, warn or error (to stderr)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.concurrency < 1 {
		return o, errors.New("--concurrency must be at least 1")
	}
	if o.replicas < 1 {
		return o, errors.New("--replicas must be at least 1")
	}
	if o.replicas > 1 {
		if engine, _, err := store.ParseDSN(o.storeDSN); o.storeDSN == "" || err != nil || engine != store.Postgres {
			return o, errors.New("--replicas above 1 needs --store postgres://…: replicas share one store, and SQLite is one process's")
		}
	}
	if o.storeDSN != "" {
		if _, _, err := store.ParseDSN(o.storeDSN); err != nil {
			return o, fmt.Errorf("--store: %w", err)
		}
	}
	if err := o.logLevel.UnmarshalText([]byte(*level)); err != nil {
		return o, fmt.Errorf("--log-level: %w", err)
	}
	o.groupBy = strings.Split(*groupBy, ",")
	switch o.spool = config.SpoolMode(*spool); o.spool {
	case config.SpoolAuto, config.SpoolAlways, config.SpoolOff:
	default:
		return o, fmt.Errorf("--spool must be auto, always or off, got %q", *spool)
	}
	return o, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "storm:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := storm(ctx, o, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "storm:", err)
		return 1
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintln(stderr, "storm:", err)
			return 1
		}
		return 0
	}
	rep.print(stdout)
	return 0
}

// storm runs one storm end to end.
func storm(ctx context.Context, o options, stderr io.Writer) (*Report, error) {
	progress := func(format string, args ...any) { fmt.Fprintf(stderr, "storm: "+format+"\n", args...) }
	// The simulated storm ends about now, so alerts start in the past.
	o.spec.Start = time.Now().Add(-o.spec.Span - o.spec.Cascade - o.spec.Hold).Truncate(time.Second)
	s, err := Generate(o.spec)
	if err != nil {
		return nil, err
	}
	alerts := 0
	for _, p := range s.Payloads {
		alerts += p.Alerts
	}
	progress("%d payloads carrying %d alerts (%d distinct sent firing, %d true incidents) over %s simulated", len(s.Payloads), alerts, len(s.Truth), s.Clusters, s.Span)

	// Alertmanager first, and gone before Vigil starts: the two never share
	// the cores, and Vigil's work after the storm (routing, workflows) does
	// not run during Alertmanager's.
	var am *AlertmanagerRun
	bin, err := alertmanagerBinary(o.alertmanager)
	switch {
	case err != nil:
		return nil, fmt.Errorf("--alertmanager: %w", err)
	case bin != "":
		if am, err = stormAlertmanager(ctx, o, s, bin, progress); err != nil {
			return nil, fmt.Errorf("alertmanager: %w", err)
		}
		progress("alertmanager accepted %d alerts at %.0f alerts/s; killed it", am.AlertsAccepted, am.AlertsPerSecond)
	case o.alertmanager == "auto":
		progress("prometheus-alertmanager is not on PATH: no side-by-side rate (install Debian's prometheus-alertmanager, or give --alertmanager PATH)")
	}

	if o.url != "" {
		return stormElsewhere(ctx, o, s, am, progress)
	}
	dir := o.dataDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "vigil-storm-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: o.logLevel}))
	var edges [][2]string
	if o.correlate {
		edges = s.Edges
	}
	v, err := startVigil(ctx, dir, o, edges, logger)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := v.Close(); err != nil {
			progress("stopping Vigil: %v", err)
		}
	}()
	// A storm meets a Vigil that is running, not one still starting: wait
	// until the worker polls, which is when the Temporal server has loaded
	// its task queues (it writes their leases at startup, and those writes
	// would be timed as the storm's otherwise).
	began := time.Now()
	if err := v.ready(ctx); err != nil {
		return nil, err
	}
	where := dir
	if o.storeDSN != "" {
		where = fmt.Sprintf("%s with %d replica(s) on %s", dir, len(v.URLs), store.Redact(o.storeDSN))
	}
	progress("Vigil is up in %s, its worker polling after %s; sending with %d senders", where, time.Since(began).Round(time.Millisecond), o.concurrency)

	d := newDriver(o, s, v.URLs)
	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
	}
	sent := send(ctx, d, s, progress)
	progress("all payloads answered; waiting up to %s for every incident's first post", o.settle)

	settleStart := time.Now()
	var known []string
	seen := map[string]bool{}
	for _, x := range sent {
		for _, id := range x.Incidents {
			if !seen[id] {
				seen[id] = true
				known = append(known, id)
			}
		}
	}
	obs, err := observe(ctx, v.Store, s.Truth, known, time.Now().Add(o.settle))
	if o.cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return nil, err
	}
	settled := time.Since(settleStart)
	obs.HandOvers = v.Deliveries.HandOvers()
	rep := newReport(o, s, sent, &obs, settled)
	if am != nil {
		rep.compare(am)
	}
	return rep, rep.addOffline(s)
}

// stormElsewhere sends the storm to the Vigil at o.url and measures what
// can be measured from here: ingest.
func stormElsewhere(ctx context.Context, o options, s *Storm, am *AlertmanagerRun, progress func(string, ...any)) (*Report, error) {
	progress("sending to %s with %d senders", o.url, o.concurrency)
	sent := send(ctx, newDriver(o, s, []string{o.url}), s, progress)
	rep := newReport(o, s, sent, nil, 0)
	if rep.Ingest.Answered200 == 0 {
		return nil, fmt.Errorf("%s accepted none of %d payloads (answers by status, 0 for none: %v); is Vigil running there, and is that its Alertmanager receiver?", o.url, len(sent), rep.Ingest.Failed)
	}
	if am != nil {
		rep.compare(am)
	}
	return rep, rep.addOffline(s)
}

// newDriver is a driver sending s to urls as the options say.
func newDriver(o options, s *Storm, urls []string) *driver {
	d := &driver{client: newClient(o.concurrency), urls: urls, workers: o.concurrency}
	if o.duration > 0 && s.Span > 0 {
		d.pace = float64(o.duration) / float64(s.Span)
	}
	return d
}

// send runs the storm's payloads through d, reporting progress every second.
func send(ctx context.Context, d *driver, s *Storm, progress func(string, ...any)) []Sent {
	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				progress("%d/%d payloads answered", d.sent.Load(), len(s.Payloads))
			}
		}
	}()
	return d.run(ctx, s.Payloads)
}
