package routing

import (
	"errors"
	"fmt"
	"time"

	"github.com/vigilops/vigil/analyzers/correlate"
	"github.com/vigilops/vigil/incident"
)

var t0 = time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)

// fakeView is a store as routing sees it, held in memory. It records which
// questions it was asked, so tests can tell what routing consulted.
type fakeView struct {
	states   map[string]AlertState
	groups   map[string]string // group key → its open incident
	open     []OpenIncident
	services map[string]string // service → its newest open incident
	stored   map[string]bool   // kind/fingerprint/start of stored events
	max      int64
	fail     error // returned by every question when set

	asked []string
}

func (v *fakeView) ask(q string) error {
	v.asked = append(v.asked, q)
	return v.fail
}

func (v *fakeView) AlertStates(fps []string) (map[string]AlertState, error) {
	if err := v.ask("states"); err != nil {
		return nil, err
	}
	out := map[string]AlertState{}
	for _, fp := range fps {
		if st, ok := v.states[fp]; ok {
			out[fp] = st
		}
	}
	return out, nil
}

func (v *fakeView) GroupIncident(key string) (string, error) {
	return v.groups[key], v.ask("group " + key)
}

func (v *fakeView) OpenIncidents() ([]OpenIncident, error) {
	return v.open, v.ask("open")
}

func (v *fakeView) ServiceIncident(service string) (string, error) {
	return v.services[service], v.ask("service " + service)
}

func (v *fakeView) SignalStored(kind incident.EventKind, fp string, at time.Time) (bool, error) {
	return v.stored[storedKey(kind, fp, at)], v.ask("stored " + fp)
}

func (v *fakeView) MaxNumber() (int64, error) {
	return v.max, v.ask("max")
}

func storedKey(kind incident.EventKind, fp string, at time.Time) string {
	return fmt.Sprintf("%s/%s/%s", kind, fp, at.UTC().Format(time.RFC3339Nano))
}

var _ View = (*fakeView)(nil)

var errView = errors.New("view: connection reset")

func alert(fp, name, svc, status string, start time.Time) Alert {
	return Alert{
		Fingerprint: fp, Status: status, StartsAt: start,
		Labels:   map[string]string{"alertname": name, "service": svc, "instance": fp, "severity": "critical"},
		GroupKey: name + "/" + svc, GroupLabels: map[string]string{"alertname": name, "service": svc},
	}
}

func signal(fp, svc string, kind incident.EventKind, mayOpen bool, at time.Time) Signal {
	return Signal{
		Event:   incident.Event{Kind: kind, Fingerprint: fp, Status: incident.AlertFiring, StartsAt: at, Labels: map[string]string{"service": svc}},
		MayOpen: mayOpen, GroupKey: "anomaly/" + svc, GroupLabels: map[string]string{"service": svc},
	}
}

// muteService mutes alerts of one service until a time.
func muteService(svc string, until time.Time) Muter {
	return MuteFunc(func(labels map[string]string, at time.Time) []string {
		if labels["service"] == svc && !at.After(until) {
			return []string{"s1"}
		}
		return nil
	})
}

// cascade correlates over api → db and web → api (a caller → its callee).
func cascade(t interface{ Fatal(...any) }) *Correlation {
	c, err := correlate.NewCorrelator(correlate.DefaultConfig(), correlate.NewGraph([][2]string{{"api", "db"}, {"web", "api"}}), nil)
	if err != nil {
		t.Fatal(err)
	}
	return NewCorrelation(c, nil)
}

// alertItem is an alert as the router hands it to its stages.
func alertItem(a Alert, prev *AlertState) *Item {
	it := &Item{Alert: &a, Kind: correlate.KindAlert, Service: a.Labels["service"], At: a.StartsAt,
		GroupKey: a.GroupKey, GroupLabels: a.GroupLabels, Labels: a.Labels}
	if prev != nil {
		it.Prev, it.Known = *prev, true
	}
	return it
}

// signalItem is a signal as the router hands it to its stages.
func signalItem(sg Signal) *Item {
	return &Item{Signal: &sg, Kind: correlate.Kind(sg.Event.Kind), Service: sg.Event.Labels["service"], At: sg.Event.StartsAt,
		GroupKey: sg.GroupKey, GroupLabels: sg.GroupLabels, Labels: sg.Event.Labels}
}
