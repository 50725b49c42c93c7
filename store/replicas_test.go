package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/audit"
)

// Replicas share one database: these tests give two stores on one database
// the same work at once, as two `vigil serve` replicas would get it, and check
// that the outcome is the one a single store would have reached.

// TestReplicasOpenOneIncidentPerGroup sends every group's alerts to both
// replicas at once: each group still opens exactly one incident, incident
// numbers stay unique, and each alert is stored once.
func TestReplicasOpenOneIncidentPerGroup(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		rs := openReplicas(t, 2)
		ctx := context.Background()
		const groups = 20
		var wg sync.WaitGroup
		errs := make(chan error, 2*groups)
		for g := range groups {
			a := alert(fmt.Sprintf("fp-%d", g), "HighLatency", fmt.Sprintf("svc-%d", g), "firing", t0)
			for _, r := range rs {
				wg.Go(func() {
					if _, err := r.IngestAlerts(ctx, "alertmanager", []AlertIn{a}, t0); err != nil {
						errs <- err
					}
				})
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		for i, r := range rs {
			incs, err := r.ListIncidents(ctx, IncidentFilter{})
			if err != nil {
				t.Fatal(err)
			}
			keys := map[string]int{}
			for _, inc := range incs {
				keys[inc.Key]++
			}
			if len(incs) != groups || len(keys) != groups {
				t.Fatalf("replica %d lists %d incidents over %d groups, want %d each: %v", i, len(incs), len(keys), groups, keys)
			}
		}
		out, err := rs[0].Outbox(ctx, 1000)
		if err != nil {
			t.Fatal(err)
		}
		events := 0
		for _, d := range out {
			events += len(d.Events)
		}
		if events != groups {
			t.Errorf("%d events queued for delivery, want %d: an alert sent to both replicas is one event", events, groups)
		}
	})
}

// TestReplicasKeepOneAuditChain appends from both replicas at once, each
// signing with the same key: the trail is one chain that verifies, with
// every record once.
func TestReplicasKeepOneAuditChain(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		rs := openReplicas(t, 2)
		ctx := context.Background()
		signer := newKey(t)
		for _, r := range rs {
			if _, err := r.EnableSigning(ctx, signer); err != nil {
				t.Fatal(err)
			}
		}
		const each = 40
		var wg sync.WaitGroup
		for i, r := range rs {
			for j := range each {
				wg.Go(func() { appendTest(t, r, fmt.Sprintf("inc-%d", j%4), "step.finished", i*each+j) })
			}
		}
		wg.Wait()
		v, err := rs[1].VerifyAuditWith(ctx, audit.NewKeys(signer.PublicKey()), nil)
		if err != nil {
			t.Fatal(err)
		}
		if v.Records != 2*each || v.Head != 2*each {
			t.Errorf("verified %+v, want %d records in one chain", v, 2*each)
		}
	})
}

// TestLeases: one holder at a time; the holder renews; another takes over
// once the lease expires or is released.
func TestLeases(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		rs := openReplicas(t, 2)
		ctx := context.Background()
		ttl := 15 * time.Second
		steps := []struct {
			store  int
			holder string
			at     time.Duration
			op     string // acquire | release
			want   bool
		}{
			{0, "a", 0, "acquire", true},
			{1, "b", time.Second, "acquire", false},       // held by a
			{0, "a", 10 * time.Second, "acquire", true},   // a renews, until 25s
			{1, "b", 20 * time.Second, "acquire", false},  // still a's
			{1, "b", 26 * time.Second, "acquire", true},   // expired: b takes it
			{0, "a", 27 * time.Second, "acquire", false},  // a lost it
			{0, "a", 28 * time.Second, "release", false},  // a's release does nothing
			{0, "a", 29 * time.Second, "acquire", false},  // still b's
			{1, "b", 30 * time.Second, "release", false},  // b lets go
			{0, "a", 30*time.Second + 1, "acquire", true}, // a at once
		}
		for i, st := range steps {
			r := rs[st.store]
			if st.op == "release" {
				if err := r.ReleaseLease(ctx, "dispatcher", st.holder); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				continue
			}
			got, err := r.AcquireLease(ctx, "dispatcher", st.holder, ttl, t0.Add(st.at))
			if err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			if got != st.want {
				t.Errorf("step %d: %s acquires at %v = %v, want %v", i, st.holder, st.at, got, st.want)
			}
		}
		ls, err := rs[0].Leases(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(ls) != 1 || ls[0].Holder != "a" || !ls[0].ExpiresAt.Equal(t0.Add(30*time.Second+1+ttl)) {
			t.Errorf("leases = %+v, want dispatcher held by a", ls)
		}
	})
}

