package ingest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/vigilops/vigil/analyzers/correlate"
	"github.com/vigilops/vigil/store"
)

// Inhibitions apply Alertmanager's inhibit_rules at ingest: while a source
// alert fires, a new firing alert that a rule's targets match, with the same
// values of its equal labels, is stored but opens and joins no incident. It
// is a store.Muter that watches every alert ingested. Safe for concurrent use.
type Inhibitions struct {
	mu       sync.Mutex
	ih       *correlate.Inhibitor
	observed int
	// store and seen, when set, let Refresh observe alerts other replicas
	// ingested: every alert event after seen.
	store InhibitionStore
	seen  int64
}

// InhibitionStore is where inhibitions find their source alerts.
type InhibitionStore interface {
	FiringAlerts(context.Context) ([]store.AlertIn, error)
	LastEventID(context.Context) (int64, error)
	AlertEventsAfter(ctx context.Context, after int64, limit int) ([]store.ObservedAlert, error)
}

var _ store.Refresher = (*Inhibitions)(nil)

// refreshBatch is how many events Refresh reads at a time.
const refreshBatch = 5000

// Refresh observes the alerts stored since the last refresh, by any replica
// (store.Refresher); this replica's own were observed already, and observing
// an alert again changes nothing.
func (in *Inhibitions) Refresh(ctx context.Context) error {
	if in.store == nil {
		return nil
	}
	for {
		in.mu.Lock()
		after := in.seen
		in.mu.Unlock()
		events, err := in.store.AlertEventsAfter(ctx, after, refreshBatch)
		if err != nil || len(events) == 0 {
			return err
		}
		in.mu.Lock()
		for _, e := range events {
			in.ih.Observe(correlate.Alert{Labels: e.Labels, StartsAt: e.StartsAt, EndsAt: e.EndsAt})
		}
		in.seen = events[len(events)-1].ID
		in.mu.Unlock()
		if len(events) < refreshBatch {
			return nil
		}
	}
}

// pruneEvery is how many observations pass between forgetting resolved sources.
const pruneEvery = 1000

// LoadInhibitions returns inhibitions for rules, with the alerts firing now
// in the store as their possible sources.
func LoadInhibitions(ctx context.Context, st InhibitionStore, rules []correlate.InhibitRule) (*Inhibitions, error) {
	in := &Inhibitions{ih: correlate.NewInhibitor(rules...), store: st}
	// Read before the firing alerts, so an alert stored in between is
	// observed again by the first Refresh rather than missed.
	seen, err := st.LastEventID(ctx)
	if err != nil {
		return nil, fmt.Errorf("inhibition: %w", err)
	}
	in.seen = seen
	firing, err := st.FiringAlerts(ctx)
	if err != nil {
		return nil, fmt.Errorf("inhibition: %w", err)
	}
	for _, a := range firing {
		in.ObserveAlert(a.Labels, a.StartsAt, a.EndsAt)
	}
	return in, nil
}

// ObserveAlert implements store.AlertObserver.
func (in *Inhibitions) ObserveAlert(labels map[string]string, startsAt, endsAt time.Time) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.ih.Observe(correlate.Alert{Labels: labels, StartsAt: startsAt, EndsAt: endsAt})
	if in.observed++; in.observed%pruneEvery == 0 {
		in.ih.Prune(time.Now())
	}
}

// Silencing implements store.Muter: the rule that inhibits labels at at, if any.
func (in *Inhibitions) Silencing(labels map[string]string, at time.Time) []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	if inh, ok := in.ih.InhibitedBy(labels, at); ok {
		return []string{fmt.Sprintf("inhibit_rules[%d] by %s", inh.Rule, correlate.Key(inh.Source))}
	}
	return nil
}
