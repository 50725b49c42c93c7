package routing

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/vigilops/vigil/incident"
)

// decision is what a stage made of an item.
type decision struct {
	Done                           bool
	Incident                       string
	Duplicate, Delivered, Silenced bool
}

func decided(done bool, it *Item) decision {
	return decision{Done: done, Incident: it.Incident, Duplicate: it.Duplicate, Delivered: it.Delivered, Silenced: it.Silenced}
}

// stageCase routes one item through one stage, in a batch that arrived at now
// (t0 when zero) over view, after before set up what the batch decided earlier.
type stageCase struct {
	name      string
	view      fakeView
	corr      *Correlation
	now       time.Time
	before    func(b *Batch)
	item      *Item
	want      decision
	wantAsked []string
	wantErr   error
}

func runStage(t *testing.T, stage func(tc stageCase) Stage, cases []stageCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			view := tc.view
			b := newBatch(&view, cmpTime(tc.now, t0), tc.corr)
			if tc.before != nil {
				tc.before(b)
				view.asked = nil
			}
			done, err := stage(tc).Route(b, tc.item)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if got := decided(done, tc.item); err == nil && got != tc.want {
				t.Errorf("decided %+v, want %+v", got, tc.want)
			}
			if !slices.Equal(view.asked, tc.wantAsked) {
				t.Errorf("asked the view %q, want %q", view.asked, tc.wantAsked)
			}
		})
	}
}

func cmpTime(t, or time.Time) time.Time {
	if t.IsZero() {
		return or
	}
	return t
}

func TestDedupStage(t *testing.T) {
	db := func(status string, start time.Time) Alert { return alert("d1", "DBDown", "db", status, start) }
	routed := &AlertState{Status: "firing", Start: t0, Incident: "incident-1-dbdown-db", IncidentOpen: true}
	held := &AlertState{Status: "firing", Start: t0} // stored while a silence held it
	m1 := signal("m1", "checkout", incident.KindMetricAnomaly, false, t0)
	runStage(t, func(stageCase) Stage { return NewDedupStage(muteService("db", t0.Add(time.Hour))) }, []stageCase{
		{name: "a new alert", item: alertItem(db("firing", t0), nil)},
		{name: "an unchanged resend of a routed alert", item: alertItem(db("firing", t0), routed),
			want: decision{Done: true, Duplicate: true}},
		{name: "the same start in another zone is unchanged", item: alertItem(db("firing", t0.In(time.FixedZone("CET", 3600))), routed),
			want: decision{Done: true, Duplicate: true}},
		{name: "a changed status", item: alertItem(db("resolved", t0), routed)},
		{name: "a changed start", item: alertItem(db("firing", t0.Add(time.Minute)), routed)},
		{name: "an unchanged resolve", item: alertItem(db("resolved", t0), &AlertState{Status: "resolved", Start: t0, Incident: "incident-1-dbdown-db"}),
			want: decision{Done: true, Duplicate: true}},
		{name: "a resend a silence still holds", now: t0.Add(time.Minute), item: alertItem(db("firing", t0), held),
			want: decision{Done: true, Duplicate: true}},
		{name: "a resend held by a silence that has ended is routed", now: t0.Add(2 * time.Hour), item: alertItem(db("firing", t0), held)},
		{name: "a new signal", item: signalItem(m1), wantAsked: []string{"stored m1"}},
		{name: "a stored signal", view: fakeView{stored: map[string]bool{storedKey(incident.KindMetricAnomaly, "m1", t0): true}},
			item: signalItem(m1), want: decision{Done: true, Duplicate: true}, wantAsked: []string{"stored m1"}},
		{name: "a signal of another kind is not the stored one", view: fakeView{stored: map[string]bool{storedKey(incident.KindChange, "m1", t0): true}},
			item: signalItem(m1), wantAsked: []string{"stored m1"}},
		{name: "a signal the batch stores already", before: func(b *Batch) { b.storeSignal(&m1.Event) },
			item: signalItem(m1), want: decision{Done: true, Duplicate: true}},
		{name: "the view's failure", view: fakeView{fail: errView}, item: signalItem(m1), wantAsked: []string{"stored m1"}, wantErr: errView},
	})
}

