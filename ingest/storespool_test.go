package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/store"
)

// TestStoreSpoolAcrossReplicas: two replicas accept into the spool their
// store keeps; one routes. Every accepted alert is routed once, each group's
// alerts in the order they were accepted; when that router stops, the other
// replica's takes over from where it stopped, skipping and repeating none.
func TestStoreSpoolAcrossReplicas(t *testing.T) {
	for _, engine := range []store.Engine{store.SQLite, store.Postgres} {
		t.Run(string(engine), func(t *testing.T) {
			sts := replicaStores(t, engine)
			var spools [2]*Spool
			ctx, stop := context.WithCancel(context.Background())
			var accepting sync.WaitGroup
			for i, st := range sts {
				spools[i] = NewStoreSpool(st, "alertmanager", slog.New(slog.DiscardHandler))
				spools[i].RouteDelay = -1
				accepting.Go(func() { spools[i].Accept(ctx) })
			}
			defer func() { stop(); accepting.Wait() }()

			// Each group's alerts are sent in order, alternating replicas, the
			// next once the previous is answered (as Alertmanager sends a group).
			const groups, perGroup = 6, 10
			start := time.Date(2026, 12, 8, 3, 0, 0, 0, time.UTC)
			send := func(g, k int) {
				t.Helper()
				a := store.AlertIn{Fingerprint: fmt.Sprintf("g%d-%d", g, k), Status: "firing", StartsAt: start.Add(time.Duration(k) * time.Second),
					Labels: map[string]string{"alertname": "Spool", "service": fmt.Sprintf("svc-%d", g)}, GroupKey: fmt.Sprint("g", g),
					GroupLabels: map[string]string{"service": fmt.Sprintf("svc-%d", g)}}
				res, err := spools[(g+k)%2].IngestAlerts(context.Background(), "alertmanager", []store.AlertIn{a}, start)
				if err != nil || res.Queued != 1 {
					t.Errorf("accept %s: %+v, %v", a.Fingerprint, res, err)
				}
			}
			var senders sync.WaitGroup
			for g := range groups {
				senders.Go(func() {
					for k := range perGroup / 2 {
						send(g, k)
					}
				})
			}
			senders.Wait()

			// Replica 0 routes the first half, then stops.
			routed0 := &recordingStore{}
			rctx, stopRouting := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); spools[0].Route(rctx, &positionStore{recordingStore: routed0, st: sts[0]}) }()
			waitRouted(t, routed0, groups*perGroup/2)
			stopRouting()
			<-done

			for g := range groups {
				senders.Go(func() {
					for k := perGroup / 2; k < perGroup; k++ {
						send(g, k)
					}
				})
			}
			senders.Wait()
			routed1 := &recordingStore{}
			rctx, stopRouting = context.WithCancel(context.Background())
			done = make(chan struct{})
			go func() { defer close(done); spools[1].Route(rctx, &positionStore{recordingStore: routed1, st: sts[1]}) }()
			waitRouted(t, routed1, groups*perGroup/2)
			stopRouting()
			<-done

			seen := map[string]int{}
			last := map[string]time.Time{}
			for _, a := range append(routed0.routed(), routed1.routed()...) {
				seen[a.Fingerprint]++
				if a.StartsAt.Before(last[a.GroupKey]) {
					t.Errorf("group %s: %s routed after a later alert", a.GroupKey, a.Fingerprint)
				}
				last[a.GroupKey] = a.StartsAt
			}
			if len(seen) != groups*perGroup {
				t.Errorf("%d distinct alerts routed, want %d", len(seen), groups*perGroup)
			}
			for fp, n := range seen {
				if n != 1 {
					t.Errorf("%s routed %d times", fp, n)
				}
			}
			if n, err := sts[0].SpoolPending(context.Background(), "alertmanager"); err != nil || n != 0 {
				t.Errorf("pending after routing = %d, %v; routed entries should be dropped", n, err)
			}
		})
	}
}

// positionStore records routed alerts as recordingStore does and keeps the
// spool's position in a real store, as IngestSpooled does.
type positionStore struct {
	*recordingStore
	st *store.Store
}

func (p *positionStore) IngestSpooled(ctx context.Context, spool string, position int64, source string, alerts []store.AlertIn, now time.Time) (store.IngestResult, error) {
	if _, err := p.st.IngestSpooled(ctx, spool, position, source, nil, now); err != nil {
		return store.IngestResult{}, err
	}
	return p.recordingStore.IngestSpooled(ctx, spool, position, source, alerts, now)
}

func (p *positionStore) SpoolPosition(ctx context.Context, spool string) (int64, error) {
	return p.st.SpoolPosition(ctx, spool)
}

func waitRouted(t *testing.T, r *recordingStore, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if len(r.routed()) >= n {
			return
		}
	}
	t.Fatalf("%d alerts routed, want %d", len(r.routed()), n)
}
