package store

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/vigilops/vigil/incident"
)

func signal(fp, svc string, kind incident.EventKind, mayOpen bool) SignalIn {
	return SignalIn{
		Event: incident.Event{Kind: kind, Fingerprint: fp, Status: incident.AlertFiring, StartsAt: t0,
			Labels: map[string]string{"service": svc}, Summary: "p99 latency 3.2x its baseline", Value: 0.93,
			Series:   &incident.Series{Name: "latency_p99", Times: []int64{1, 2, 3}, Values: []float64{0.2, 0.2, 0.9}},
			Examples: []string{"ERROR upstream timeout"}},
		MayOpen: mayOpen, GroupKey: "anomaly/" + svc, GroupLabels: map[string]string{"service": svc},
	}
}

func TestIngestEventsRouting(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		s := openTest(t)
		ctx := context.Background()
		// An open incident for checkout, just opened: its workflow has saved
		// nothing yet, but its service is known from its group.
		if _, err := s.IngestAlerts(ctx, "am", []AlertIn{alert("a1", "HighLatency", "checkout", "firing", t0)}, t0); err != nil {
			t.Fatal(err)
		}
		open := "incident-1-highlatency-checkout"
		tests := []struct {
			name     string
			in       SignalIn
			want     []string
			wantDups int
		}{
			{name: "joins the open incident of its service", in: signal("m1", "checkout", incident.KindMetricAnomaly, false), want: []string{open}},
			{name: "duplicate", in: signal("m1", "checkout", incident.KindMetricAnomaly, false), wantDups: 1},
			{name: "no incident and may not open: kept alone", in: signal("c1", "payments", incident.KindChange, false)},
			{name: "may open its own", in: signal("p1", "db", incident.KindMetricAnomaly, true), want: []string{"incident-2-db"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res, err := s.IngestEvents(ctx, "signals", []SignalIn{tt.in}, t0)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(res.Incidents, tt.want) || res.Duplicates != tt.wantDups {
					t.Errorf("got %+v, want incidents %v dups %d", res, tt.want, tt.wantDups)
				}
			})
		}
		out, err := s.Outbox(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		var got *incident.Event
		for _, d := range out {
			for i, e := range d.Events {
				if e.Fingerprint == "m1" {
					got = &d.Events[i]
				}
			}
		}
		if got == nil || got.Kind != incident.KindMetricAnomaly || got.Summary == "" || got.Value != 0.93 ||
			got.Series == nil || len(got.Series.Values) != 3 || got.Examples[0] != "ERROR upstream timeout" {
			t.Fatalf("outbox lost the signal's content: %+v", got)
		}

		// Once the incident resolves, a new signal for its service no longer joins it.
		resolved := incident.Incident{ID: open, Status: incident.StatusResolved, Services: []string{"checkout"},
			Alerts: []incident.Alert{{Fingerprint: "a1", Status: "firing", StartsAt: t0}}}
		if err := s.SaveIncident(ctx, resolved, 2); err != nil {
			t.Fatal(err)
		}
		res, _ := s.IngestEvents(ctx, "signals", []SignalIn{signal("m2", "checkout", incident.KindMetricAnomaly, false)}, t0.Add(time.Hour))
		if len(res.Incidents) != 0 || res.Accepted != 1 {
			t.Errorf("signal joined a resolved incident: %+v", res)
		}
	})
}
