// Package lease runs a function on exactly one of several replicas at a time:
// the one holding a named lease in the shared store. Vigil's singleton loops
// (the outbox dispatcher, pollers, log tails, retention) each run under one,
// so that any number of worker replicas may run and a loop moves to another
// replica within about a TTL when its holder dies.
package lease

import (
	"context"
	"log/slog"
	"time"
)

// Leaser takes, renews and gives up leases; *store.Store is one.
//
// AcquireLease takes or renews name for holder until now+ttl and reports
// whether holder has it. ReleaseLease gives it up, doing nothing when holder
// does not hold it.
type Leaser interface {
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration, now time.Time) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

// DefaultTTL is the lease time when none is configured (ha.lease_ttl).
const DefaultTTL = 15 * time.Second

// Runner runs a function while it holds a lease.
type Runner struct {
	Leaser Leaser
	// Name is the lease's name, the same on every replica (e.g. "dispatch").
	Name string
	// Holder names this replica; it must differ between live replicas.
	Holder string
	// TTL is how long a lease lasts unrenewed; it is renewed every TTL/3, and
	// a replica without it tries to take it every TTL/3. Default DefaultTTL.
	TTL time.Duration
	// Logger, when set, is told when the lease is won, lost and released.
	Logger *slog.Logger
	// Held, when set, is called with true when the lease is won and false
	// when it is lost or given up (for a metric).
	Held func(bool)
}

// Run is Runner{…}.Run(ctx, fn).
func Run(ctx context.Context, l Leaser, name, holder string, ttl time.Duration, fn func(ctx context.Context)) {
	Runner{Leaser: l, Name: name, Holder: holder, TTL: ttl}.Run(ctx, fn)
}

// Run calls fn while this replica holds the lease, until ctx is done.
//
// It tries to take the lease now and then every TTL/3. Once it has it, it
// calls fn and renews the lease every TTL/3. When a renewal fails or is
// refused, or does not answer within TTL/3, fn's context is cancelled and Run
// waits for fn to return before it tries again: the lease was last renewed at
// most 2/3 TTL before, so fn has stopped before anyone else may take over as
// long as it returns promptly once cancelled. When ctx is done, fn is
// cancelled, waited for, and the lease released, so another replica takes it
// at its next try instead of after the TTL. fn returning on its own releases
// the lease too; it is called again once the lease is won again.
func (r Runner) Run(ctx context.Context, fn func(ctx context.Context)) {
	ttl := r.TTL
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	every := ttl / 3
	for {
		if r.acquire(ctx, every, ttl) {
			r.hold(ctx, every, ttl, fn)
		}
		if ctx.Err() != nil {
			return
		}
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// acquire tries once to take or renew the lease, giving up after timeout.
func (r Runner) acquire(ctx context.Context, timeout, ttl time.Duration) bool {
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ok, err := r.Leaser.AcquireLease(actx, r.Name, r.Holder, ttl, time.Now())
	if err != nil && ctx.Err() == nil {
		r.log(slog.LevelWarn, "lease: could not take or renew; will try again", "err", err)
	}
	return err == nil && ok
}

// hold runs fn while renewals succeed, and returns once fn has returned.
func (r Runner) hold(ctx context.Context, every, ttl time.Duration, fn func(ctx context.Context)) {
	r.log(slog.LevelInfo, "lease: won; running")
	r.held(true)
	defer r.held(false)
	fctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); fn(fctx) }()
	defer r.release()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			cancel()
			<-done
			return
		case <-done:
			cancel()
			r.log(slog.LevelWarn, "lease: its loop returned on its own; giving the lease up")
			return
		case <-t.C:
			if !r.acquire(ctx, every, ttl) {
				cancel()
				<-done
				if ctx.Err() == nil {
					r.log(slog.LevelWarn, "lease: lost (not renewed); stopped until it is won again")
				}
				return
			}
		}
	}
}

// release gives the lease up, even while ctx is being cancelled: a replica
// shutting down hands its loops over at once.
func (r Runner) release() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Leaser.ReleaseLease(ctx, r.Name, r.Holder); err != nil {
		r.log(slog.LevelWarn, "lease: release failed; it expires on its own", "err", err)
	}
}

func (r Runner) held(b bool) {
	if r.Held != nil {
		r.Held(b)
	}
}

func (r Runner) log(level slog.Level, msg string, args ...any) {
	if r.Logger != nil {
		r.Logger.Log(context.Background(), level, msg, append([]any{"lease", r.Name, "holder", r.Holder}, args...)...)
	}
}
