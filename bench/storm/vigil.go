package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
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

	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/config"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/ingest"
	"github.com/vigilops/vigil/internal/app"
	"github.com/vigilops/vigil/internal/devtemporal"
	"github.com/vigilops/vigil/store"
	"github.com/vigilops/vigil/workflows/contract"
)

// vigil is Vigil in this process, as `vigil dev` runs it (internal/app with
// every role, on the embedded Temporal server) with the storm's settings and
// an empty runbook library: one replica on SQLite, or any number of them
// sharing one PostgreSQL store and the one Temporal server.
type vigil struct {
	// URLs are the replicas' Alertmanager receivers.
	URLs []string
	// Store is the first replica's store; on PostgreSQL every replica's
	// store is the same database, so it shows what all of them did.
	Store *store.Store
	// Engine is the store's engine.
	Engine store.Engine
	// Deliveries times the dispatcher's first hand-over of each incident,
	// whichever replica holds the dispatch lease.
	Deliveries *handOvers
	// temporal and taskQueue are the first replica's worker's, to tell when
	// the task queue is loaded.
	temporal  client.Client
	taskQueue string
	// closers run in reverse order on Close.
	closers []func() error
}

// With o.correlate, ingest routes through analyzers/correlate over edges
// (the dependency graph a user configures as changes.services.*.calls) with
// the default settings but learning, as `vigil dev` does. o.storeDSN empty
// is SQLite in dir; a PostgreSQL DSN names an empty database, migrated on
// open, that o.replicas replicas share, each running every role on a port of
// its own and signing the audit trail with one key (generated into dir).
func startVigil(ctx context.Context, dir string, o options, edges [][2]string, logger *slog.Logger) (*vigil, error) {
	v := &vigil{Engine: store.SQLite, Deliveries: &handOvers{first: map[string]handOver{}}}
	up := false
	defer func() {
		if !up {
			_ = v.Close()
		}
	}()
	cfg := config.Default()
	cfg.DataDir, cfg.HTTP.Addr, cfg.HTTP.MaxBodyBytes = dir, "127.0.0.1:0", o.maxBody
	cfg.Ingest.GroupBy, cfg.Ingest.Spool = o.groupBy, o.spool
	cfg.Ingest.Correlation.Enabled, cfg.Ingest.Correlation.Learn = o.correlate, false
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
	if o.storeDSN != "" {
		engine, _, err := store.ParseDSN(o.storeDSN)
		if err != nil {
			return nil, fmt.Errorf("--store: %w", err)
		}
		v.Engine = engine
	}
	if o.storeDSN != "" {
		if err := emptyStore(ctx, o.storeDSN); err != nil {
			return nil, err
		}
	}
	if v.Engine != store.SQLite {
		key, err := signingKey(dir)
		if err != nil {
			return nil, err
		}
		cfg.Audit.SigningKey = config.Secret("file:" + key)
	}

	srv, err := devtemporal.Start(ctx, devtemporal.Options{DBPath: filepath.Join(dir, "temporal.db"), Logger: logger.With("component", "temporal-server")})
	if err != nil {
		return nil, err
	}
	v.closers = append(v.closers, srv.Stop)
	// One after another: the first replica migrates an empty database.
	for i := range max(o.replicas, 1) {
		a, err := app.New(ctx, app.Options{
			Config: cfg, StoreDSN: o.storeDSN, TemporalAddress: srv.Address(), Logger: logger.With("replica", i+1),
			Holder:        fmt.Sprintf("storm-%d:%s", i+1, dir),
			WrapDeliverer: func(to ingest.Deliverer) ingest.Deliverer { return &timedDeliverer{to: to, log: v.Deliveries} },
		})
		if err != nil {
			return nil, fmt.Errorf("replica %d: %w", i+1, err)
		}
		v.closers = append(v.closers, func() error { return a.Stop(context.WithoutCancel(ctx)) })
		if err := a.Start(ctx); err != nil {
			return nil, fmt.Errorf("replica %d: %w", i+1, err)
		}
		v.URLs = append(v.URLs, "http://"+a.Addr()+"/api/v1/alerts/alertmanager")
		if i == 0 {
			v.Store, v.temporal, v.taskQueue = a.Store(), a.Temporal(), cfg.Temporal.TaskQueue
		}
	}
	up = true
	return v, nil
}

// emptyStore checks that the store dsn names holds no incident (opening it
// migrates it): an earlier storm's would count in grouping and threads, and
// its audit trail is signed with another run's key.
func emptyStore(ctx context.Context, dsn string) error {
	st, err := store.OpenDSN(dsn)
	if err != nil {
		return fmt.Errorf("--store: %w", err)
	}
	defer st.Close()
	incs, err := st.ListIncidents(ctx, store.IncidentFilter{Limit: 1})
	if err != nil {
		return fmt.Errorf("--store: %w", err)
	}
	if len(incs) > 0 {
		return fmt.Errorf("--store %s already holds incidents (%s, …): give the storm an empty database", store.Redact(dsn), incs[0].ID)
	}
	return nil
}

// signingKey writes a new ed25519 audit signing key into dir and returns its
// path: replicas sharing a store must sign its audit trail with one key.
func signingKey(dir string) (string, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	pem, err := audit.MarshalPrivateKey(key)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "audit.key")
	if err := os.WriteFile(path, pem, 0o600); err != nil {
		return "", fmt.Errorf("audit signing key: %w", err)
	}
	return path, nil
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

// handOvers records each incident's first hand-over, to split alert → first
// post latency into waiting for the dispatcher, the signal, and the
// workflow's first post. The replicas share one: the dispatcher runs on
// whichever holds its lease, and may move.
type handOvers struct {
	mu    sync.Mutex
	first map[string]handOver
}

// timedDeliverer is one replica's dispatcher's deliveries, timed into log.
type timedDeliverer struct {
	to  ingest.Deliverer
	log *handOvers
}

// Deliver implements ingest.Deliverer.
func (t *timedDeliverer) Deliver(ctx context.Context, in contract.IncidentInput, events []incident.Event) error {
	start := time.Now()
	err := t.to.Deliver(ctx, in, events)
	if err == nil {
		t.log.record(in.ID, handOver{Start: start, End: time.Now()})
	}
	return err
}

func (h *handOvers) record(id string, x handOver) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.first[id]; !ok {
		h.first[id] = x
	}
}

// HandOvers returns a copy of the first hand-overs by incident.
func (h *handOvers) HandOvers() map[string]handOver {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.first)
}
