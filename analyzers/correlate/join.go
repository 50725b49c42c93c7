package correlate

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Kind is what a signal is. The values are incident.EventKind's, so converting
// is a cast.
type Kind string

// Signal kinds.
const (
	KindAlert         Kind = "alert"
	KindMetricAnomaly Kind = "metric_anomaly"
	KindLogAnomaly    Kind = "log_anomaly"
	KindChange        Kind = "change"
)

// Signal is one new event to place: what it is, the service it concerns and
// when it happened (an alert's or anomaly's start, a change's time).
type Signal struct {
	Kind    Kind
	Service string
	At      time.Time
}

// Open is an open incident as correlation sees it: the services its signals
// concern, and when its first and latest signals happened.
type Open struct {
	ID       string
	Services []string
	Start    time.Time
	Last     time.Time
}

// Config sets when a signal joins an incident.
type Config struct {
	// Window: a signal joins an incident when it happened no earlier than
	// Window before the incident's first signal and no later than Window
	// after its latest. Two incidents overlap when each started no later than
	// Window after the other's latest signal. Default 10m.
	Window time.Duration
	// ChangeLookback: a change joins an incident that starts up to this long
	// after it, since a deploy often breaks things only under load or after a
	// cache expires. Default 2h.
	ChangeLookback time.Duration
	// MaxHops is how many dependency edges may separate the signal's service
	// from one of the incident's. Default 1: a cascade is followed one service
	// at a time, as each affected service joins the incident and extends its
	// reach.
	MaxHops int
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{Window: 10 * time.Minute, ChangeLookback: 2 * time.Hour, MaxHops: 1}
}

// Validate checks that every setting is usable.
func (c Config) Validate() error {
	var errs []error
	if c.Window <= 0 {
		errs = append(errs, fmt.Errorf("window must be positive, got %s", c.Window))
	}
	if c.ChangeLookback < 0 {
		errs = append(errs, fmt.Errorf("change lookback must not be negative, got %s", c.ChangeLookback))
	}
	if c.MaxHops < 0 {
		errs = append(errs, fmt.Errorf("max hops must not be negative, got %d", c.MaxHops))
	}
	return errors.Join(errs...)
}

// Link says why a signal or an incident belongs with an incident: which of
// its services was reached, and the path to it (empty when the service is the
// same).
type Link struct {
	Incident string
	Service  string
	Path     Path
}

// Why is the link in words, for the thread.
func (l Link) Why() string {
	if len(l.Path) == 0 {
		return fmt.Sprintf("%s is a service of %s", l.Service, l.Incident)
	}
	return fmt.Sprintf("%s; %s is a service of %s", l.Path, l.Service, l.Incident)
}

// Correlator decides which open incident a new signal joins and which open
// incidents are one. It reads its graphs and holds no other state, so the
// caller keeps the incidents (durably) and can ask again after a restart.
type Correlator struct {
	cfg  Config
	topo topology
}

// NewCorrelator returns a correlator over the configured dependency graph and
// the learned one; either may be nil.
func NewCorrelator(cfg Config, deps *Graph, learned *Learner) (*Correlator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("correlate: %w", err)
	}
	return &Correlator{cfg: cfg, topo: topology{deps: deps, learned: learned}}, nil
}

// Reach returns the services within MaxHops of service, itself included, in
// no particular order: the services a signal of service may join.
func (c *Correlator) Reach(service string) []string {
	paths := c.topo.reach(service, c.cfg.MaxHops)
	out := make([]string, 0, len(paths))
	for s := range paths {
		out = append(out, s)
	}
	return out
}

// Config returns the settings the correlator runs with.
func (c *Correlator) Config() Config { return c.cfg }

// Join returns the open incident s joins, if any: one whose time window holds
// s and one of whose services is within MaxHops of s's service. Of several,
// it picks the fewest hops, then the earliest start (the one Merges would keep),
// then the smallest id. A signal without a service joins nothing.
func (c *Correlator) Join(s Signal, open []Open) (Link, bool) {
	if s.Service == "" {
		return Link{}, false
	}
	reach := c.topo.reach(s.Service, c.cfg.MaxHops)
	var best Link
	var bestOpen Open
	found := false
	for _, o := range open {
		if !c.inWindow(s, o) {
			continue
		}
		l, ok := closest(reach, o)
		if !ok {
			continue
		}
		if !found || better(l, o, best, bestOpen) {
			best, bestOpen, found = l, o, true
		}
	}
	return best, found
}

