package ingest

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/store"
)

// TestSignalSinkRoutes stores signal events through the real store: a
// prediction may open an incident, an anomaly of the same service joins it,
// a log anomaly of another service is kept without one, and a resend is a
// duplicate.
func TestSignalSinkRoutes(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sink := &SignalSink{Store: st, GroupBy: []string{"alertname", "service"}, Open: map[incident.EventKind]bool{incident.KindPredicted: true}}
	t0 := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	ev := func(kind incident.EventKind, fp, status string, at time.Time, labels map[string]string) incident.Event {
		return incident.Event{Source: "metrics", Kind: kind, Fingerprint: fp, Status: status, Labels: labels, StartsAt: at, ReceivedAt: at, Summary: string(kind)}
	}
	predicted := ev(incident.KindPredicted, "p1", incident.AlertFiring, t0, map[string]string{"alertname": "DiskWillFill", "service": "db", "__name__": "disk_free"})
	tests := []struct {
		name          string
		events        []incident.Event
		wantAccepted  int
		wantDups      int
		wantIncidents int
	}{
		{"a prediction opens an incident", []incident.Event{predicted}, 1, 0, 1},
		{"an anomaly of its service joins it", []incident.Event{ev(incident.KindMetricAnomaly, "a1", incident.AlertFiring, t0.Add(time.Minute), map[string]string{"service": "db"})}, 1, 0, 1},
		{"a log anomaly elsewhere opens nothing", []incident.Event{ev(incident.KindLogAnomaly, "l1", incident.AlertFiring, t0, map[string]string{"service": "api"})}, 1, 0, 0},
		{"a resend is a duplicate", []incident.Event{predicted}, 0, 1, 0},
		{"the prediction's resolve is stored", []incident.Event{ev(incident.KindPredicted, "p1", incident.AlertResolved, t0.Add(time.Hour), predicted.Labels)}, 1, 0, 1},
	}
	var first string
	for _, tt := range tests {
		res, err := sink.IngestEvents(context.Background(), "metrics", tt.events, t0)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if res.Accepted != tt.wantAccepted || res.Duplicates != tt.wantDups || len(res.Incidents) != tt.wantIncidents {
			t.Errorf("%s: %+v", tt.name, res)
		}
		if first == "" && len(res.Incidents) > 0 {
			first = res.Incidents[0]
			// The incident's workflow saves its projection, which records the
			// services that later signals join by.
			inc := incident.Incident{ID: first, Status: incident.StatusOpen, Services: []string{"db"}, UpdatedAt: t0}
			if err := st.SaveIncident(context.Background(), inc, 1); err != nil {
				t.Fatal(err)
			}
		} else if len(res.Incidents) > 0 && !slices.Equal(res.Incidents, []string{first}) {
			t.Errorf("%s: joined %v, want the prediction's incident %s", tt.name, res.Incidents, first)
		}
	}
}

func TestGroupOf(t *testing.T) {
	key, group := groupOf([]string{"alertname", "service"}, map[string]string{"service": "db", "instance": "db-1"})
	if key != `alertname="",service="db",` || len(group) != 1 || group["service"] != "db" {
		t.Errorf("groupOf = %q, %v", key, group)
	}
}
