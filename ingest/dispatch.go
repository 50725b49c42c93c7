package ingest

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/store"
	"github.com/vigilops/vigil/workflows/contract"
)

// Outbox is the store's queue of accepted, undelivered events.
type Outbox interface {
	Outbox(ctx context.Context, limit int) ([]store.Delivery, error)
	// MarkDelivered takes delivered events out of the outbox, each only while
	// it still belongs to the incident it was delivered to (correlation may
	// have merged that incident away meanwhile, and queued it for another).
	MarkDelivered(ctx context.Context, delivered []store.Delivery, now time.Time) error
	Reroute(ctx context.Context, d store.Delivery, now time.Time) (string, error)
}

// Deliverer hands events to an incident's workflow.
type Deliverer interface {
	Deliver(ctx context.Context, in contract.IncidentInput, events []incident.Event) error
}

// Dispatcher moves events from the store's outbox to incident workflows. Delivery
// is at least once (an event is marked delivered only after Temporal has it) and
// workflows apply events idempotently.
type Dispatcher struct {
	Store  Outbox
	To     Deliverer
	Logger *slog.Logger
	// Poll is how often the outbox is checked without a wake-up (default 2s).
	Poll time.Duration
	// Policy is what new incidents run under (escalation, autonomy).
	Policy contract.IncidentPolicy
	// Opened, when set, is called after a delivery to a new incident
	// (Delivery.New) succeeded, from the delivering goroutine: it must not
	// block (start its own work).
	Opened func(store.Delivery)
	// Concurrency is how many incidents of one outbox batch are handed to
	// Temporal at once (default 16). An incident appears once per batch and
	// batches go one after another, so each incident's events keep their order.
	Concurrency int
	// Announcer, when set, runs beside the dispatcher and is woken with it:
	// new incidents' threads open without waiting for their workflows.
	Announcer *Announcer
	// Yield, when set, says how long to hold deliveries back so that a burst
	// of requests being accepted has the machine (Spool.Yield): the workflows
	// a delivery wakes cost far more than accepting. Deliveries are held at
	// most MaxHold at a time, so a long storm still moves.
	Yield func() time.Duration

	wake chan struct{}
}

// DefaultDispatchConcurrency is the Dispatcher's Concurrency when unset.
const DefaultDispatchConcurrency = 16

// MaxHold is the longest the dispatcher holds deliveries back for Yield.
const MaxHold = time.Second

// NewDispatcher returns a dispatcher; call Run to start it.
func NewDispatcher(s Outbox, to Deliverer, logger *slog.Logger) *Dispatcher {
	return &Dispatcher{Store: s, To: to, Logger: logger, Poll: 2 * time.Second, Concurrency: DefaultDispatchConcurrency, wake: make(chan struct{}, 1)}
}

// Wake asks the dispatcher to look at the outbox now. It never blocks.
func (d *Dispatcher) Wake() {
	if d.Announcer != nil {
		d.Announcer.Wake()
	}
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx is done. Failures are logged and retried with backoff.
func (d *Dispatcher) Run(ctx context.Context) {
	if d.Announcer != nil {
		announced := make(chan struct{})
		go func() { defer close(announced); d.Announcer.Run(ctx) }()
		defer func() { <-announced }()
	}
	backoff := time.Duration(0)
	for {
		wait := d.Poll
		if d.Yield != nil {
			giveWay(ctx, time.Now().Add(MaxHold), d.Yield)
		}
		if err := d.drain(ctx); err != nil && ctx.Err() == nil {
			backoff = min(max(2*backoff, time.Second), 30*time.Second)
			wait = backoff
			d.Logger.Warn("dispatch: delivery failed; will retry", "err", err, "retry_in", backoff)
		} else {
			backoff = 0
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-d.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// drain delivers outbox batches until the outbox is empty or a delivery fails.
func (d *Dispatcher) drain(ctx context.Context) error {
	for {
		// A large read gives each incident more events per signal: fewer
		// signals, fewer workflow tasks for Temporal to persist in a storm.
		batch, err := d.Store.Outbox(ctx, 5000)
		if err != nil || len(batch) == 0 {
			return err
		}
		// New incidents first: their first thread post should not wait behind
		// more evidence for incidents already open.
		slices.SortStableFunc(batch, func(a, b store.Delivery) int {
			switch {
			case a.New && !b.New:
				return -1
			case b.New && !a.New:
				return 1
			}
			return 0
		})
		if err := d.deliverAll(ctx, batch); err != nil {
			return err
		}
	}
}

// deliverAll hands a batch's incidents to Temporal, Concurrency at a time, then
// marks the events Temporal has delivered, in one store call. Once a delivery
// fails no more start; the ones in flight finish, those that succeeded are
// marked, and the first error is returned so the rest wait for the retry.
func (d *Dispatcher) deliverAll(ctx context.Context, batch []store.Delivery) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(cmp.Or(d.Concurrency, DefaultDispatchConcurrency))
	delivered := make([]store.Delivery, len(batch))
	for i, dl := range batch {
		g.Go(func() error {
			if gctx.Err() != nil {
				return nil // a delivery failed or ctx ended: leave this one for the retry
			}
			ok, err := d.deliver(ctx, dl)
			if ok {
				delivered[i] = dl
				if dl.New && d.Opened != nil {
					d.Opened(dl)
				}
			}
			return err
		})
	}
	err := g.Wait()
	delivered = slices.DeleteFunc(delivered, func(dl store.Delivery) bool { return len(dl.Events) == 0 })
	if len(delivered) > 0 {
		if merr := d.Store.MarkDelivered(ctx, delivered, time.Now()); merr != nil {
			return errors.Join(err, merr)
		}
	}
	return err
}

// deliver hands one incident's events to its workflow and reports whether
// Temporal now has them. Events of a finished incident are rerouted to a new
// one instead (and stay in the outbox for it).
func (d *Dispatcher) deliver(ctx context.Context, dl store.Delivery) (bool, error) {
	in := contract.IncidentInput{ID: dl.IncidentID, Key: dl.GroupKey, GroupLabels: dl.GroupLabels, Policy: d.Policy}
	err := d.To.Deliver(ctx, in, dl.Events)
	if errors.Is(err, contract.ErrIncidentClosed) {
		newID, err := d.Store.Reroute(ctx, dl, time.Now())
		if err != nil {
			return false, err
		}
		d.Logger.Info("dispatch: incident already finished; events moved", "from", dl.IncidentID, "to", newID)
		return false, nil
	}
	return err == nil, err
}
