package store

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/analyzers/correlate"
	"github.com/vigilops/vigil/incident"
)

func correlated(t *testing.T, edges [][2]string) *Store {
	t.Helper()
	s := openTest(t)
	c, err := correlate.NewCorrelator(correlate.DefaultConfig(), correlate.NewGraph(edges), nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Correlate(c, nil)
	return s
}

// TestCorrelatedRouting walks a cascade: what each batch of alerts joins when
// ingest routes through the dependency graph (api calls db, web calls api).
func TestCorrelatedRouting(t *testing.T) {
	s := correlated(t, [][2]string{{"api", "db"}, {"web", "api"}})
	ctx := context.Background()
	steps := []struct {
		name   string
		alerts []AlertIn
		want   []string // incident of each alert, in order
	}{
		{"a backing service fails and opens an incident",
			[]AlertIn{alert("d1", "DBDown", "db", "firing", t0)},
			[]string{"incident-1-dbdown-db"}},
		{"its caller's alert joins it, one hop away",
			[]AlertIn{alert("a1", "HighErrors", "api", "firing", t0.Add(time.Minute))},
			[]string{"incident-1-dbdown-db"}},
		{"the cascade goes on through the service that joined, in the same batch as more of its group",
			[]AlertIn{alert("w1", "HighLatency", "web", "firing", t0.Add(2*time.Minute)), alert("a2", "HighErrors", "api", "firing", t0.Add(2*time.Minute))},
			[]string{"incident-1-dbdown-db", "incident-1-dbdown-db"}},
		{"an unrelated service opens its own incident",
			[]AlertIn{alert("m1", "QueueFull", "mail", "firing", t0.Add(3*time.Minute))},
			[]string{"incident-2-queuefull-mail"}},
		{"a connected alert long after the incident's signals opens a new one",
			[]AlertIn{alert("w2", "CertExpiry", "web", "firing", t0.Add(time.Hour))},
			[]string{"incident-3-certexpiry-web"}},
		{"a group that joined keeps routing to the incident it joined",
			[]AlertIn{alert("a3", "HighErrors", "api", "firing", t0.Add(2*time.Hour))},
			[]string{"incident-1-dbdown-db"}},
	}
	for _, st := range steps {
		res, err := s.IngestAlerts(ctx, "am", st.alerts, t0)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		var got []string
		for _, o := range res.Outcomes {
			got = append(got, o.Incident)
		}
		if !slices.Equal(got, st.want) {
			t.Errorf("%s: incidents %v, want %v", st.name, got, st.want)
		}
	}
	// The incident knows the services that joined, so signals about them route there.
	res, err := s.IngestEvents(ctx, "metrics", []SignalIn{{Event: incident.Event{
		Kind: incident.KindMetricAnomaly, Fingerprint: "m-web", StartsAt: t0.Add(4 * time.Minute),
		Labels: map[string]string{"service": "api"}, Summary: "latency up"}}}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Outcomes[0].Incident; got != "incident-1-dbdown-db" {
		t.Errorf("anomaly on api joined %q, want incident-1-dbdown-db", got)
	}
}

// A signal on a service no incident has, but one hop from an open incident's
// service, joins it; one on an unconnected service stays alone.
func TestCorrelatedSignals(t *testing.T) {
	s := correlated(t, [][2]string{{"api", "db"}})
	ctx := context.Background()
	if _, err := s.IngestAlerts(ctx, "am", []AlertIn{alert("d1", "DBDown", "db", "firing", t0)}, t0); err != nil {
		t.Fatal(err)
	}
	sig := func(fp, svc string, kind incident.EventKind, at time.Time) SignalIn {
		return SignalIn{Event: incident.Event{Kind: kind, Fingerprint: fp, StartsAt: at, Labels: map[string]string{"service": svc}, Summary: fp}}
	}
	res, err := s.IngestEvents(ctx, "mixed", []SignalIn{
		sig("anomaly-api", "api", incident.KindMetricAnomaly, t0.Add(time.Minute)),
		sig("deploy-api", "api", incident.KindChange, t0.Add(-30*time.Minute)),
		sig("anomaly-mail", "mail", incident.KindLogAnomaly, t0.Add(time.Minute)),
	}, t0)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"incident-1-dbdown-db", "incident-1-dbdown-db", ""}
	for i, o := range res.Outcomes {
		if o.Incident != want[i] {
			t.Errorf("signal %d joined %q, want %q", i, o.Incident, want[i])
		}
	}
}

// Without correlation, alerts group by group key alone, as before.
func TestUncorrelatedRoutingGroupsByKey(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		s := openTest(t)
		res, err := s.IngestAlerts(context.Background(), "am", []AlertIn{
			alert("d1", "DBDown", "db", "firing", t0), alert("a1", "HighErrors", "api", "firing", t0),
		}, t0)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"incident-1-dbdown-db", "incident-2-higherrors-api"}; !slices.Equal(res.Incidents, want) {
			t.Errorf("incidents %v, want %v", res.Incidents, want)
		}
	})
}

