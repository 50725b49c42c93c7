package ingest

import (
	"cmp"
	"context"
	"time"

	"github.com/vigilops/vigil/store"
)

// DefaultSpoolBehind is AutoSpool.Behind when unset.
const DefaultSpoolBehind = 64

// AutoSpool answers through the store while the store keeps up, and through
// the spool when it falls behind (ingest.spool: auto). While it keeps up, a
// sender's answer names the incidents its alerts joined, as without a spool;
// in a storm, requests are answered once spooled, at the rate the spool file
// commits, and routed right after.
//
// A request goes to the spool when more than Behind alerts are already
// queued for or being committed to the store, or while the spool holds
// entries not yet routed. The second rule keeps order: Alertmanager sends a group's next
// notification only after the previous one is answered, so once a group's
// alerts are spooled its later ones are spooled behind them until the router
// has caught up, and never overtake them through the store.
type AutoSpool struct {
	Direct *Batcher
	Spool  *Spool
	// Behind is how many alerts queued for or being committed to the store
	// mean the store is behind. Default DefaultSpoolBehind.
	Behind int
}

// IngestAlerts implements AlertStore.
func (a *AutoSpool) IngestAlerts(ctx context.Context, source string, alerts []store.AlertIn, now time.Time) (store.IngestResult, error) {
	if a.Spool.Pending() > 0 || a.Direct.InFlight() > cmp.Or(a.Behind, DefaultSpoolBehind) {
		return a.Spool.IngestAlerts(ctx, source, alerts, now)
	}
	// Accepting through the store is accepting too: the router and the
	// dispatcher give way to it alike (Spool.Yield).
	a.Spool.accepting(time.Now())
	return a.Direct.IngestAlerts(ctx, source, alerts, now)
}
