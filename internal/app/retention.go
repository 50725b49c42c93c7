package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/vigilops/vigil/config"
	"github.com/vigilops/vigil/store"
)

// pruneEvery is how often retention runs.
const pruneEvery = time.Hour

// retention prunes raw events older than retention.events_days now and every
// hour until ctx is done. It is nil when events are kept forever.
func retention(st *store.Store, r config.Retention, logger *slog.Logger) func(context.Context) {
	if r.EventsDays <= 0 {
		return nil
	}
	keep := time.Duration(r.EventsDays) * 24 * time.Hour
	return func(ctx context.Context) {
		t := time.NewTicker(pruneEvery)
		defer t.Stop()
		for {
			now := time.Now()
			n, err := st.PruneEvents(ctx, now.Add(-keep), now)
			switch {
			case err != nil && ctx.Err() == nil:
				logger.Error("retention: prune events", "err", err)
			case n > 0:
				logger.Info("retention: pruned raw events (recorded in the audit trail)", "count", n, "older_than_days", r.EventsDays)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}
}
