package ingest

import (
	"context"
	"testing"
	"time"

	"github.com/vigilops/vigil/store"
)

// TestAutoSpool: while the store keeps up, the answer names the incident as
// without a spool; when too many alerts already wait for the store, or the
// spool still holds alerts (so a group's later payload cannot overtake its
// earlier ones), the alerts are spooled and the answer says so.
func TestAutoSpool(t *testing.T) {
	dir := t.TempDir()
	st, sp := openTestStore(t, dir), openTestSpool(t, dir)
	ctx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	spooled := make(chan struct{})
	// The router's store is down: what is spooled stays pending.
	go func() { defer close(spooled); sp.Run(ctx, downStore{}) }()
	t.Cleanup(func() { stop(); <-spooled })

	alert := func(instance string) []store.AlertIn {
		return []store.AlertIn{{Fingerprint: instance, Status: "firing", Labels: map[string]string{"alertname": "DiskFull", "instance": instance},
			StartsAt: time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC), GroupKey: "DiskFull", GroupLabels: map[string]string{"alertname": "DiskFull"}}}
	}

	// Keeping up: routed in the answer.
	direct := NewBatcher(st, 0)
	batched := make(chan struct{})
	go func() { defer close(batched); direct.Run(ctx) }()
	t.Cleanup(func() { stop(); <-batched })
	res, err := (&AutoSpool{Direct: direct, Spool: sp}).IngestAlerts(ctx, "alertmanager", alert("db-1"), time.Now())
	if err != nil || res.Queued != 0 || len(res.Incidents) != 1 {
		t.Fatalf("idle store: %+v, %v; want routed into one incident", res, err)
	}

	// Behind: a batcher whose writer is stuck holds more than Behind alerts.
	stuck := NewBatcher(st, 0)
	qctx, unqueue := context.WithCancel(ctx)
	defer unqueue()
	for range 3 {
		go func() { _, _ = stuck.IngestAlerts(qctx, "alertmanager", alert("queued"), time.Now()) }()
	}
	for stuck.InFlight() < 3 {
		time.Sleep(time.Millisecond)
	}
	a := &AutoSpool{Direct: stuck, Spool: sp, Behind: 2}
	res, err = a.IngestAlerts(ctx, "alertmanager", alert("db-2"), time.Now())
	if err != nil || res.Queued != 1 || res.Accepted != 1 || len(res.Incidents) != 0 {
		t.Fatalf("store behind: %+v, %v; want 1 queued in the spool", res, err)
	}

	// The spool holds db-2: the next alert follows it there, however idle
	// the store.
	if sp.Pending() != 1 {
		t.Fatalf("spool pending %d, want 1", sp.Pending())
	}
	res, err = (&AutoSpool{Direct: direct, Spool: sp}).IngestAlerts(ctx, "alertmanager", alert("db-3"), time.Now())
	if err != nil || res.Queued != 1 {
		t.Fatalf("spool not empty: %+v, %v; want queued behind what it holds", res, err)
	}
}

// TestSpoolRoutingGivesWayToABurst: while requests keep being accepted, the
// router holds back, until they pause or the oldest entry has waited
// RouteDelay.
func TestSpoolRoutingGivesWayToABurst(t *testing.T) {
	for _, tc := range []struct {
		name  string
		delay time.Duration
		burst time.Duration // how long requests keep coming
		// routedDuring: routing starts while the burst still goes on.
		routedDuring bool
	}{
		{"the burst pauses first", time.Hour, 400 * time.Millisecond, false},
		{"the delay runs out first", 200 * time.Millisecond, 20 * time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			st, sp := openTestStore(t, dir), openTestSpool(t, dir)
			sp.RouteDelay = tc.delay
			ctx, stop := context.WithCancel(context.Background())
			ran := make(chan struct{})
			go func() { defer close(ran); sp.Run(ctx, st) }()
			t.Cleanup(func() { stop(); <-ran })

			start := time.Now()
			if _, err := sp.IngestAlerts(ctx, "alertmanager", []store.AlertIn{{Fingerprint: "a", Status: "firing",
				Labels: map[string]string{"alertname": "DiskFull"}, StartsAt: start, GroupKey: "DiskFull"}}, start); err != nil {
				t.Fatal(err)
			}
			// The burst: other requests being accepted, every few ms.
			burstEnd := start.Add(tc.burst)
			go func() {
				for time.Now().Before(burstEnd) && ctx.Err() == nil {
					sp.accepting(time.Now())
					time.Sleep(5 * time.Millisecond)
				}
			}()
			var routedAt time.Time
			for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				if pos, err := st.SpoolPosition(ctx, "alertmanager"); err == nil && pos > 0 {
					routedAt = time.Now()
					break
				}
			}
			switch {
			case routedAt.IsZero():
				t.Fatal("never routed")
			case tc.routedDuring && !routedAt.Before(burstEnd):
				t.Errorf("routed %s in, after the burst; want within about RouteDelay %s", routedAt.Sub(start), tc.delay)
			case !tc.routedDuring && routedAt.Before(burstEnd):
				t.Errorf("routed %s in, during the %s burst", routedAt.Sub(start), tc.burst)
			}
		})
	}
}