func TestOwnStage(t *testing.T) {
	inc := "incident-1-highlatency-checkout"
	a := func(status string) Alert { return alert("a1", "HighLatency", "checkout", status, t0) }
	runStage(t, func(stageCase) Stage { return NewOwnStage() }, []stageCase{
		{name: "a resolved alert goes to the open incident it fired in", item: alertItem(a("resolved"), &AlertState{Status: "firing", Start: t0, Incident: inc, IncidentOpen: true}),
			want: decision{Done: true, Incident: inc}},
		{name: "a resolve for an incident already over needs no delivery", item: alertItem(a("resolved"), &AlertState{Status: "firing", Start: t0, Incident: inc}),
			want: decision{Done: true, Incident: inc, Delivered: true}},
		{name: "a resolved alert never seen goes to none", item: alertItem(a("resolved"), nil), want: decision{Done: true}},
		{name: "a resolved alert that never joined an incident goes to none", item: alertItem(a("resolved"), &AlertState{Status: "firing", Start: t0}),
			want: decision{Done: true}},
		{name: "a firing alert stays with its open incident", item: alertItem(a("firing"), &AlertState{Status: "resolved", Start: t0, Incident: inc, IncidentOpen: true}),
			want: decision{Done: true, Incident: inc}},
		{name: "a firing alert whose incident is over goes on", item: alertItem(a("firing"), &AlertState{Status: "resolved", Start: t0, Incident: inc})},
		{name: "a new firing alert goes on", item: alertItem(a("firing"), nil)},
		{name: "a signal goes on", item: signalItem(signal("m1", "checkout", incident.KindMetricAnomaly, true, t0))},
	})
}

func TestMuteStage(t *testing.T) {
	until := t0.Add(time.Hour)
	cases := []struct {
		stageCase
		mute Muter
	}{
		{stageCase{name: "a firing alert a silence matches", item: alertItem(alert("d1", "DBDown", "db", "firing", t0), nil),
			want: decision{Done: true, Silenced: true}}, muteService("db", until)},
		{stageCase{name: "any of several muters", item: alertItem(alert("d1", "DBDown", "db", "firing", t0), nil),
			want: decision{Done: true, Silenced: true}}, Muters{muteService("api", until), muteService("db", until)}},
		{stageCase{name: "another service", item: alertItem(alert("a1", "HighErrors", "api", "firing", t0), nil)}, muteService("db", until)},
		{stageCase{name: "after the silence", now: t0.Add(2 * time.Hour), item: alertItem(alert("d1", "DBDown", "db", "firing", t0), nil)}, muteService("db", until)},
		{stageCase{name: "a resolved alert is never held", item: alertItem(alert("d1", "DBDown", "db", "resolved", t0), nil)}, muteService("db", until)},
		{stageCase{name: "no muter", item: alertItem(alert("d1", "DBDown", "db", "firing", t0), nil)}, nil},
		{stageCase{name: "a signal", item: signalItem(signal("m1", "db", incident.KindMetricAnomaly, true, t0))}, muteService("db", until)},
	}
	for _, tc := range cases {
		runStage(t, func(stageCase) Stage { return NewMuteStage(tc.mute) }, []stageCase{tc.stageCase})
	}
}

func TestGroupStage(t *testing.T) {
	a := alert("a2", "HighLatency", "checkout", "firing", t0)
	key := a.GroupKey
	runStage(t, func(stageCase) Stage { return NewGroupStage() }, []stageCase{
		{name: "the group's open incident", view: fakeView{groups: map[string]string{key: "incident-4-highlatency-checkout"}},
			item: alertItem(a, nil), want: decision{Done: true, Incident: "incident-4-highlatency-checkout"}, wantAsked: []string{"group " + key}},
		{name: "the incident the batch opened for the group", before: func(b *Batch) { _, _ = b.openIncident(key, a.GroupLabels, a.Labels) },
			item: alertItem(a, nil), want: decision{Done: true, Incident: "incident-1-highlatency-checkout"}},
		{name: "the incident the group joined in the batch", before: func(b *Batch) { b.link(key, "incident-2-dbdown-db") },
			item: alertItem(a, nil), want: decision{Done: true, Incident: "incident-2-dbdown-db"}},
		{name: "a group with no open incident", item: alertItem(a, nil), wantAsked: []string{"group " + key}},
		{name: "a signal's group", view: fakeView{groups: map[string]string{"anomaly/db": "incident-3-db"}},
			item: signalItem(signal("p1", "db", incident.KindMetricAnomaly, true, t0)), want: decision{Done: true, Incident: "incident-3-db"}, wantAsked: []string{"group anomaly/db"}},
		{name: "the view's failure", view: fakeView{fail: errView}, item: alertItem(a, nil), wantAsked: []string{"group " + key}, wantErr: errView},
	})
}

