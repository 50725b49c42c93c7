package changes

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/vigilops/vigil/store"
)

// Lookup fetches, when an incident opens, the changes to its services in the
// lookback window before its onset, and stores them as change events. They
// join the incident through its services (a change never opens one), with
// summaries that say how long before the onset each happened, so the thread
// and root-cause ranking see them even without webhooks or polling. Changes
// already stored (by webhook or poll) are duplicates and stored once.
type Lookup struct {
	Fetcher *Fetcher
	Store   Store
	// Notify is called after new changes are stored, to wake the dispatcher.
	Notify func()
	Logger *slog.Logger

	mu   sync.Mutex
	done map[string]bool // incidents already looked up
}

// maxRemembered bounds the incidents Lookup remembers; past it, it forgets
// them all (a repeat lookup only finds duplicates).
const maxRemembered = 10000

// Opened looks up the changes before onset to services for incident id,
// once per incident. It returns how many new changes were stored.
func (l *Lookup) Opened(ctx context.Context, id string, services []string, onset time.Time) (int, error) {
	if len(services) == 0 || onset.IsZero() {
		return 0, nil
	}
	l.mu.Lock()
	if l.done == nil || len(l.done) >= maxRemembered {
		l.done = map[string]bool{}
	}
	seen := l.done[id]
	l.done[id] = true
	l.mu.Unlock()
	if seen {
		return 0, nil
	}
	cs, fetchErr := l.Fetcher.Before(ctx, services, onset)
	if len(cs) == 0 {
		return 0, fetchErr
	}
	in := make([]store.SignalIn, len(cs))
	for i, c := range cs {
		in[i] = store.SignalIn{Event: c.Event(onset)}
	}
	res, err := l.Store.IngestEvents(ctx, Source, in, time.Now())
	if err != nil {
		l.mu.Lock()
		delete(l.done, id) // let a later delivery try again
		l.mu.Unlock()
		return 0, err
	}
	if res.Accepted > 0 {
		l.Logger.Info("changes before onset stored", "incident", id, "accepted", res.Accepted, "duplicates", res.Duplicates)
		if l.Notify != nil {
			l.Notify()
		}
	}
	return res.Accepted, fetchErr
}
