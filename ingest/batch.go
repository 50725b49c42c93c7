package ingest

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/vigilops/vigil/store"
)

// DefaultMaxBatch caps how many alerts one group commit stores.
const DefaultMaxBatch = 2000

// Batcher commits alerts from concurrent requests together: one writer takes
// every request waiting and stores their alerts in one transaction, then answers
// each request with its own outcomes. A request is still answered only after its
// alerts are durable; what changes is that a storm of small requests costs one
// fsync per batch instead of one per request. If the transaction fails, every
// request in it fails and nothing of them is stored.
type Batcher struct {
	store    AlertStore
	encoded  encodedStore // store, when it takes alerts encoded by the requests
	maxBatch int
	queue    chan *pending
	stopped  chan struct{} // closed when Run returns
	inFlight atomic.Int64  // alerts queued or being committed
}

type pending struct {
	source string
	alerts []store.AlertIn
	body   []byte // alerts encoded, for an encodedStore
	now    time.Time
	done   chan batchResult
}

type batchResult struct {
	res store.IngestResult
	err error
}

// NewBatcher returns a batcher writing to s; call Run to start its writer.
func NewBatcher(s AlertStore, maxBatch int) *Batcher {
	if maxBatch <= 0 {
		maxBatch = DefaultMaxBatch
	}
	b := &Batcher{store: s, maxBatch: maxBatch, queue: make(chan *pending, 1024), stopped: make(chan struct{})}
	b.encoded, _ = s.(encodedStore)
	return b
}

// encodedStore is a store that takes each request's alerts encoded by the
// request itself, so that encoding runs in the requests' goroutines, side by
// side, and the single writer only concatenates and commits.
type encodedStore interface {
	encode(alerts []store.AlertIn) ([]byte, error)
	// ingestEncoded stores bodies (count alerts in all) in one transaction.
	ingestEncoded(source string, bodies [][]byte, count int, now time.Time) (store.IngestResult, error)
}

var errBatcherStopped = errors.New("ingest is shutting down; nothing was accepted, retry")

// IngestAlerts queues the alerts for the next group commit and waits for it. It
// has the same contract as store.Store.IngestAlerts, so it can stand in for it.
func (b *Batcher) IngestAlerts(ctx context.Context, source string, alerts []store.AlertIn, now time.Time) (store.IngestResult, error) {
	p := &pending{source: source, alerts: alerts, now: now, done: make(chan batchResult, 1)}
	if b.encoded != nil {
		var err error
		if p.body, err = b.encoded.encode(alerts); err != nil {
			return store.IngestResult{}, err
		}
	}
	b.inFlight.Add(int64(len(alerts)))
	select {
	case b.queue <- p:
	case <-b.stopped:
		b.inFlight.Add(-int64(len(alerts)))
		return store.IngestResult{}, errBatcherStopped
	case <-ctx.Done():
		b.inFlight.Add(-int64(len(alerts)))
		return store.IngestResult{}, ctx.Err()
	}
	// Once queued, the alerts may be committed even if the caller gives up; an
	// unanswered sender retries, and its retry is deduplicated.
	select {
	case r := <-p.done:
		return r.res, r.err
	case <-b.stopped:
		// The writer answers every batch it took before it stops.
		select {
		case r := <-p.done:
			return r.res, r.err
		default:
			return store.IngestResult{}, errBatcherStopped
		}
	case <-ctx.Done():
		return store.IngestResult{}, ctx.Err()
	}
}

// Run commits batches until ctx is done; requests queued after that get an
// error, and nothing of them is stored. Call it once.
func (b *Batcher) Run(ctx context.Context) {
	defer close(b.stopped)
	for {
		var first *pending
		select {
		case first = <-b.queue:
		case <-ctx.Done():
			b.fail()
			return
		}
		batch := []*pending{first}
		n := len(first.alerts)
	collect:
		for n < b.maxBatch {
			select {
			case p := <-b.queue:
				batch = append(batch, p)
				n += len(p.alerts)
			default:
				break collect
			}
		}
		b.commit(batch)
		b.inFlight.Add(-int64(n))
	}
}

// InFlight is how many alerts are queued or being committed: what a request
// queued now would wait behind.
func (b *Batcher) InFlight() int { return int(b.inFlight.Load()) }

// commit stores a batch in one transaction per source (in practice one).
func (b *Batcher) commit(batch []*pending) {
	bySource := map[string][]*pending{}
	var order []string
	for _, p := range batch {
		if bySource[p.source] == nil {
			order = append(order, p.source)
		}
		bySource[p.source] = append(bySource[p.source], p)
	}
	for _, src := range order {
		ps := bySource[src]
		// The writer commits even if a waiting request was cancelled: the others in
		// the batch still want their alerts stored.
		res, err := b.commitSource(src, ps)
		off := 0
		for _, p := range ps {
			r := batchResult{err: err}
			if err == nil {
				r.res = store.Summarize(res.Outcomes[off : off+len(p.alerts)])
			}
			off += len(p.alerts)
			p.done <- r
		}
	}
}

// commitSource stores the requests' alerts, all of one source, in one
// transaction.
func (b *Batcher) commitSource(source string, ps []*pending) (store.IngestResult, error) {
	now := ps[len(ps)-1].now
	if b.encoded != nil {
		bodies, n := make([][]byte, len(ps)), 0
		for i, p := range ps {
			bodies[i], n = p.body, n+len(p.alerts)
		}
		return b.encoded.ingestEncoded(source, bodies, n, now)
	}
	var all []store.AlertIn
	for _, p := range ps {
		all = append(all, p.alerts...)
	}
	return b.store.IngestAlerts(context.Background(), source, all, now)
}

// fail answers every queued request after the writer stopped.
func (b *Batcher) fail() {
	for {
		select {
		case p := <-b.queue:
			b.inFlight.Add(-int64(len(p.alerts)))
			p.done <- batchResult{err: errBatcherStopped}
		default:
			return
		}
	}
}