func TestCorrelateStage(t *testing.T) {
	db := OpenIncident{ID: "incident-1-dbdown-db", Services: []string{"db"}, First: t0, Last: t0, Created: t0}
	view := fakeView{open: []OpenIncident{db}}
	corr := cascade(t)
	runStage(t, func(stageCase) Stage { return NewCorrelateStage() }, []stageCase{
		{name: "a caller's alert joins its callee's incident", view: view, corr: corr,
			item: alertItem(alert("a1", "HighErrors", "api", "firing", t0.Add(time.Minute)), nil),
			want: decision{Done: true, Incident: db.ID}, wantAsked: []string{"open"}},
		{name: "a caller's signal joins too", view: view, corr: corr,
			item: signalItem(signal("m1", "api", incident.KindMetricAnomaly, false, t0.Add(time.Minute))),
			want: decision{Done: true, Incident: db.ID}, wantAsked: []string{"open"}},
		{name: "a change joins an incident that started after it", view: view, corr: corr,
			item: signalItem(signal("c1", "api", incident.KindChange, false, t0.Add(-30*time.Minute))),
			want: decision{Done: true, Incident: db.ID}, wantAsked: []string{"open"}},
		{name: "two hops away is too far", view: view, corr: corr,
			item: alertItem(alert("w1", "HighLatency", "web", "firing", t0), nil), wantAsked: []string{"open"}},
		{name: "long after the incident's signals is too late", view: view, corr: corr,
			item: alertItem(alert("a1", "HighErrors", "api", "firing", t0.Add(time.Hour)), nil), wantAsked: []string{"open"}},
		{name: "an incident with no signal times spans its opening", corr: corr,
			view: fakeView{open: []OpenIncident{{ID: "incident-1-dbdown-db", Services: []string{"db"}, Created: t0}}},
			item: alertItem(alert("a1", "HighErrors", "api", "firing", t0.Add(time.Minute)), nil),
			want: decision{Done: true, Incident: db.ID}, wantAsked: []string{"open"}},
		{name: "an incident the batch opened", corr: corr,
			before: func(b *Batch) {
				id, _ := b.openIncident("DBDown/db", map[string]string{"alertname": "DBDown", "service": "db"}, nil)
				b.saw(id, "db", t0)
			},
			item: alertItem(alert("a1", "HighErrors", "api", "firing", t0.Add(time.Minute)), nil),
			want: decision{Done: true, Incident: "incident-1-dbdown-db"}, wantAsked: []string{"open"}},
		{name: "without correlation", view: view,
			item: alertItem(alert("a1", "HighErrors", "api", "firing", t0), nil)},
		{name: "without a service", view: view, corr: corr,
			item: signalItem(signal("m1", "", incident.KindMetricAnomaly, false, t0))},
		{name: "the view's failure", view: fakeView{fail: errView}, corr: corr,
			item: alertItem(alert("a1", "HighErrors", "api", "firing", t0), nil), wantAsked: []string{"open"}, wantErr: errView},
	})
}

// A joining alert's group routes to the incident it joined; a signal's does not.
func TestCorrelateStageLinksAlertGroups(t *testing.T) {
	view := &fakeView{open: []OpenIncident{{ID: "incident-1-dbdown-db", Services: []string{"db"}, First: t0, Last: t0}}}
	b := newBatch(view, t0, cascade(t))
	s := NewCorrelateStage()
	for _, it := range []*Item{
		alertItem(alert("a1", "HighErrors", "api", "firing", t0), nil),
		signalItem(signal("m1", "api", incident.KindMetricAnomaly, false, t0)),
	} {
		if done, err := s.Route(b, it); err != nil || !done {
			t.Fatalf("route %+v: %v, %v", it, done, err)
		}
	}
	if want := []GroupLink{{GroupKey: "HighErrors/api", Incident: "incident-1-dbdown-db"}}; !reflect.DeepEqual(b.plan.Links, want) {
		t.Errorf("links %+v, want %+v", b.plan.Links, want)
	}
	if got, _ := b.groupIncident("HighErrors/api"); got != "incident-1-dbdown-db" {
		t.Errorf("the joined group routes to %q", got)
	}
}