func (c *Correlator) inWindow(s Signal, o Open) bool {
	before := c.cfg.Window
	if s.Kind == KindChange {
		before = max(before, c.cfg.ChangeLookback)
	}
	return !s.At.Before(o.Start.Add(-before)) && !s.At.After(o.Last.Add(c.cfg.Window))
}

// closest picks the incident's service with the shortest path in reach, ties
// by name.
func closest(reach map[string]Path, o Open) (Link, bool) {
	l := Link{Incident: o.ID}
	found := false
	for _, svc := range o.Services {
		p, ok := reach[svc]
		if !ok {
			continue
		}
		if !found || len(p) < len(l.Path) || (len(p) == len(l.Path) && svc < l.Service) {
			l.Service, l.Path, found = svc, p, true
		}
	}
	return l, found
}

func better(l Link, o Open, best Link, bestOpen Open) bool {
	if len(l.Path) != len(best.Path) {
		return len(l.Path) < len(best.Path)
	}
	if !o.Start.Equal(bestOpen.Start) {
		return o.Start.Before(bestOpen.Start)
	}
	return o.ID < bestOpen.ID
}

// Merge says that incident From is part of incident Into. Link connects one
// of From's services to a service of With, an incident of the same merged
// group (Into itself, or another incident merging into it).
type Merge struct {
	Into, From, With string
	Link             Link
}

// Why is the merge in words, for both threads.
func (m Merge) Why() string {
	if len(m.Link.Path) == 0 {
		return fmt.Sprintf("%s is a service of both %s and %s", m.Link.Service, m.From, m.With)
	}
	return fmt.Sprintf("%s of %s: %s; %s is a service of %s", m.Link.Path[0].From, m.From, m.Link.Path, m.Link.Service, m.With)
}

// Merges finds the open incidents that are one: two are when their windows
// overlap and a service of one is within MaxHops of a service of the other;
// being one is transitive. Each group merges into its earliest incident (by
// start, then id). Merges come in that order of the incidents merging away.
func (c *Correlator) Merges(open []Open) []Merge {
	incs := slices.Clone(open)
	slices.SortFunc(incs, func(a, b Open) int {
		return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.ID, b.ID))
	})
	root := make([]int, len(incs))
	for i := range root {
		root[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		if root[i] != i {
			root[i] = find(root[i])
		}
		return root[i]
	}
	// tie[i] is the first incident found to be one with incident i, and how.
	type tie struct {
		with int
		link Link
	}
	ties := make([]*tie, len(incs))
	for j := range incs {
		reach := make([]map[string]Path, len(incs[j].Services))
		for k, svc := range incs[j].Services {
			reach[k] = c.topo.reach(svc, c.cfg.MaxHops)
		}
		for i := range j {
			if !c.overlap(incs[i], incs[j]) {
				continue
			}
			l, ok := between(incs[j], reach, incs[i])
			if !ok {
				continue
			}
			if ties[j] == nil {
				ties[j] = &tie{with: i, link: l}
			}
			if ties[i] == nil {
				ties[i] = &tie{with: j, link: Link{Incident: incs[j].ID, Service: startOf(l), Path: l.Path.Reverse()}}
			}
			if ri, rj := find(i), find(j); ri != rj {
				root[max(ri, rj)] = min(ri, rj) // the earlier incident stays
			}
		}
	}
	var out []Merge
	for k := range incs {
		if r := find(k); r != k {
			t := ties[k]
			out = append(out, Merge{Into: incs[r].ID, From: incs[k].ID, With: incs[t.with].ID, Link: t.link})
		}
	}
	return out
}

func (c *Correlator) overlap(a, b Open) bool {
	return !b.Start.After(a.Last.Add(c.cfg.Window)) && !a.Start.After(b.Last.Add(c.cfg.Window))
}

// between finds the shortest path from one of from's services, whose reaches
// are given in from.Services order, to one of to's; ties go to the smaller
// service names.
func between(from Open, reach []map[string]Path, to Open) (Link, bool) {
	var best Link
	var bestFrom string
	found := false
	for k, r := range reach {
		l, ok := closest(r, to)
		if !ok {
			continue
		}
		if svc := from.Services[k]; !found || len(l.Path) < len(best.Path) || (len(l.Path) == len(best.Path) && svc < bestFrom) {
			best, bestFrom, found = l, svc, true
		}
	}
	return best, found
}

// startOf is the service a link's path starts from.
func startOf(l Link) string {
	if len(l.Path) == 0 {
		return l.Service
	}
	return l.Path[0].From
}
