package ingest

import (
	"context"
	"errors"
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
			route := func(i int) {
				t.Helper()
				rctx, stopRouting := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() { defer close(done); spools[i].Route(rctx, sts[i]) }()
				defer func() { stopRouting(); <-done }()
				for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
					if n, _ := sts[i].SpoolPending(context.Background(), "alertmanager"); n == 0 {
						return
					}
				}
				t.Fatalf("replica %d's router left alerts in the spool", i)
			}
			route(0)
			for g := range groups {
				senders.Go(func() {
					for k := perGroup / 2; k < perGroup; k++ {
						send(g, k)
					}
				})
			}
			senders.Wait()
			route(1)

			out, err := sts[1].Outbox(context.Background(), 1000)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]int{}
			for _, d := range out {
				last := time.Time{}
				for _, e := range d.Events {
					seen[e.Fingerprint]++
					if e.StartsAt.Before(last) {
						t.Errorf("incident %s: %s stored after a later alert of its group", d.IncidentID, e.Fingerprint)
					}
					last = e.StartsAt
				}
			}
			if len(seen) != groups*perGroup || len(out) != groups {
				t.Errorf("%d distinct alerts stored in %d incidents, want %d in %d", len(seen), len(out), groups*perGroup, groups)
			}
			for fp, n := range seen {
				if n != 1 {
					t.Errorf("%s stored %d times", fp, n)
				}
			}
			if n, err := sts[0].SpoolPending(context.Background(), "alertmanager"); err != nil || n != 0 {
				t.Errorf("pending after routing = %d, %v; routed entries should be dropped", n, err)
			}
		})
	}
}

// TestStoreSpoolLimit: past MaxPending alerts waiting, a store's spool
// refuses a request whole (the receiver answers 503) and stores nothing of it.
func TestStoreSpoolLimit(t *testing.T) {
	st := replicaStores(t, store.SQLite)[0]
	sp := NewStoreSpool(st, "alertmanager", slog.New(slog.DiscardHandler))
	sp.MaxPending = 3
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); sp.Accept(ctx) }()
	defer func() { stop(); <-done }()
	batch := func(n int) []store.AlertIn {
		out := make([]store.AlertIn, n)
		for i := range out {
			out[i] = store.AlertIn{Fingerprint: fmt.Sprint("f", n, i), Status: "firing", Labels: map[string]string{"alertname": "X"}, GroupKey: "k"}
		}
		return out
	}
	if _, err := sp.IngestAlerts(context.Background(), "alertmanager", batch(2), time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := sp.IngestAlerts(context.Background(), "alertmanager", batch(2), time.Now()); !errors.Is(err, store.ErrSpoolFull) {
		t.Fatalf("past the limit: %v, want ErrSpoolFull", err)
	}
	if n, err := st.SpoolPending(context.Background(), "alertmanager"); err != nil || n != 2 {
		t.Errorf("pending = %d, %v; want the 2 accepted, none of the refused request", n, err)
	}
}