// TestLeaseRace: holders racing for a free lease, one wins.
func TestLeaseRace(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		rs := openReplicas(t, 2)
		ctx := context.Background()
		var mu sync.Mutex
		var winners []string
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				holder := fmt.Sprintf("h%d", i)
				ok, err := rs[i%2].AcquireLease(ctx, "retention", holder, time.Minute, t0)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					mu.Lock()
					winners = append(winners, holder)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		slices.Sort(winners)
		if len(winners) != 1 {
			t.Errorf("winners = %v, want exactly one", winners)
		}
	})
}

// TestSpoolEntriesRouteOnce: the store's spool routes each entry once, deleting
// it in the routing transaction; a router whose entries another has routed
// meanwhile stores nothing.
func TestSpoolEntriesRouteOnce(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		rs := openReplicas(t, 2)
		ctx := context.Background()
		for i, r := range rs {
			if err := r.SpoolAppend(ctx, "am", "alertmanager", t0, []byte(`[]`), 1, 0); err != nil {
				t.Fatalf("append from replica %d: %v", i, err)
			}
		}
		entries, err := rs[0].SpoolEntries(ctx, "am", 0, 10)
		if err != nil || len(entries) != 2 {
			t.Fatalf("entries = %+v, %v; want both replicas' appends", entries, err)
		}
		ids := []int64{entries[0].ID, entries[1].ID}
		a := alert("a1", "HighLatency", "checkout", "firing", t0)
		if res, err := rs[0].IngestSpoolEntries(ctx, "am", ids, "alertmanager", []AlertIn{a}, t0); err != nil || res.Accepted != 1 {
			t.Fatalf("route: %+v, %v", res, err)
		}
		b := alert("b1", "DiskFull", "db", "firing", t0)
		if _, err := rs[1].IngestSpoolEntries(ctx, "am", ids, "alertmanager", []AlertIn{b}, t0); !errors.Is(err, ErrSpoolRaced) {
			t.Errorf("routing entries routed already: %v, want ErrSpoolRaced", err)
		}
		if incs, _ := rs[1].ListIncidents(ctx, IncidentFilter{}); len(incs) != 1 {
			t.Errorf("%d incidents, want the first router's one: the raced batch must store nothing", len(incs))
		}
		if n, err := rs[1].SpoolPending(ctx, "am"); err != nil || n != 0 {
			t.Errorf("pending = %d, %v; want the routed entries gone", n, err)
		}
	})
}

// TestRedact: no message shows a DSN's password, even one that does not parse.
func TestRedact(t *testing.T) {
	for _, tt := range []struct{ dsn, want string }{
		{"postgres://vigil:s3cret@db:5432/vigil?sslmode=require", "postgres://vigil:xxxxx@db:5432/vigil?sslmode=require"},
		{"postgres://vigil@db/vigil", "postgres://vigil@db/vigil"},
		{"sqlite:///var/lib/vigil/vigil.db", "sqlite:///var/lib/vigil/vigil.db"},
		{"postgres://vigil:s3cret@db:port/vigil", "(unparsable DSN)"},
	} {
		if got := Redact(tt.dsn); got != tt.want || strings.Contains(got, "s3cret") {
			t.Errorf("Redact(%q) = %q, want %q", tt.dsn, got, tt.want)
		}
	}
}
