package routing

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/incident"
)

func incidentsOf(p *Plan) []string {
	out := make([]string, len(p.Outcomes))
	for i, o := range p.Outcomes {
		switch {
		case o.Duplicate:
			out[i] = "duplicate"
		case o.Silenced:
			out[i] = "silenced"
		default:
			out[i] = o.Incident
		}
	}
	return out
}

func ids(opened []NewIncident) []string {
	var out []string
	for _, o := range opened {
		out = append(out, o.ID)
	}
	return out
}

func TestRouterAlerts(t *testing.T) {
	checkout, db := "incident-1-highlatency-checkout", "incident-2-diskfull-db"
	until := t0.Add(time.Hour)
	tests := []struct {
		name       string
		view       fakeView
		corr       bool
		mute       bool // silence db until an hour after t0
		now        time.Time
		alerts     []Alert
		want       []string // what became of each alert: its incident, "duplicate" or "silenced"
		wantOpened []string
		wantAsked  []string
	}{
		{name: "two groups in one batch open two incidents, numbered in turn; the group's next alert joins the first",
			alerts: []Alert{alert("a1", "HighLatency", "checkout", "firing", t0), alert("b1", "DiskFull", "db", "firing", t0),
				alert("a2", "HighLatency", "checkout", "firing", t0)},
			want:       []string{checkout, db, checkout},
			wantOpened: []string{checkout, db},
			wantAsked:  []string{"states", "group HighLatency/checkout", "max", "group DiskFull/db"}},
		{name: "numbers go on from the highest stored", view: fakeView{max: 41},
			alerts: []Alert{alert("b1", "DiskFull", "db", "firing", t0)},
			want:   []string{"incident-42-diskfull-db"}, wantOpened: []string{"incident-42-diskfull-db"},
			wantAsked: []string{"states", "group DiskFull/db", "max"}},
		{name: "a resend is a duplicate; a resolve goes to the alert's incident, and its resend is a duplicate",
			view: fakeView{states: map[string]AlertState{"a1": {Status: "firing", Start: t0, Incident: checkout, IncidentOpen: true}}},
			alerts: []Alert{alert("a1", "HighLatency", "checkout", "firing", t0), alert("a1", "HighLatency", "checkout", "resolved", t0),
				alert("a1", "HighLatency", "checkout", "resolved", t0)},
			want: []string{"duplicate", checkout, "duplicate"}, wantAsked: []string{"states"}},
		{name: "a resolve for an alert never seen opens nothing",
			alerts: []Alert{alert("z9", "Other", "x", "resolved", t0)}, want: []string{""}, wantAsked: []string{"states"}},
		{name: "an alert firing again stays with its open incident",
			view:   fakeView{states: map[string]AlertState{"a1": {Status: "resolved", Start: t0, Incident: checkout, IncidentOpen: true}}},
			alerts: []Alert{alert("a1", "HighLatency", "checkout", "firing", t0.Add(time.Hour))},
			want:   []string{checkout}, wantAsked: []string{"states"}},
		{name: "an alert firing again after its incident is over goes to its group's",
			view: fakeView{states: map[string]AlertState{"a1": {Status: "resolved", Start: t0, Incident: checkout}},
				groups: map[string]string{"HighLatency/checkout": "incident-5-highlatency-checkout"}},
			alerts: []Alert{alert("a1", "HighLatency", "checkout", "firing", t0.Add(time.Hour))},
			want:   []string{"incident-5-highlatency-checkout"}, wantAsked: []string{"states", "group HighLatency/checkout"}},
		{name: "a silenced alert joins nothing; alerts of open incidents are not held", mute: true,
			view:   fakeView{states: map[string]AlertState{"d2": {Status: "firing", Start: t0, Incident: "incident-3-dbdown-db", IncidentOpen: true}}},
			alerts: []Alert{alert("d1", "DBDown", "db", "firing", t0), alert("d2", "DBDown", "db", "resolved", t0)},
			want:   []string{"silenced", "incident-3-dbdown-db"}, wantAsked: []string{"states"}},
		{name: "a held alert's resend while silenced is a duplicate", now: t0.Add(time.Minute), mute: true,
			view:   fakeView{states: map[string]AlertState{"d1": {Status: "firing", Start: t0}}},
			alerts: []Alert{alert("d1", "DBDown", "db", "firing", t0)},
			want:   []string{"duplicate"}, wantAsked: []string{"states"}},
		{name: "once the silence is over, the held alert's resend opens an incident", now: t0.Add(2 * time.Hour), mute: true,
			view:   fakeView{states: map[string]AlertState{"d1": {Status: "firing", Start: t0}}, max: 3},
			alerts: []Alert{alert("d1", "DBDown", "db", "firing", t0)},
			want:   []string{"incident-4-dbdown-db"}, wantOpened: []string{"incident-4-dbdown-db"},
			wantAsked: []string{"states", "group DBDown/db", "max"}},
		{name: "with correlation, a caller's alert joins its callee's incident, opened in the same batch", corr: true,
			alerts: []Alert{alert("d1", "DBDown", "db", "firing", t0), alert("a1", "HighErrors", "api", "firing", t0.Add(time.Minute)),
				alert("a2", "HighErrors", "api", "firing", t0.Add(time.Minute)), alert("m1", "QueueFull", "mail", "firing", t0)},
			want:       []string{"incident-1-dbdown-db", "incident-1-dbdown-db", "incident-1-dbdown-db", "incident-2-queuefull-mail"},
			wantOpened: []string{"incident-1-dbdown-db", "incident-2-queuefull-mail"},
			wantAsked:  []string{"states", "group DBDown/db", "open", "max", "group HighErrors/api", "group QueueFull/mail"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var corr *Correlation
			if tt.corr {
				corr = cascade(t)
			}
			var mute Muter
			if tt.mute {
				mute = muteService("db", until)
			}
			r := NewRouter(mute, corr)
			view := tt.view
			p, err := r.Alerts(&view, tt.alerts, cmpTime(tt.now, t0))
			if err != nil {
				t.Fatal(err)
			}
			if got := incidentsOf(p); !slices.Equal(got, tt.want) {
				t.Errorf("alerts went to %q, want %q", got, tt.want)
			}
			if got := ids(p.Opened); !slices.Equal(got, tt.wantOpened) {
				t.Errorf("opened %q, want %q", got, tt.wantOpened)
			}
			if !slices.Equal(view.asked, tt.wantAsked) {
				t.Errorf("asked the view %q, want %q", view.asked, tt.wantAsked)
			}
			// Every alert that is not a duplicate is stored, in input order,
			// with its incident, and its state with it.
			var events []string
			for i, o := range p.Outcomes {
				if !o.Duplicate {
					events = append(events, tt.alerts[i].Fingerprint+" "+o.Incident)
				}
			}
			var stored []string
			for _, e := range p.Alerts {
				stored = append(stored, e.Alert.Fingerprint+" "+e.Incident)
				if st := p.States[e.Alert.Fingerprint]; st.Status == "" {
					t.Errorf("no state stored for %s", e.Alert.Fingerprint)
				}
			}
			if !slices.Equal(stored, events) {
				t.Errorf("events %q, want %q", stored, events)
			}
		})
	}
}

