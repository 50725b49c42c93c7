package routing

import (
	"cmp"
	"fmt"
	"time"

	"github.com/vigilops/vigil/analyzers/correlate"
	"github.com/vigilops/vigil/incident"
)

// Router routes batches through its stages. It keeps no state between
// batches (its Correlation's learner aside), so it is safe for concurrent
// use; the store runs one batch at a time anyway, under the routing lock.
type Router struct {
	alerts, signals, reopen Stage
	corr                    *Correlation
}

// NewRouter returns a router whose alerts mute is consulted about (nil for
// none) and that correlates through corr (nil: alerts group by group key
// alone, signals by service alone).
//
// A firing alert joins, in order: the open incident it fired in before; the
// open incident of its group key; with correlation, an open incident it is
// connected to (its group key then routes there too); or a new incident. A
// firing alert with no open incident of its own that mute mutes joins none. A
// resolved alert goes to the incident it fired in, if any.
//
// A signal joins the newest open incident that concerns its service; with
// correlation, an open incident it is connected to; when it may open one, the
// open incident of its group key or a new one; or none.
func NewRouter(mute Muter, corr *Correlation) *Router {
	return &Router{
		alerts: MultiStage{NewDedupStage(mute), NewOwnStage(), NewMuteStage(mute),
			NewGroupStage(), NewCorrelateStage(), NewOpenStage()},
		signals: MultiStage{NewDedupStage(mute), NewServiceStage(), NewCorrelateStage(),
			NewMayOpenStage(), NewGroupStage(), NewOpenStage()},
		reopen: MultiStage{NewGroupStage(), NewOpenStage()},
		corr:   corr,
	}
}

// Alerts routes a batch of alerts that arrived at now: an alert becomes an
// event when it is new or its status or start changed.
func (r *Router) Alerts(v View, alerts []Alert, now time.Time) (*Plan, error) {
	b := newBatch(v, now, r.corr)
	fps := make([]string, len(alerts))
	for i := range alerts {
		fps[i] = alerts[i].Fingerprint
	}
	known, err := v.AlertStates(fps)
	if err != nil {
		return nil, fmt.Errorf("alert states: %w", err)
	}
	if known == nil {
		known = map[string]AlertState{}
	}
	b.known = known
	p := &b.plan
	p.Outcomes = make([]Outcome, len(alerts))
	p.Alerts = make([]AlertEvent, 0, len(alerts))
	it := &b.item
	for i := range alerts {
		a := &alerts[i]
		prev, ok := known[a.Fingerprint]
		*it = Item{Alert: a, Kind: correlate.KindAlert, Service: cmp.Or(a.Labels["service"], a.GroupLabels["service"]), At: a.StartsAt,
			GroupKey: a.GroupKey, GroupLabels: a.GroupLabels, Labels: a.Labels, Prev: prev, Known: ok}
		if _, err := r.alerts.Route(b, it); err != nil {
			return nil, fmt.Errorf("alert %s: %w", a.Fingerprint, err)
		}
		if it.Duplicate {
			p.Outcomes[i].Duplicate = true
			continue
		}
		if it.Incident != "" && a.Status == incident.AlertFiring {
			b.saw(it.Incident, it.Service, a.StartsAt)
			if !ok || !prev.Start.Equal(a.StartsAt) {
				b.corr.observe(it.Service, a.StartsAt)
			}
		}
		next := AlertState{Status: a.Status, Start: a.StartsAt, changed: true}
		switch {
		case it.Incident != "":
			next.Incident, next.IncidentOpen = it.Incident, !it.Delivered
		case ok:
			next.Incident, next.IncidentOpen = prev.Incident, prev.IncidentOpen
		}
		known[a.Fingerprint] = next
		p.Alerts = append(p.Alerts, AlertEvent{Alert: a, Incident: it.Incident, Delivered: it.Delivered})
		p.Outcomes[i] = Outcome{Incident: it.Incident, Silenced: it.Silenced}
	}
	// The states to store are the ones the batch changed; known holds them,
	// so the plan takes it over rather than copying them.
	for fp, st := range known {
		if !st.changed {
			delete(known, fp)
			continue
		}
		st.changed = false
		known[fp] = st
	}
	p.States = known
	b.merge()
	return p, nil
}

// Signals routes a batch of signals that arrived at now: a signal whose kind,
// fingerprint and start were stored before is a duplicate.
func (r *Router) Signals(v View, signals []Signal, now time.Time) (*Plan, error) {
	b := newBatch(v, now, r.corr)
	p := &b.plan
	p.Outcomes = make([]Outcome, len(signals))
	p.Signals = make([]SignalEvent, 0, len(signals))
	it := &b.item
	for i := range signals {
		sg := &signals[i]
		e := &sg.Event
		*it = Item{Signal: sg, Kind: correlate.Kind(e.Kind), Service: e.Labels["service"], At: e.StartsAt,
			GroupKey: sg.GroupKey, GroupLabels: sg.GroupLabels, Labels: e.Labels}
		if _, err := r.signals.Route(b, it); err != nil {
			return nil, fmt.Errorf("event %s: %w", e.Fingerprint, err)
		}
		if it.Duplicate {
			p.Outcomes[i].Duplicate = true
			continue
		}
		b.storeSignal(e)
		p.Signals = append(p.Signals, SignalEvent{Signal: sg, Incident: it.Incident})
		p.Outcomes[i].Incident = it.Incident
		if it.Incident != "" {
			b.saw(it.Incident, it.Service, e.StartsAt)
		}
	}
	b.merge()
	return p, nil
}

// Reopen returns the open incident of a group, deciding to open one (named
// after group, its severity from labels) when there is none: where firing
// events go when the incident they went to has finished.
func (r *Router) Reopen(v View, key string, group, labels map[string]string, now time.Time) (string, *Plan, error) {
	b := newBatch(v, now, r.corr)
	it := &b.item
	*it = Item{GroupKey: key, GroupLabels: group, Labels: labels}
	if _, err := r.reopen.Route(b, it); err != nil {
		return "", nil, err
	}
	return it.Incident, &b.plan, nil
}
