package store

import (
	"context"
	"fmt"
	"time"

	"github.com/vigilops/vigil/routing"
)

// SignalIn is a non-alert event (metric or log anomaly, prediction, change) as a
// source hands it to IngestEvents.
type SignalIn = routing.Signal

// IngestEvents stores a batch of signals in one transaction. A signal whose
// fingerprint and start were stored before is a duplicate. A new one joins the
// most recent open incident that concerns its service label; failing that it
// opens an incident when MayOpen, and is otherwise kept without an incident (for
// correlation and timelines). When IngestEvents returns nil the events are durable
// and queued for delivery; on error nothing of the batch is stored.
func (s *Store) IngestEvents(ctx context.Context, source string, signals []SignalIn, now time.Time) (IngestResult, error) {
	var outcomes []IngestOutcome
	err := s.lockedTx(ctx, lockRouting, func(tx *txn) error {
		plan, err := s.router.Signals(txView{ctx, tx}, signals, now)
		if err != nil {
			return err
		}
		if err := apply(ctx, tx, source, plan, now); err != nil {
			return err
		}
		outcomes = outcomesOf(plan)
		return nil
	})
	if err != nil {
		return IngestResult{}, fmt.Errorf("store: ingest events: %w", err)
	}
	return Summarize(outcomes), nil
}