// The plan of one batch in full: the states, events, times and services it
// stores.
func TestRouterAlertsPlan(t *testing.T) {
	inc := "incident-1-highlatency-checkout"
	view := &fakeView{states: map[string]AlertState{"a0": {Status: "firing", Start: t0, Incident: "incident-0-old"}}}
	r := NewRouter(nil, nil)
	p, err := r.Alerts(view, []Alert{
		alert("a1", "HighLatency", "checkout", "firing", t0.Add(time.Minute)),
		alert("a2", "HighLatency", "checkout", "firing", t0),
		alert("a0", "HighLatency", "checkout", "resolved", t0),
	}, t0)
	if err != nil {
		t.Fatal(err)
	}
	wantStates := map[string]AlertState{
		"a1": {Status: "firing", Start: t0.Add(time.Minute), Incident: inc, IncidentOpen: true},
		"a2": {Status: "firing", Start: t0, Incident: inc, IncidentOpen: true},
		"a0": {Status: "resolved", Start: t0, Incident: "incident-0-old"},
	}
	if !reflect.DeepEqual(p.States, wantStates) {
		t.Errorf("states %+v, want %+v", p.States, wantStates)
	}
	if len(p.Alerts) != 3 || p.Alerts[2].Incident != "incident-0-old" || !p.Alerts[2].Delivered || p.Alerts[0].Delivered {
		t.Errorf("events %+v, want three, the resolve of an incident over delivered", p.Alerts)
	}
	wantTouched := []Touch{{Incident: inc, First: t0, Last: t0.Add(time.Minute), Services: []string{"checkout"}}}
	if !reflect.DeepEqual(p.Touched, wantTouched) {
		t.Errorf("touched %+v, want %+v", p.Touched, wantTouched)
	}
	if len(p.Links) != 0 || len(p.Merges) != 0 || len(p.Signals) != 0 {
		t.Errorf("links %v merges %v signals %v, want none", p.Links, p.Merges, p.Signals)
	}
}

// learner records what it is told.
type learner []string

func (l *learner) Observe(service string, at time.Time) {
	*l = append(*l, service+"@"+at.Format("15:04"))
}

