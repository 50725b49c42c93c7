package ingest

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/store"
	"github.com/vigilops/vigil/workflows"
)

// Outbox is the store's queue of accepted, undelivered events.
type Outbox interface {
	Outbox(ctx context.Context, limit int) ([]store.Delivery, error)
	MarkDelivered(ctx context.Context, ids []int64, now time.Time) error
	Reroute(ctx context.Context, d store.Delivery, now time.Time) (string, error)
}

// Deliverer hands events to an incident's workflow.
type Deliverer interface {
	Deliver(ctx context.Context, in workflows.IncidentInput, events []incident.Event) error
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
	Policy workflows.IncidentPolicy

	wake chan struct{}
}

// NewDispatcher returns a dispatcher; call Run to start it.
func NewDispatcher(s Outbox, to Deliverer, logger *slog.Logger) *Dispatcher {
	return &Dispatcher{Store: s, To: to, Logger: logger, Poll: 2 * time.Second, wake: make(chan struct{}, 1)}
}

// Wake asks the dispatcher to look at the outbox now. It never blocks.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx is done. Failures are logged and retried with backoff.
func (d *Dispatcher) Run(ctx context.Context) {
	backoff := time.Duration(0)
	for {
		wait := d.Poll
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
		batch, err := d.Store.Outbox(ctx, 500)
		if err != nil || len(batch) == 0 {
			return err
		}
		for _, dl := range batch {
			if err := d.deliver(ctx, dl); err != nil {
				return err
			}
		}
	}
}

func (d *Dispatcher) deliver(ctx context.Context, dl store.Delivery) error {
	in := workflows.IncidentInput{ID: dl.IncidentID, Key: dl.GroupKey, GroupLabels: dl.GroupLabels, Policy: d.Policy}
	err := d.To.Deliver(ctx, in, dl.Events)
	if errors.Is(err, workflows.ErrIncidentClosed) {
		newID, err := d.Store.Reroute(ctx, dl, time.Now())
		if err != nil {
			return err
		}
		d.Logger.Info("dispatch: incident already finished; events moved", "from", dl.IncidentID, "to", newID)
		return nil
	}
	if err != nil {
		return err
	}
	ids := make([]int64, len(dl.Events))
	for i, e := range dl.Events {
		ids[i] = e.ID
	}
	return d.Store.MarkDelivered(ctx, ids, time.Now())
}
