package store

import (
	"context"
	"fmt"
	"time"

	"github.com/vigilops/vigil/audit"
)

// Retention acts are recorded by this actor.
const actorRetention = "system:retention"

// pruneChunk bounds one delete, so pruning never holds the write lock for long.
const pruneChunk = 1000

// prunable selects events that may go: received before the cutoff and not
// waiting in the outbox for delivery.
const prunable = `received_at < ? AND NOT (delivered_at IS NULL AND incident_id IS NOT NULL)`

// PruneEvents deletes raw events received before cutoff, except those still
// waiting for delivery, and returns how many it deleted. Alert dedup state, the
// incidents, their threads and the audit trail are never pruned.
//
// It records the pruning in the audit trail before deleting anything (action
// events.pruned by system:retention, with the cutoff, the count and the highest
// event id concerned), so a pruning that cannot be recorded does not happen. A
// run that fails midway leaves the rest for the next run, which records again.
func (s *Store) PruneEvents(ctx context.Context, cutoff, now time.Time) (int64, error) {
	var n, maxID int64
	err := s.db.QueryRowContext(ctx, `SELECT count(*), COALESCE(max(id), 0) FROM events WHERE `+prunable, ts(cutoff)).Scan(&n, &maxID)
	if err != nil {
		return 0, fmt.Errorf("store: prune events: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	_, err = s.AppendAudit(ctx, audit.Entry{
		Key: "retention/events/" + ts(now), At: now, Actor: actorRetention, Action: "events.pruned",
		Details: map[string]any{"received_before": ts(cutoff), "count": n, "max_event_id": maxID},
	})
	if err != nil {
		return 0, fmt.Errorf("store: prune events: %w", err)
	}
	var total int64
	for {
		res, err := s.exec(ctx, `DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id <= ? AND `+prunable+` LIMIT ?)`, maxID, ts(cutoff), pruneChunk)
		if err != nil {
			return total, fmt.Errorf("store: prune events: %d deleted, then: %w", total, err)
		}
		k, _ := res.RowsAffected()
		total += k
		if k < pruneChunk {
			return total, nil
		}
	}
}
