package correlate

import (
	"container/heap"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// GroupByAll, as the only group_by entry, groups by every label (Alertmanager's
// "...").
const GroupByAll = "..."

// notificationRetention is how long the Grouper remembers what it last
// notified for a group after the group is gone, so a group that comes back is
// not notified again for alerts it already announced. It is Alertmanager's
// default --data.retention.
const notificationRetention = 120 * time.Hour

// Route configures grouping with Alertmanager's route fields.
type Route struct {
	// GroupBy lists the labels whose values put alerts in the same group; a
	// label an alert lacks is left out of its group labels. Empty puts every
	// alert in one group; [GroupByAll] makes every distinct label set a group.
	GroupBy []string
	// GroupWait is how long a new group waits for more alerts before its first
	// notification. An alert that started more than GroupWait before it
	// arrived flushes a group that has not notified yet at once.
	GroupWait time.Duration
	// GroupInterval is the time between a group's flushes after the first; a
	// flush notifies only when something changed or RepeatInterval is up.
	GroupInterval time.Duration
	// RepeatInterval: an unchanged group is notified again at the first flush
	// more than RepeatInterval after its last notification. Flushes happen
	// every GroupInterval, so with 5m and 4h the repeat comes 4h05m later, as
	// in Alertmanager.
	RepeatInterval time.Duration
	// SendResolved includes resolved alerts in notifications, and lets a
	// resolution alone trigger one (webhook_configs' send_resolved).
	SendResolved bool
}

// DefaultRoute is Alertmanager's defaults: group_wait 30s, group_interval 5m,
// repeat_interval 4h, send_resolved true (a webhook receiver's default), and
// no group_by.
func DefaultRoute() Route {
	return Route{GroupWait: 30 * time.Second, GroupInterval: 5 * time.Minute, RepeatInterval: 4 * time.Hour, SendResolved: true}
}

// Validate applies Alertmanager's rules: group_wait not negative,
// group_interval and repeat_interval positive, no duplicate group_by labels,
// and "..." only on its own.
func (r Route) Validate() error {
	var errs []error
	if r.GroupWait < 0 {
		errs = append(errs, fmt.Errorf("group_wait must not be negative, got %s", r.GroupWait))
	}
	if r.GroupInterval <= 0 {
		errs = append(errs, fmt.Errorf("group_interval must be positive, got %s", r.GroupInterval))
	}
	if r.RepeatInterval <= 0 {
		errs = append(errs, fmt.Errorf("repeat_interval must be positive, got %s", r.RepeatInterval))
	}
	seen := map[string]bool{}
	for _, l := range r.GroupBy {
		if l == GroupByAll && len(r.GroupBy) > 1 {
			errs = append(errs, errors.New(`group_by: "..." groups by every label and cannot be combined with other labels`))
		}
		if seen[l] {
			errs = append(errs, fmt.Errorf("group_by: label %q is listed twice", l))
		}
		seen[l] = true
	}
	return errors.Join(errs...)
}

// FlushReason says why a flush notified.
type FlushReason string

// Flush reasons.
const (
	// ReasonNew: the group's first notification, or alerts fire that the last
	// notification did not list as firing.
	ReasonNew FlushReason = "new"
	// ReasonResolved: alerts resolved since the last notification. When every
	// alert has resolved and SendResolved is off, nothing is sent but the
	// group's notification record is cleared, as in Alertmanager.
	ReasonResolved FlushReason = "resolved"
	// ReasonRepeat: nothing changed and RepeatInterval is up.
	ReasonRepeat FlushReason = "repeat"
)

// Flush is one notification of a group.
type Flush struct {
	At          time.Time
	GroupKey    string
	GroupLabels map[string]string
	// Alerts are what the notification carries, sorted by Key: the firing
	// alerts (EndsAt cleared, as Alertmanager sends them) and, with
	// SendResolved, the resolved ones. Muted alerts are left out.
	Alerts []Alert
	Reason FlushReason
}

// Grouper is Alertmanager's aggregation groups and notification log as a
// deterministic state machine for one route and one receiver. Feed it alerts
// with Receive and move time with Advance; both return the flushes that
// notified, in time order (ties by group key).
//
// Time only moves forward: an input earlier than a previous one is taken as
// arriving at the latest time seen. A group is removed at the flush that
// leaves it without alerts (Alertmanager waits for its next 30-second
// maintenance), so an alert arriving later starts a new group with a fresh
// group_wait.
type Grouper struct {
	route     Route
	mute      Muter
	groups    map[string]*group
	timers    timerHeap
	nflog     map[string]notified
	now       time.Time
	lastSweep time.Time
}

type group struct {
	key     string
	labels  map[string]string
	alerts  map[string]Alert // by Key
	next    time.Time        // when the group flushes next
	flushed bool
}

// notified is the notification log's entry for a group: what its last
// notification held.
type notified struct {
	firing, resolved map[string]bool
	at               time.Time
}

// NewGrouper returns a grouper for route. mute, which may be nil, is asked at
// each flush which alerts to leave out (inhibitions, silences).
func NewGrouper(route Route, mute Muter) (*Grouper, error) {
	if err := route.Validate(); err != nil {
		return nil, fmt.Errorf("correlate: route: %w", err)
	}
	return &Grouper{route: route, mute: mute, groups: map[string]*group{}, nflog: map[string]notified{}}, nil
}

// Receive takes alerts arriving at at. Flushes due before at happen first;
// then the alerts join their groups; then flushes due at or before at happen,
// so an alert arriving the instant its group flushes is in the flush.
//
// An alert already in its group (same labels) replaces the stored one, keeping
// the stored start when it is the same firing.
func (g *Grouper) Receive(at time.Time, alerts ...Alert) []Flush {
	at = g.clamp(at)
	out := g.run(at, false)
	for _, a := range alerts {
		g.insert(a, at)
	}
	out = append(out, g.run(at, true)...)
	g.now = at
	g.sweep(at)
	return out
}

// Advance moves time to to and returns the flushes due by then.
func (g *Grouper) Advance(to time.Time) []Flush {
	to = g.clamp(to)
	out := g.run(to, true)
	g.now = to
	g.sweep(to)
	return out
}

// Next returns when the next flush is due; false when no group exists.
func (g *Grouper) Next() (time.Time, bool) {
	for g.timers.Len() > 0 {
		t := g.timers[0]
		if gr, ok := g.groups[t.key]; ok && gr.next.Equal(t.at) {
			return t.at, true
		}
		heap.Pop(&g.timers) // stale: the group is gone or was rescheduled
	}
	return time.Time{}, false
}

func (g *Grouper) clamp(t time.Time) time.Time {
	if t.Before(g.now) {
		return g.now
	}
	return t
}

func (g *Grouper) groupOf(labels map[string]string) (string, map[string]string) {
	if len(g.route.GroupBy) == 1 && g.route.GroupBy[0] == GroupByAll {
		return Key(labels), maps.Clone(labels)
	}
	gl := map[string]string{}
	for _, l := range g.route.GroupBy {
		if v, ok := labels[l]; ok {
			gl[l] = v
		}
	}
	return Key(gl), gl
}

func (g *Grouper) insert(a Alert, at time.Time) {
	key, labels := g.groupOf(a.Labels)
	gr, ok := g.groups[key]
	if !ok {
		gr = &group{key: key, labels: labels, alerts: map[string]Alert{}}
		g.groups[key] = gr
		g.schedule(gr, at.Add(g.route.GroupWait))
	}
	fp := Key(a.Labels)
	// A report that starts while the stored one is still active is the same
	// firing and keeps its start (Alertmanager merges overlapping reports);
	// any other report replaces the stored one.
	if old, ok := gr.alerts[fp]; ok && old.StartsAt.Before(a.StartsAt) && (old.EndsAt.IsZero() || a.StartsAt.Before(old.EndsAt)) {
		a.StartsAt = old.StartsAt
	}
	gr.alerts[fp] = a
	// An alert that has waited long enough elsewhere (it started more than
	// group_wait ago) flushes a group that has not notified yet right away.
	if !gr.flushed && a.StartsAt.Add(g.route.GroupWait).Before(at) && gr.next.After(at) {
		g.schedule(gr, at)
	}
}

func (g *Grouper) schedule(gr *group, at time.Time) {
	gr.next = at
	heap.Push(&g.timers, timer{at: at, key: gr.key})
}

// run flushes every group due before to, or at or before to when inclusive,
// in time order; each flush schedules the group's next one GroupInterval
// later.
func (g *Grouper) run(to time.Time, inclusive bool) []Flush {
	var out []Flush
	for {
		at, ok := g.Next()
		if !ok || at.After(to) || (!inclusive && at.Equal(to)) {
			return out
		}
		t := heap.Pop(&g.timers).(timer)
		gr := g.groups[t.key]
		gr.flushed = true
		if f, ok := g.flush(gr, at); ok {
			out = append(out, f)
		}
		if len(gr.alerts) == 0 {
			delete(g.groups, gr.key)
			continue
		}
		g.schedule(gr, at.Add(g.route.GroupInterval))
	}
}

// flush is one tick of a group: Alertmanager's aggrGroup.flush followed by its
// notification pipeline's mute and dedup stages.
func (g *Grouper) flush(gr *group, at time.Time) (Flush, bool) {
	firing, resolved := map[string]bool{}, map[string]bool{}
	var sent []Alert
	for _, fp := range slices.Sorted(maps.Keys(gr.alerts)) {
		a := gr.alerts[fp]
		res := a.ResolvedAt(at)
		if res {
			// Notified (or muted) now, so never again; Alertmanager deletes
			// resolved alerts after every flush whose pipeline ran.
			delete(gr.alerts, fp)
		}
		if g.mute != nil && g.mute.Mutes(a.Labels, at) {
			continue
		}
		if res {
			resolved[fp] = true
		} else {
			a.EndsAt = time.Time{}
			firing[fp] = true
		}
		if !res || g.route.SendResolved {
			sent = append(sent, a)
		}
	}
	if len(firing)+len(resolved) == 0 {
		return Flush{}, false // all muted: the pipeline stops before the log
	}
	reason, need := g.needsUpdate(gr.key, firing, resolved, at)
	if !need {
		return Flush{}, false
	}
	g.nflog[gr.key] = notified{firing: firing, resolved: resolved, at: at}
	if len(sent) == 0 {
		return Flush{}, false // resolutions without send_resolved: logged, not sent
	}
	return Flush{At: at, GroupKey: gr.key, GroupLabels: maps.Clone(gr.labels), Alerts: sent, Reason: reason}, true
}

// needsUpdate is Alertmanager's DedupStage.needsUpdate. The repeat test is
// strict: the last notification must be more than RepeatInterval old.
func (g *Grouper) needsUpdate(key string, firing, resolved map[string]bool, at time.Time) (FlushReason, bool) {
	last, ok := g.nflog[key]
	switch {
	case !ok:
		return ReasonNew, len(firing) > 0
	case !subset(firing, last.firing):
		return ReasonNew, true
	case len(firing) == 0:
		return ReasonResolved, len(last.firing) > 0
	case g.route.SendResolved && !subset(resolved, last.resolved):
		return ReasonResolved, true
	default:
		return ReasonRepeat, at.Sub(last.at) > g.route.RepeatInterval
	}
}

func subset(a, b map[string]bool) bool {
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// sweep forgets notification records older than notificationRetention, at
// most once an hour of the grouper's time.
func (g *Grouper) sweep(now time.Time) {
	if now.Sub(g.lastSweep) < time.Hour {
		return
	}
	g.lastSweep = now
	maps.DeleteFunc(g.nflog, func(_ string, n notified) bool { return now.Sub(n.at) > notificationRetention })
}

type timer struct {
	at  time.Time
	key string
}

// timerHeap orders timers by time, then group key. Rescheduling pushes a new
// timer; the old one is stale and skipped when it surfaces.
type timerHeap []timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].key < h[j].key
}
func (h timerHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)   { *h = append(*h, x.(timer)) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}
