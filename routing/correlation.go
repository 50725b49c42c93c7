package routing

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/vigilops/vigil/analyzers/correlate"
)

// Correlation routes a signal that has no open incident of its own (by group
// key for alerts, by service for other signals) to an open incident it is
// connected to in time and through the service graph, instead of opening one;
// and, after a batch, merges the open incidents it made one. It tells its
// learner of every firing alert. Safe for concurrent use.
type Correlation struct {
	mu      sync.Mutex // the correlator and learner are not safe for concurrent use
	c       *correlate.Correlator
	learner Learner
}

// Learner learns which services alert together from when each alerts;
// correlate.Learner is one.
type Learner interface {
	Observe(service string, at time.Time)
}

// NewCorrelation correlates through c, which may be nil (then nothing is
// joined or merged); learner, which may be nil, is told of every firing alert
// routed to an incident (c should have been built over it).
func NewCorrelation(c *correlate.Correlator, learner Learner) *Correlation {
	return &Correlation{c: c, learner: learner}
}

// on reports whether corr joins and merges.
func (corr *Correlation) on() bool { return corr != nil && corr.c != nil }

// observe tells the learner that service alerted at at.
func (corr *Correlation) observe(service string, at time.Time) {
	if corr == nil || corr.learner == nil || service == "" || at.IsZero() {
		return
	}
	corr.mu.Lock()
	corr.learner.Observe(service, at)
	corr.mu.Unlock()
}

// join returns the open incident a signal without one of its own joins, or ""
// when it joins none (or correlation is off).
func (b *Batch) join(kind correlate.Kind, service string, at time.Time) (string, error) {
	if !b.corr.on() || service == "" {
		return "", nil
	}
	if err := b.load(); err != nil {
		return "", err
	}
	b.corr.mu.Lock()
	l, ok := b.corr.c.Join(correlate.Signal{Kind: kind, Service: service, At: at}, b.open)
	b.corr.mu.Unlock()
	if !ok {
		return "", nil
	}
	return l.Incident, nil
}

// load reads the open incidents, their signal times and services, and adds
// what the batch did before: the incidents it opened, as stored (their first
// service, no signal times yet), and the signal times and services it routed
// to any.
func (b *Batch) load() error {
	if b.loaded {
		return nil
	}
	stored, err := b.view.OpenIncidents()
	if err != nil {
		return fmt.Errorf("open incidents: %w", err)
	}
	n := len(stored) + len(b.plan.Opened)
	b.open = make([]correlate.Open, 0, n)
	b.index = make(map[string]int, n)
	for _, o := range stored {
		start, end := o.First, o.Last
		if _, ours := b.touched[o.ID]; start.IsZero() && !ours {
			// No signal times stored: an incident from before they were.
			start, end = o.Created, o.Created
		}
		b.index[o.ID] = len(b.open)
		b.open = append(b.open, correlate.Open{ID: o.ID, Services: slices.Clip(o.Services), Start: start, Last: end})
	}
	for _, o := range b.plan.Opened {
		b.index[o.ID] = len(b.open)
		open := correlate.Open{ID: o.ID}
		if o.Service != "" {
			open.Services = []string{o.Service}
		}
		b.open = append(b.open, open)
	}
	b.loaded = true
	for _, t := range b.plan.Touched {
		b.extend(t.Incident, t.First, t.Last, t.Services...)
	}
	return nil
}

// saw records that an incident took in a signal of service starting at at.
func (b *Batch) saw(id, service string, at time.Time) {
	i, ok := b.touched[id]
	if !ok {
		if b.touched == nil {
			b.touched = map[string]int{}
		}
		i = len(b.plan.Touched)
		b.touched[id] = i
		b.plan.Touched = append(b.plan.Touched, Touch{Incident: id, First: at, Last: at})
	}
	t := &b.plan.Touched[i]
	if !at.IsZero() {
		if t.First.IsZero() || at.Before(t.First) {
			t.First = at
		}
		if at.After(t.Last) {
			t.Last = at
		}
	}
	if service != "" && !slices.Contains(t.Services, service) {
		t.Services = append(t.Services, service)
	}
	if b.loaded {
		b.extend(id, at, at, service)
	}
}

// extend widens a loaded incident's window and services; an incident the
// batch opened is added.
func (b *Batch) extend(id string, first, last time.Time, services ...string) {
	i, ok := b.index[id]
	if !ok {
		i = len(b.open)
		b.index[id] = i
		b.open = append(b.open, correlate.Open{ID: id, Start: first, Last: last})
		b.grow(id)
	}
	o := &b.open[i]
	if !first.IsZero() && (o.Start.IsZero() || first.Before(o.Start)) {
		o.Start = first
	}
	if last.After(o.Last) {
		o.Last = last
	}
	for _, s := range services {
		if s != "" && !slices.Contains(o.Services, s) {
			o.Services = append(o.Services, s)
			b.grow(id)
		}
	}
}

func (b *Batch) grow(id string) {
	if b.grown == nil {
		b.grown = map[string]bool{}
	}
	b.grown[id] = true
}
