package signals

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/store"
)

// EventSink stores the events a pipeline produces (ingest.SignalSink hands
// them to store.IngestEvents). IngestEvents returns nil only when every event
// of the batch is durable. After an error the pipeline offers the same events
// again, in the same order, so a sink that may have stored part of a failed
// batch should treat a repeated event as a duplicate (see the package
// documentation).
type EventSink interface {
	IngestEvents(ctx context.Context, source string, events []incident.Event, now time.Time) (store.IngestResult, error)
}

// ErrBacklog is returned, before any state changes, when more events wait for
// the sink than a pipeline holds. Retry after the sink has caught up.
var ErrBacklog = errors.New("signals: too many events wait for the store; nothing was applied")

// defaultMaxPending bounds the events waiting for the sink.
const defaultMaxPending = 10000

// outbox queues a pipeline's events until the sink has them. Events are
// appended under the pipeline's lock and handed to the sink in order by flush,
// one flush at a time, so each is stored once per successful flush.
type outbox struct {
	sink   EventSink
	source string
	max    int
	notify func()

	flushMu sync.Mutex // held for a whole flush
	mu      sync.Mutex // guards pending
	pending []incident.Event
}

func newOutbox(sink EventSink, source string, max int, notify func()) *outbox {
	if max <= 0 {
		max = defaultMaxPending
	}
	return &outbox{sink: sink, source: source, max: max, notify: notify}
}

// full reports whether the outbox has no room for more events.
func (o *outbox) full() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.pending) >= o.max
}

func (o *outbox) add(evs ...incident.Event) {
	o.mu.Lock()
	o.pending = append(o.pending, evs...)
	o.mu.Unlock()
}

// waiting returns the number of events waiting for the sink.
func (o *outbox) waiting() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.pending)
}

// flush hands every waiting event to the sink. It returns nil when there was
// nothing to hand over or the sink stored it all; on error the events stay
// queued for the next flush.
func (o *outbox) flush(ctx context.Context, now time.Time) (store.IngestResult, error) {
	o.flushMu.Lock()
	defer o.flushMu.Unlock()
	o.mu.Lock()
	batch := o.pending[:len(o.pending):len(o.pending)]
	o.mu.Unlock()
	if len(batch) == 0 {
		return store.IngestResult{}, nil
	}
	res, err := o.sink.IngestEvents(ctx, o.source, batch, now)
	if err != nil {
		return store.IngestResult{}, fmt.Errorf("signals: store %d %s event(s): %w", len(batch), o.source, err)
	}
	o.mu.Lock()
	// Only flush removes events, and it holds flushMu, so batch is still the
	// head of pending.
	o.pending = append([]incident.Event(nil), o.pending[len(batch):]...)
	o.mu.Unlock()
	if res.Accepted > 0 && o.notify != nil {
		o.notify()
	}
	return res, nil
}

// runFlusher flushes every interval until ctx is done, so that events left
// by a failed flush, or produced without a caller waiting for them, reach
// the sink. tick, when not nil, runs before each flush.
func (o *outbox) runFlusher(ctx context.Context, every time.Duration, now func() time.Time, tick func(time.Time), onErr func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		at := now()
		if tick != nil {
			tick(at)
		}
		if _, err := o.flush(ctx, at); err != nil && ctx.Err() == nil {
			onErr(err)
		}
	}
}

// fingerprint hashes its parts (FNV-1a 64, each part followed by 0xff) into
// 16 hex digits, like ingest.Fingerprint does for alert label sets.
func fingerprint(parts ...string) string {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0xff})
	}
	return fmt.Sprintf("%016x", h.Sum64())
}
