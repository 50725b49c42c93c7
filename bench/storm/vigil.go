package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/vigilops/vigil/config"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/ingest"
	"github.com/vigilops/vigil/internal/app"
	"github.com/vigilops/vigil/internal/devtemporal"
	"github.com/vigilops/vigil/store"
	"github.com/vigilops/vigil/workflows"
)

// vigil is Vigil in this process, as `vigil dev` runs it (internal/app with
// every role, on the embedded Temporal server) with the storm's settings and
// an empty runbook library.
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
// default settings but learning, as `vigil dev` does.
func startVigil(ctx context.Context, dir string, groupBy []string, correlate bool, spool config.SpoolMode, edges [][2]string, maxBody int64, logger *slog.Logger) (*vigil, error) {
	v := &vigil{}
	up := false
	defer func() {
		if !up {
			_ = v.Close()
		}
	}()
	cfg := config.Default()
	cfg.DataDir, cfg.HTTP.Addr, cfg.HTTP.MaxBodyBytes = dir, "127.0.0.1:0", maxBody
	cfg.Ingest.GroupBy, cfg.Ingest.Spool = groupBy, spool
	cfg.Ingest.Correlation.Enabled, cfg.Ingest.Correlation.Learn = correlate, false
	cfg.Changes.Services = map[string]config.ServiceSpec{}
	for _, e := range edges {
		s := cfg.Changes.Services[e[0]]
		s.Calls = append(s.Calls, e[1])
		cfg.Changes.Services[e[0]] = s
	}
	// No runbook matches: incidents are opened, analysed and wait.
	cfg.Runbooks.Dir = filepath.Join(dir, "runbooks")
	if err := os.MkdirAll(cfg.Runbooks.Dir, 0o750); err != nil {
		return nil, err
	}

	srv, err := devtemporal.Start(ctx, devtemporal.Options{DBPath: filepath.Join(dir, "temporal.db"), Logger: logger.With("component", "temporal-server")})
	if err != nil {
		return nil, err
	}
	v.closers = append(v.closers, srv.Stop)
	v.Deliveries = &timedDeliverer{first: map[string]handOver{}}
	a, err := app.New(ctx, app.Options{
		Config: cfg, TemporalAddress: srv.Address(), Logger: logger, Holder: "storm:" + dir,
		WrapDeliverer: func(to ingest.Deliverer) ingest.Deliverer { v.Deliveries.to = to; return v.Deliveries },
	})
	if err != nil {
		return nil, err
	}
	v.closers = append(v.closers, func() error { return a.Stop(context.WithoutCancel(ctx)) })
	if err := a.Start(ctx); err != nil {
		return nil, err
	}
	v.Store, v.temporal, v.taskQueue = a.Store(), a.Temporal(), cfg.Temporal.TaskQueue
	v.URL = "http://" + a.Addr() + "/api/v1/alerts/alertmanager"
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
