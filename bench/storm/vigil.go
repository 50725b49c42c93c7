package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/vigilops/vigil/activities"
	corr "github.com/vigilops/vigil/analyzers/correlate"
	"github.com/vigilops/vigil/assist"
	"github.com/vigilops/vigil/bot/console"
	"github.com/vigilops/vigil/config"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/ingest"
	"github.com/vigilops/vigil/internal/devtemporal"
	"github.com/vigilops/vigil/runbooks"
	"github.com/vigilops/vigil/store"
	"github.com/vigilops/vigil/workflows"
)

// vigil is Vigil in this process, wired as `vigil dev` wires it (cmd/vigil's
// runDev) minus what a storm does not touch: the store with correlation, the
// embedded Temporal server, a worker running the incident workflows (with an
// empty runbook library), their review activities and the assistant (off),
// the outbox dispatcher, and the Alertmanager receiver behind the same body
// limit and group commit.
type vigil struct {
	URL   string
	Store *store.Store
	// Deliveries times the dispatcher's first hand-over of each incident.
	Deliveries *timedDeliverer
	// temporal and taskQueue are the worker's, to tell when it is ready.
	temporal  client.Client
	taskQueue string
	// closers run in reverse order on Close.
	closers []func() error
}

// With correlate, ingest routes through analyzers/correlate over edges (the
// dependency graph a user configures as changes.services.*.calls) with the
// default settings, as `vigil dev` does.
func startVigil(ctx context.Context, dir string, groupBy []string, correlate bool, spool config.SpoolMode, edges [][2]string, maxBody int64, logger *slog.Logger) (*vigil, error) {
	v := &vigil{}
	up := false
	defer func() {
		if !up {
			_ = v.Close()
		}
	}()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	var err error
	if v.Store, err = store.Open(filepath.Join(dir, "vigil.db")); err != nil {
		return nil, err
	}
	v.closers = append(v.closers, v.Store.Close)
	if correlate {
		c, err := corr.NewCorrelator(corr.DefaultConfig(), corr.NewGraph(edges), nil)
		if err != nil {
			return nil, err
		}
		v.Store.Correlate(c, nil)
	}
	srv, err := devtemporal.Start(ctx, devtemporal.Options{DBPath: filepath.Join(dir, "temporal.db"), Logger: logger.With("component", "temporal-server")})
	if err != nil {
		return nil, err
	}
	v.closers = append(v.closers, srv.Stop)
	tc, err := client.DialContext(ctx, client.Options{HostPort: srv.Address(), Namespace: srv.Namespace(),
		Logger: sdklog.NewStructuredLogger(logger.With("component", "temporal-sdk"))})
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s: %w", srv.Address(), err)
	}
	v.closers = append(v.closers, func() error { tc.Close(); return nil })
	const taskQueue = "vigil"
	w := worker.New(tc, taskQueue, worker.Options{})
	w.RegisterWorkflow(workflows.IncidentWorkflow)
	w.RegisterWorkflow(workflows.RemediationWorkflow)
	chat := console.Thread{Store: v.Store}
	w.RegisterActivity(&activities.Activities{
		Store: v.Store, Chat: chat, Runbooks: runbooks.NewHolder(&runbooks.Library{}),
		Steps: runbooks.Executor{}, Logger: logger,
	})
	w.RegisterActivity(&activities.Review{Store: v.Store, Chat: chat, Logger: logger})
	// The assistant is off, as by default: incident briefs are Vigil's own.
	red, err := assist.NewRedactor(nil, nil)
	if err != nil {
		return nil, err
	}
	assistant, err := assist.New(assist.Options{Redactor: red, Logger: logger})
	if err != nil {
		return nil, err
	}
	w.RegisterActivity(&activities.Assist{Assistant: assistant, Store: v.Store, Logger: logger})
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("start worker: %w", err)
	}
	v.closers = append(v.closers, func() error { w.Stop(); return nil })
	v.temporal, v.taskQueue = tc, taskQueue

	v.Deliveries = &timedDeliverer{to: workflows.Client{Temporal: tc, TaskQueue: taskQueue}, first: map[string]handOver{}}
	disp := ingest.NewDispatcher(v.Store, v.Deliveries, logger.With("component", "dispatch"))
	disp.Announcer = ingest.NewAnnouncer(v.Store, chat, logger.With("component", "announce"))
	dctx, stopDispatch := context.WithCancel(context.WithoutCancel(ctx))
	dispatched := make(chan struct{})
	go func() { defer close(dispatched); disp.Run(dctx) }()
	v.closers = append(v.closers, func() error { stopDispatch(); <-dispatched; return nil })

	// As in `vigil dev`: alerts from concurrent requests are committed together.
	batch := ingest.NewBatcher(v.Store, 0)
	bctx, stopBatch := context.WithCancel(context.WithoutCancel(ctx))
	batched := make(chan struct{})
	go func() { defer close(batched); batch.Run(bctx) }()
	v.closers = append(v.closers, func() error { stopBatch(); <-batched; return nil })

	var alerts ingest.AlertStore = batch
	if spool != config.SpoolOff {
		sp, err := ingest.OpenSpool(filepath.Join(dir, "spool.db"), "alertmanager", logger.With("component", "spool"))
		if err != nil {
			return nil, err
		}
		sp.Notify, disp.Yield = disp.Wake, sp.Yield
		spooled := make(chan struct{})
		go func() { defer close(spooled); sp.Run(bctx, v.Store) }()
		v.closers = append(v.closers, sp.Close, func() error { stopBatch(); <-spooled; return nil })
		alerts = &ingest.AutoSpool{Direct: batch, Spool: sp}
		if spool == config.SpoolAlways {
			alerts = sp
		}
	}
	mux := http.NewServeMux()
	mux.Handle("POST /api/v1/alerts/alertmanager", &ingest.Alertmanager{
		Store: alerts, GroupBy: groupBy, Notify: disp.Wake, Logger: logger.With("component", "ingest"),
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		mux.ServeHTTP(w, r)
	})}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("storm: http server", "err", err)
		}
	}()
	v.closers = append(v.closers, func() error { return hs.Shutdown(context.WithoutCancel(ctx)) })
	v.URL = "http://" + ln.Addr().String() + "/api/v1/alerts/alertmanager"
	up = true
	return v, nil
}