// Two open incidents that a new alert connects become one: the later merges
// into the earlier, its events go there, both threads get a notice, and its
// group routes to the survivor.
func TestCorrelatedMerge(t *testing.T) {
	s := correlated(t, [][2]string{{"api", "db"}, {"web", "api"}})
	ctx := context.Background()
	ingest := func(a AlertIn) string {
		t.Helper()
		res, err := s.IngestAlerts(ctx, "am", []AlertIn{a}, t0)
		if err != nil {
			t.Fatal(err)
		}
		return res.Outcomes[0].Incident
	}
	web := ingest(alert("w1", "HighLatency", "web", "firing", t0))
	// The dispatcher is delivering web's events when the merge happens.
	inFlight, err := s.Outbox(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	db := ingest(alert("d1", "DBDown", "db", "firing", t0.Add(-time.Minute)))
	if web == db {
		t.Fatalf("web and db are two hops apart and should open two incidents, both went to %s", web)
	}
	if got := ingest(alert("a1", "HighErrors", "api", "firing", t0)); got != db {
		t.Fatalf("api alert joined %s, want the earlier incident %s", got, db)
	}

	// Marking the in-flight delivery done leaves the moved events queued for db.
	if err := s.MarkDelivered(ctx, inFlight, t0); err != nil {
		t.Fatal(err)
	}
	gone, err := s.Incident(ctx, web)
	if err != nil {
		t.Fatal(err)
	}
	if gone.Status != incident.StatusResolved {
		t.Errorf("merged incident %s is %s, want resolved", web, gone.Status)
	}
	out, err := s.Outbox(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	byIncident := map[string][]string{}
	for _, d := range out {
		for _, e := range d.Events {
			byIncident[d.IncidentID] = append(byIncident[d.IncidentID], e.Fingerprint+" "+e.Summary)
		}
	}
	wantInto := []string{"w1 ", "d1 ", "a1 ", "merge:" + web + "<" + db + " " + web + " merged into this incident: "}
	if got := byIncident[db]; len(got) != len(wantInto) {
		t.Fatalf("outbox of %s: %q, want the merged incident's events and a notice", db, got)
	}
	for i, w := range wantInto {
		if got := byIncident[db][i]; len(got) < len(w) || got[:len(w)] != w {
			t.Errorf("outbox of %s [%d] = %q, want it to start %q", db, i, got, w)
		}
	}
	if got := byIncident[web]; len(got) != 1 || !strings.HasPrefix(got[0], "merge:"+web+">"+db+" Merged into "+db+": ") || !strings.Contains(got[0], "web calls api") {
		t.Errorf("outbox of %s: %q, want one notice naming %s and why", web, got, db)
	}
	if got := ingest(alert("w2", "HighLatency", "web", "firing", t0.Add(time.Minute))); got != db {
		t.Errorf("a new alert of the merged incident's group went to %s, want %s", got, db)
	}
	// If the merged incident's workflow is already over, its notice is
	// dropped: it opens no new incident.
	for _, d := range out {
		if d.IncidentID != web {
			continue
		}
		newID, err := s.Reroute(ctx, d, t0)
		if err != nil || newID != "" {
			t.Errorf("rerouting the notice opened %q (%v), want nothing", newID, err)
		}
	}
}

// muter silences alerts of one service until a time.
type muter struct {
	service string
	until   time.Time
}

func (m muter) Silencing(labels map[string]string, at time.Time) []string {
	if labels["service"] == m.service && !at.After(m.until) {
		return []string{"s1"}
	}
	return nil
}

// A silenced alert is stored but opens no incident; once the silence is over,
// its next resend opens one. Alerts of incidents already open are not held.
func TestSilencedAlerts(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		s := openTest(t)
		s.Mute(muter{service: "db", until: t0.Add(time.Hour)})
		ctx := context.Background()
		steps := []struct {
			name                   string
			at                     time.Time
			alert                  AlertIn
			wantIncident           string
			wantSilenced, wantDups int
		}{
			{"silenced: stored, no incident", t0, alert("d1", "DBDown", "db", "firing", t0), "", 1, 0},
			{"its resend while silenced is a duplicate", t0.Add(time.Minute), alert("d1", "DBDown", "db", "firing", t0), "", 0, 1},
			{"another service is not silenced", t0, alert("a1", "HighErrors", "api", "firing", t0), "incident-1-higherrors-api", 0, 0},
			{"after the silence, the resend opens an incident", t0.Add(2 * time.Hour), alert("d1", "DBDown", "db", "firing", t0), "incident-2-dbdown-db", 0, 0},
		}
		for _, st := range steps {
			res, err := s.IngestAlerts(ctx, "am", []AlertIn{st.alert}, st.at)
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			if got := res.Outcomes[0].Incident; got != st.wantIncident || res.Silenced != st.wantSilenced || res.Duplicates != st.wantDups {
				t.Errorf("%s: incident %q silenced %d duplicates %d, want %q %d %d", st.name, got, res.Silenced, res.Duplicates, st.wantIncident, st.wantSilenced, st.wantDups)
			}
		}
		out, err := s.Outbox(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range out {
			for _, e := range d.Events {
				if d.IncidentID == "" {
					t.Errorf("event %d of %s queued without an incident", e.ID, e.Fingerprint)
				}
			}
		}
	})
}
