package signals

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/store"
)

// fakeSink records what it stores; while fail is set it stores nothing and
// fails.
type fakeSink struct {
	mu      sync.Mutex
	fail    bool
	calls   int
	sources []string
	events  []incident.Event
}

func (f *fakeSink) IngestEvents(_ context.Context, source string, events []incident.Event, _ time.Time) (store.IngestResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail {
		return store.IngestResult{}, errors.New("disk full")
	}
	f.sources = append(f.sources, source)
	f.events = append(f.events, events...)
	return store.IngestResult{Accepted: len(events)}, nil
}

func (f *fakeSink) setFail(v bool) {
	f.mu.Lock()
	f.fail = v
	f.mu.Unlock()
}

func (f *fakeSink) stored() []incident.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]incident.Event(nil), f.events...)
}

var t0 = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)

// noisy returns n one-minute samples of a series around level with unit
// noise, from start, deterministic for a seed.
func noisy(metric string, labels map[string]string, start time.Time, n int, level float64, seed uint64) []Sample {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]Sample, n)
	for i := range out {
		out[i] = Sample{Metric: metric, Labels: labels, Time: start.Add(time.Duration(i) * time.Minute), Value: level + r.NormFloat64()}
	}
	return out
}
