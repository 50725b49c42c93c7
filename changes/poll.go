package changes

import (
	"context"
	"log/slog"
	"time"

	"github.com/vigilops/vigil/store"
)

// Store is where polled changes go; *store.Store is one.
type Store interface {
	IngestEvents(ctx context.Context, source string, signals []store.SignalIn, now time.Time) (store.IngestResult, error)
}

// pollOverlap is how far each poll reaches back into the previous one's
// window: GitHub lists a change a little after it is made, and the store
// drops what it already has.
const pollOverlap = 2 * time.Minute

// Poller stores the recent changes of every catalogued service, for
// repositories that cannot send webhooks. Changes never open an incident;
// they join the open one that concerns their service, or wait in the store
// for correlation and timelines.
type Poller struct {
	Fetcher  *Fetcher
	Store    Store
	Interval time.Duration
	// Notify is called after new changes are stored, to wake the dispatcher.
	Notify func()
	Logger *slog.Logger
	Now    func() time.Time
}

// Run polls until ctx is done. The first poll reaches back the fetcher's
// lookback; a failed poll is retried from the same point at the next tick.
func (p *Poller) Run(ctx context.Context) {
	var from time.Time // the first poll reaches back the whole lookback
	t := time.NewTicker(p.Interval)
	defer t.Stop()
	for {
		to := p.Now()
		if floor := to.Add(-p.Fetcher.lookback); from.Before(floor) {
			from = floor // after a long outage, reach back no further than the lookback
		}
		if err := p.poll(ctx, from, to); err != nil {
			p.Logger.Warn("changes: poll failed; will retry", "err", err, "retry_in", p.Interval)
		} else {
			from = to.Add(-pollOverlap)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// poll stores the changes made from from through to. Repositories that could
// not be read are reported, and the others' changes are stored anyway.
func (p *Poller) poll(ctx context.Context, from, to time.Time) error {
	cs, fetchErr := p.Fetcher.Between(ctx, nil, from, to)
	if len(cs) == 0 {
		return fetchErr
	}
	in := make([]store.SignalIn, len(cs))
	for i, c := range cs {
		in[i] = store.SignalIn{Event: c.Event(time.Time{})}
	}
	res, err := p.Store.IngestEvents(ctx, Source, in, p.Now())
	if err != nil {
		return err
	}
	if res.Accepted > 0 {
		p.Logger.Info("changes: stored", "accepted", res.Accepted, "duplicates", res.Duplicates, "incidents", res.Incidents)
		if p.Notify != nil {
			p.Notify()
		}
	}
	return fetchErr
}