// ready waits until the Temporal server sees the worker polling for both
// workflow and activity tasks: until then the server is still loading the
// task queue (its first lease writes), which is Vigil starting, not Vigil
// under a storm.
func (v *vigil) ready(ctx context.Context) error {
	for _, kind := range []enumspb.TaskQueueType{enumspb.TASK_QUEUE_TYPE_WORKFLOW, enumspb.TASK_QUEUE_TYPE_ACTIVITY} {
		for {
			resp, err := v.temporal.DescribeTaskQueue(ctx, v.taskQueue, kind)
			if err != nil {
				return fmt.Errorf("describe task queue %s: %w", v.taskQueue, err)
			}
			if len(resp.GetPollers()) > 0 {
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}

// Close stops everything, last started first.
func (v *vigil) Close() error {
	var errs []error
	for i := len(v.closers) - 1; i >= 0; i-- {
		errs = append(errs, v.closers[i]())
	}
	v.closers = nil
	return errors.Join(errs...)
}

// handOver is when the dispatcher began and finished its first successful
// delivery to an incident (SignalWithStart).
type handOver struct{ Start, End time.Time }

// timedDeliverer records each incident's first hand-over, to split alert →
// first post latency into waiting for the dispatcher, the signal, and the
// workflow's first post.
type timedDeliverer struct {
	to    ingest.Deliverer
	mu    sync.Mutex
	first map[string]handOver
}

// Deliver implements ingest.Deliverer.
func (t *timedDeliverer) Deliver(ctx context.Context, in workflows.IncidentInput, events []incident.Event) error {
	start := time.Now()
	err := t.to.Deliver(ctx, in, events)
	if err == nil {
		t.mu.Lock()
		if _, ok := t.first[in.ID]; !ok {
			t.first[in.ID] = handOver{Start: start, End: time.Now()}
		}
		t.mu.Unlock()
	}
	return err
}

// HandOvers returns a copy of the first hand-overs by incident.
func (t *timedDeliverer) HandOvers() map[string]handOver {
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.first)
}