// The learner hears of each firing alert routed to an incident, once per
// start, and of nothing else.
func TestRouterAlertsTellTheLearner(t *testing.T) {
	var l learner
	r := NewRouter(muteService("db", t0.Add(time.Hour)), NewCorrelation(nil, &l))
	view := &fakeView{states: map[string]AlertState{"a0": {Status: "resolved", Start: t0, Incident: "incident-1-x", IncidentOpen: true}}}
	_, err := r.Alerts(view, []Alert{
		alert("a1", "HighLatency", "checkout", "firing", t0),
		alert("a0", "HighLatency", "checkout", "firing", t0), // fires again with the same start
		alert("a3", "HighLatency", "web", "firing", t0.Add(time.Minute)),
		alert("d1", "DBDown", "db", "firing", t0), // silenced
		alert("a3", "HighLatency", "web", "resolved", t0.Add(time.Minute)),
	}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if want := (learner{"checkout@03:00", "web@03:01"}); !slices.Equal(l, want) {
		t.Errorf("learner heard %q, want %q", l, want)
	}
}

func TestRouterMergesWhatABatchMadeOne(t *testing.T) {
	web, db := "incident-1-highlatency-web", "incident-2-dbdown-db"
	view := &fakeView{max: 2, open: []OpenIncident{
		{ID: web, Services: []string{"web"}, First: t0, Last: t0, Created: t0},
		{ID: db, Services: []string{"db"}, First: t0.Add(-time.Minute), Last: t0.Add(-time.Minute), Created: t0},
	}}
	p, err := NewRouter(nil, cascade(t)).Alerts(view, []Alert{alert("a1", "HighErrors", "api", "firing", t0)}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if got := incidentsOf(p); !slices.Equal(got, []string{db}) {
		t.Fatalf("the api alert went to %q, want the earlier incident %s", got, db)
	}
	if want := []GroupLink{{GroupKey: "HighErrors/api", Incident: db}}; !reflect.DeepEqual(p.Links, want) {
		t.Errorf("links %+v, want %+v", p.Links, want)
	}
	if len(p.Merges) != 1 {
		t.Fatalf("merges %+v, want %s into %s", p.Merges, web, db)
	}
	m := p.Merges[0]
	if m.From != web || m.Into != db {
		t.Errorf("merge %s into %s, want %s into %s", m.From, m.Into, web, db)
	}
	if len(m.Notices) != 2 {
		t.Fatalf("notices %+v, want one for each incident", m.Notices)
	}
	from, into := m.Notices[0], m.Notices[1]
	if from.Incident != web || from.Event.Kind != incident.KindMerge || from.Event.Fingerprint != "merge:"+web+">"+db ||
		!strings.HasPrefix(from.Event.Summary, "Merged into "+db+": ") || !strings.Contains(from.Event.Summary, "web calls api") ||
		from.Event.Labels["into"] != db || !from.Event.StartsAt.Equal(t0) {
		t.Errorf("notice to %s: %+v", web, from)
	}
	if into.Incident != db || into.Event.Fingerprint != "merge:"+web+"<"+db || into.Event.Labels["from"] != web ||
		!strings.HasPrefix(into.Event.Summary, web+" merged into this incident: ") {
		t.Errorf("notice to %s: %+v", db, into)
	}
}

// Incidents far apart in time, or in the graph, stay apart.
func TestRouterMergesNothingUnconnected(t *testing.T) {
	view := &fakeView{max: 2, open: []OpenIncident{
		{ID: "incident-1-highlatency-web", Services: []string{"web"}, First: t0.Add(-3 * time.Hour), Last: t0.Add(-3 * time.Hour)},
		{ID: "incident-2-dbdown-db", Services: []string{"db"}, First: t0, Last: t0},
		{ID: "incident-3-queuefull-mail", Services: []string{"mail"}, First: t0, Last: t0},
	}}
	p, err := NewRouter(nil, cascade(t)).Alerts(view, []Alert{alert("a1", "HighErrors", "api", "firing", t0)}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if got := incidentsOf(p); !slices.Equal(got, []string{"incident-2-dbdown-db"}) || len(p.Merges) != 0 {
		t.Errorf("went to %q with merges %+v, want incident-2-dbdown-db and none", got, p.Merges)
	}
}

func TestRouterSignals(t *testing.T) {
	checkout, db := "incident-1-highlatency-checkout", "incident-2-dbdown-db"
	view := &fakeView{max: 2,
		services: map[string]string{"checkout": checkout, "db": db},
		open: []OpenIncident{
			{ID: checkout, Services: []string{"checkout"}, First: t0, Last: t0},
			{ID: db, Services: []string{"db"}, First: t0, Last: t0},
		},
		stored: map[string]bool{storedKey(incident.KindMetricAnomaly, "m0", t0): true},
	}
	signals := []Signal{
		signal("m0", "checkout", incident.KindMetricAnomaly, false, t0),             // stored before
		signal("m1", "checkout", incident.KindMetricAnomaly, false, t0),             // by its service
		signal("m1", "checkout", incident.KindMetricAnomaly, false, t0),             // stored by this batch
		signal("m2", "api", incident.KindLogAnomaly, false, t0.Add(time.Minute)),    // joins db, one hop away
		signal("c1", "payments", incident.KindChange, false, t0),                    // kept alone
		signal("p1", "mail", incident.KindMetricAnomaly, true, t0),                  // opens its own
		signal("p2", "mail", incident.KindMetricAnomaly, true, t0.Add(time.Minute)), // joins it by service
		signal("p3", "", incident.KindMetricAnomaly, true, t0),                      // no service: opens one
	}
	signals[7].GroupKey = signals[6].GroupKey // of the group p1 opened
	p, err := NewRouter(nil, cascade(t)).Signals(view, signals, t0)
	if err != nil {
		t.Fatal(err)
	}
	mail := "incident-3-mail"
	want := []string{"duplicate", checkout, "duplicate", db, "", mail, mail, mail}
	if got := incidentsOf(p); !slices.Equal(got, want) {
		t.Errorf("signals went to %q, want %q", got, want)
	}
	if got := ids(p.Opened); !slices.Equal(got, []string{mail}) {
		t.Errorf("opened %q, want %s", got, mail)
	}
	var stored []string
	for _, e := range p.Signals {
		stored = append(stored, e.Signal.Event.Fingerprint+" "+e.Incident)
	}
	if want := []string{"m1 " + checkout, "m2 " + db, "c1 ", "p1 " + mail, "p2 " + mail, "p3 " + mail}; !slices.Equal(stored, want) {
		t.Errorf("events %q, want %q", stored, want)
	}
	wantTouched := []Touch{
		{Incident: checkout, First: t0, Last: t0, Services: []string{"checkout"}},
		{Incident: db, First: t0.Add(time.Minute), Last: t0.Add(time.Minute), Services: []string{"api"}},
		{Incident: mail, First: t0, Last: t0.Add(time.Minute), Services: []string{"mail"}},
	}
	if !reflect.DeepEqual(p.Touched, wantTouched) {
		t.Errorf("touched %+v, want %+v", p.Touched, wantTouched)
	}
}

// Without correlation, a signal no open incident of its service takes opens
// one only when it may.
func TestRouterSignalsUncorrelated(t *testing.T) {
	view := &fakeView{services: map[string]string{"db": "incident-1-dbdown-db"}, max: 1}
	p, err := NewRouter(nil, nil).Signals(view, []Signal{
		signal("m1", "api", incident.KindMetricAnomaly, false, t0),
		signal("m2", "api", incident.KindMetricAnomaly, true, t0),
	}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := incidentsOf(p), []string{"", "incident-2-api"}; !slices.Equal(got, want) {
		t.Errorf("signals went to %q, want %q", got, want)
	}
	if want := []string{"stored m1", "service api", "stored m2", "service api", "group anomaly/api", "max"}; !slices.Equal(view.asked, want) {
		t.Errorf("asked the view %q, want %q", view.asked, want)
	}
}

func TestRouterReopen(t *testing.T) {
	group := map[string]string{"alertname": "X", "service": "y"}
	for _, tt := range []struct {
		name       string
		view       fakeView
		want       string
		wantOpened []string
	}{
		{"the group's open incident", fakeView{groups: map[string]string{"X/y": "incident-3-x-y"}, max: 3}, "incident-3-x-y", nil},
		{"a new one", fakeView{max: 3}, "incident-4-x-y", []string{"incident-4-x-y"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id, p, err := NewRouter(nil, nil).Reopen(&tt.view, "X/y", group, map[string]string{"severity": "critical"}, t0)
			if err != nil || id != tt.want || !slices.Equal(ids(p.Opened), tt.wantOpened) {
				t.Errorf("reopen = %q (opened %q), %v; want %q (opened %q)", id, ids(p.Opened), err, tt.want, tt.wantOpened)
			}
		})
	}
}

// A view that fails fails the batch, naming the item.
func TestRouterViewFailure(t *testing.T) {
	r := NewRouter(nil, nil)
	if _, err := r.Alerts(&fakeView{fail: errView}, []Alert{alert("a1", "X", "y", "firing", t0)}, t0); !errors.Is(err, errView) {
		t.Errorf("alerts: %v, want %v", err, errView)
	}
	_, err := r.Signals(&fakeView{fail: errView}, []Signal{signal("m1", "y", incident.KindMetricAnomaly, true, t0)}, t0)
	if !errors.Is(err, errView) || !strings.Contains(err.Error(), "event m1") {
		t.Errorf("signals: %v, want %v naming m1", err, errView)
	}
}
