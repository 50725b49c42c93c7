package lease

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// leases is an in-memory Leaser with the store's rules: a lease is free when
// nobody holds it, when its holder's time is up, or to its own holder.
type leases struct {
	mu   sync.Mutex
	held map[string]held
}

type held struct {
	holder  string
	expires time.Time
}

func newLeases() *leases { return &leases{held: map[string]held{}} }

func (l *leases) AcquireLease(_ context.Context, name, holder string, ttl time.Duration, now time.Time) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h, ok := l.held[name]
	if ok && h.holder != holder && !h.expires.Before(now) {
		return false, nil
	}
	l.held[name] = held{holder: holder, expires: now.Add(ttl)}
	return true, nil
}

func (l *leases) ReleaseLease(_ context.Context, name, holder string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held[name].holder == holder {
		delete(l.held, name)
	}
	return nil
}

func (l *leases) get(name string) (held, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h, ok := l.held[name]
	return h, ok
}

// cut is a replica's link to the store that can be cut: every call then fails.
type cut struct {
	Leaser
	down atomic.Bool
}

var errDown = errors.New("store unreachable")

func (c *cut) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration, now time.Time) (bool, error) {
	if c.down.Load() {
		return false, errDown
	}
	return c.Leaser.AcquireLease(ctx, name, holder, ttl, now)
}

func (c *cut) ReleaseLease(ctx context.Context, name, holder string) error {
	if c.down.Load() {
		return errDown
	}
	return c.Leaser.ReleaseLease(ctx, name, holder)
}

// loop is a singleton loop that records when it runs, and checks that it
// never runs on two replicas at once.
type loop struct {
	mu      sync.Mutex
	running string // holder running now, "" for none
	overlap bool
	runs    []run
}

type run struct {
	holder     string
	start, end time.Time
}

func (lp *loop) fn(holder string) func(context.Context) {
	return func(ctx context.Context) {
		lp.mu.Lock()
		if lp.running != "" {
			lp.overlap = true
		}
		lp.running = holder
		lp.runs = append(lp.runs, run{holder: holder, start: time.Now()})
		i := len(lp.runs) - 1
		lp.mu.Unlock()
		<-ctx.Done()
		lp.mu.Lock()
		lp.running = ""
		lp.runs[i].end = time.Now()
		lp.mu.Unlock()
	}
}

// waitRunning waits until holder runs the loop.
func (lp *loop) waitRunning(t *testing.T, holder string, within time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		lp.mu.Lock()
		running, n := lp.running, len(lp.runs)
		var start time.Time
		if n > 0 {
			start = lp.runs[n-1].start
		}
		lp.mu.Unlock()
		if running == holder {
			return start
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s never ran the loop within %s; runs %+v", holder, within, lp.snapshot())
	return time.Time{}
}

func (lp *loop) snapshot() []run {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	return append([]run(nil), lp.runs...)
}

func (lp *loop) overlapped() bool {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	return lp.overlap
}

// replica runs r until the returned stop is called, which waits for Run.
func replica(r Runner, fn func(context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx, fn) }()
	return func() { cancel(); <-done }
}

func TestOneRunnerAtATime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store, lp := newLeases(), &loop{}
		const ttl = 150 * time.Millisecond
		stopA := replica(Runner{Leaser: store, Name: "dispatch", Holder: "a", TTL: ttl}, lp.fn("a"))
		defer stopA()
		stopB := replica(Runner{Leaser: store, Name: "dispatch", Holder: "b", TTL: ttl}, lp.fn("b"))
		defer stopB()
		// Several TTLs: the holder renews, the other keeps being refused.
		time.Sleep(5 * ttl)
		runs := lp.snapshot()
		if len(runs) != 1 || !runs[0].end.IsZero() {
			t.Errorf("runs %+v, want one replica running throughout", runs)
		}
		if lp.overlapped() {
			t.Error("the loop ran on both replicas at once")
		}
		if h, _ := store.get("dispatch"); h.holder != runs[0].holder {
			t.Errorf("lease held by %q, loop run by %q", h.holder, runs[0].holder)
		}
	})
}

func TestLoopMovesWhenItsHolderStopsRenewing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store, lp := newLeases(), &loop{}
		const ttl = 300 * time.Millisecond
		link := &cut{Leaser: store}
		stopA := replica(Runner{Leaser: link, Name: "poll", Holder: "a", TTL: ttl}, lp.fn("a"))
		defer stopA()
		lp.waitRunning(t, "a", time.Second)
		stopB := replica(Runner{Leaser: store, Name: "poll", Holder: "b", TTL: ttl}, lp.fn("b"))
		defer stopB()

		// a loses the store: it cannot renew (nor release), so b waits out the TTL.
		link.down.Store(true)
		cutAt := time.Now()
		startB := lp.waitRunning(t, "b", 5*ttl)
		runs := lp.snapshot()
		if len(runs) != 2 || runs[0].holder != "a" || runs[0].end.IsZero() {
			t.Fatalf("runs %+v, want a's run ended and then b's", runs)
		}
		if !runs[0].end.Before(startB) {
			t.Errorf("a stopped at %s, after b started at %s", runs[0].end, startB)
		}
		if got := startB.Sub(cutAt); got < ttl/3 {
			t.Errorf("b took over %s after a lost the store, before a's lease could have expired", got)
		}
		if lp.overlapped() {
			t.Error("the loop ran on both replicas at once")
		}
		// a's link comes back: the lease is b's now, and a keeps out of it.
		link.down.Store(false)
		time.Sleep(2 * ttl)
		if runs := lp.snapshot(); len(runs) != 2 || !runs[1].end.IsZero() {
			t.Errorf("runs %+v, want b still running alone", runs)
		}
	})
}

func TestReleaseOnStopHandsOverAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store, lp := newLeases(), &loop{}
		// A long TTL: were the lease not released, b would wait for most of it.
		const ttl = 3 * time.Second
		stopA := replica(Runner{Leaser: store, Name: "retention", Holder: "a", TTL: ttl}, lp.fn("a"))
		lp.waitRunning(t, "a", time.Second)
		stopB := replica(Runner{Leaser: store, Name: "retention", Holder: "b", TTL: ttl}, lp.fn("b"))
		defer stopB()
		before, _ := store.get("retention")

		stopA()
		if runs := lp.snapshot(); runs[0].end.IsZero() {
			t.Fatal("a's loop still runs after Run returned")
		}
		if h, ok := store.get("retention"); ok && h.holder == "a" {
			t.Fatalf("a still holds the lease after stopping: %+v", h)
		}
		startB := lp.waitRunning(t, "b", ttl)
		if !startB.Before(before.expires) {
			t.Errorf("b started at %s, not before a's lease would have expired (%s)", startB, before.expires)
		}
		if lp.overlapped() {
			t.Error("the loop ran on both replicas at once")
		}
	})
}

// A loop that returns on its own gives the lease up and runs again later.
func TestLoopThatReturnsRunsAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newLeases()
		var calls atomic.Int32
		stop := replica(Runner{Leaser: store, Name: "once", Holder: "a", TTL: 60 * time.Millisecond}, func(context.Context) { calls.Add(1) })
		defer stop()
		deadline := time.Now().Add(2 * time.Second)
		for calls.Load() < 2 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if n := calls.Load(); n < 2 {
			t.Errorf("the loop ran %d time(s), want it run again after returning", n)
		}
	})
}
