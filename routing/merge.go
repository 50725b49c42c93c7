package routing

import (
	"fmt"
	"slices"
	"time"

	"github.com/vigilops/vigil/analyzers/correlate"
	"github.com/vigilops/vigil/incident"
)

// merge decides, after the batch, which open incidents it made one, and
// merges each into the earliest of its group (see Merge).
func (b *Batch) merge() {
	corr := b.corr
	if len(b.grown) == 0 || !b.loaded || !corr.on() {
		return
	}
	// Only an incident that opened or grew can have become one with another,
	// and only with one that overlaps it in time and has a service within
	// reach of one of its services. Merges is asked about those alone.
	reach := map[string]bool{}
	var lo, hi time.Time
	corr.mu.Lock()
	for id := range b.grown {
		o := b.open[b.index[id]]
		for _, svc := range o.Services {
			for _, s := range corr.c.Reach(svc) {
				reach[s] = true
			}
		}
		if lo.IsZero() || o.Start.Before(lo) {
			lo = o.Start
		}
		if o.Last.After(hi) {
			hi = o.Last
		}
	}
	corr.mu.Unlock()
	window := corr.c.Config().Window
	var near []correlate.Open
	for _, o := range b.open {
		if !b.grown[o.ID] && (o.Last.Before(lo.Add(-window)) || o.Start.After(hi.Add(window)) ||
			!slices.ContainsFunc(o.Services, func(s string) bool { return reach[s] })) {
			continue
		}
		near = append(near, o)
	}
	if len(near) < 2 {
		return
	}
	corr.mu.Lock()
	merges := corr.c.Merges(near)
	corr.mu.Unlock()
	for _, m := range merges {
		b.plan.Merges = append(b.plan.Merges, Merge{Merge: m, Notices: notices(m, b.now)})
	}
}

// notices are the events that tell both incidents' threads of a merge, and
// why. A notice is neither firing nor resolved, so a finished incident's
// notice is dropped on reroute rather than opening a new incident.
func notices(m correlate.Merge, now time.Time) []Notice {
	why := m.Why()
	return []Notice{
		{Incident: m.From, Event: incident.Event{Kind: incident.KindMerge, Fingerprint: "merge:" + m.From + ">" + m.Into, StartsAt: now,
			Labels: map[string]string{"into": m.Into}, Summary: fmt.Sprintf("Merged into %s: %s.", m.Into, why)}},
		{Incident: m.Into, Event: incident.Event{Kind: incident.KindMerge, Fingerprint: "merge:" + m.From + "<" + m.Into, StartsAt: now,
			Labels: map[string]string{"from": m.From}, Summary: fmt.Sprintf("%s merged into this incident: %s.", m.From, why)}},
	}
}