func TestOpenStage(t *testing.T) {
	a := alert("a1", "HighLatency", "checkout", "firing", t0)
	runStage(t, func(stageCase) Stage { return NewOpenStage() }, []stageCase{
		{name: "numbered after the highest stored", view: fakeView{max: 7}, item: alertItem(a, nil),
			want: decision{Done: true, Incident: "incident-8-highlatency-checkout"}, wantAsked: []string{"max"}},
		{name: "the first incident", item: alertItem(a, nil),
			want: decision{Done: true, Incident: "incident-1-highlatency-checkout"}, wantAsked: []string{"max"}},
		{name: "numbered after those the batch opened", view: fakeView{max: 7},
			before: func(b *Batch) {
				_, _ = b.openIncident("DiskFull/db", map[string]string{"alertname": "DiskFull", "service": "db"}, nil)
			},
			item: alertItem(a, nil), want: decision{Done: true, Incident: "incident-9-highlatency-checkout"}},
		{name: "a signal's incident", item: signalItem(signal("p1", "db", incident.KindMetricAnomaly, true, t0)),
			want: decision{Done: true, Incident: "incident-1-db"}, wantAsked: []string{"max"}},
		{name: "the view's failure", view: fakeView{fail: errView}, item: alertItem(a, nil), wantAsked: []string{"max"}, wantErr: errView},
	})
}

func TestOpenStagePlansTheIncident(t *testing.T) {
	b := newBatch(&fakeView{max: 1}, t0, nil)
	a := alert("a1", "HighLatency", "checkout", "firing", t0)
	a.Labels["service"] = "checkout-eu" // the group's service names the incident
	if _, err := NewOpenStage().Route(b, alertItem(a, nil)); err != nil {
		t.Fatal(err)
	}
	want := []NewIncident{{ID: "incident-2-highlatency-checkout", Num: 2, GroupKey: a.GroupKey, Group: a.GroupLabels,
		Title: "HighLatency on checkout", Severity: "critical", Service: "checkout"}}
	if !reflect.DeepEqual(b.plan.Opened, want) {
		t.Errorf("opened %+v, want %+v", b.plan.Opened, want)
	}
}

func TestServiceStage(t *testing.T) {
	m1 := signal("m1", "checkout", incident.KindMetricAnomaly, false, t0)
	runStage(t, func(stageCase) Stage { return NewServiceStage() }, []stageCase{
		{name: "the service's newest open incident", view: fakeView{services: map[string]string{"checkout": "incident-3-checkout"}},
			item: signalItem(m1), want: decision{Done: true, Incident: "incident-3-checkout"}, wantAsked: []string{"service checkout"}},
		{name: "the incident the batch opened about the service",
			view: fakeView{services: map[string]string{"checkout": "incident-3-checkout"}, max: 3},
			before: func(b *Batch) {
				_, _ = b.openIncident("anomaly/checkout", map[string]string{"service": "checkout"}, nil)
			},
			item: signalItem(m1), want: decision{Done: true, Incident: "incident-4-checkout"}},
		{name: "a service no open incident concerns", item: signalItem(m1), wantAsked: []string{"service checkout"}},
		{name: "no service", item: signalItem(signal("m1", "", incident.KindMetricAnomaly, false, t0))},
		{name: "the view's failure", view: fakeView{fail: errView}, item: signalItem(m1), wantAsked: []string{"service checkout"}, wantErr: errView},
	})
}

func TestMayOpenStage(t *testing.T) {
	runStage(t, func(stageCase) Stage { return NewMayOpenStage() }, []stageCase{
		{name: "a signal that may not open is kept alone", item: signalItem(signal("c1", "payments", incident.KindChange, false, t0)),
			want: decision{Done: true}},
		{name: "a signal that may open goes on", item: signalItem(signal("p1", "db", incident.KindMetricAnomaly, true, t0))},
		{name: "an alert goes on", item: alertItem(alert("a1", "X", "y", "firing", t0), nil)},
	})
}
