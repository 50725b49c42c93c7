package workflows

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/workflows/contract"

	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/store"
)

// signals ingests non-alert events and returns the batch the dispatcher would
// signal to the fixture's incident.
func (f *fixture) signals(t *testing.T, in ...store.SignalIn) contract.AlertsSignal {
	t.Helper()
	if _, err := f.store.IngestEvents(context.Background(), "test", in, time.Now()); err != nil {
		t.Fatal(err)
	}
	out, err := f.store.Outbox(context.Background(), 100)
	if err != nil || len(out) != 1 {
		t.Fatalf("outbox %+v %v", out, err)
	}
	_ = f.store.MarkDelivered(context.Background(), out[:1], time.Now())
	f.id = out[0].IncidentID
	return contract.AlertsSignal{Events: out[0].Events}
}

func anomaly(fp, svc string, kind incident.EventKind, mayOpen bool) store.SignalIn {
	return store.SignalIn{
		Event: incident.Event{Kind: kind, Fingerprint: fp, StartsAt: time.Date(2026, 11, 24, 3, 5, 0, 0, time.UTC),
			Labels: map[string]string{"service": svc, "metric": "disk_used_ratio"}, Summary: "disk usage 4.1 robust z above its baseline",
			Value: 0.97, Series: &incident.Series{Name: "disk_used_ratio", Times: []int64{1, 2, 3}, Values: []float64{0.61, 0.62, 0.91}}},
		MayOpen: mayOpen, GroupKey: "signal/" + svc, GroupLabels: map[string]string{"service": svc},
	}
}

func TestAnomalyJoinsIncidentAsEvidence(t *testing.T) {
	f := newFixture(t)
	first := f.alerts(t, incident.AlertFiring, "db-1")
	// The incident's workflow has saved its services, so the anomaly on db joins it.
	if err := f.store.SaveIncident(context.Background(), incident.Incident{ID: f.id, Status: incident.StatusOpen, Services: []string{"db"}}, 1); err != nil {
		t.Fatal(err)
	}
	f.signal(0, first)
	sig := f.signals(t, anomaly("anom-1", "db", incident.KindMetricAnomaly, false))
	f.signal(time.Minute, sig)
	f.signal(2*time.Minute, sig) // redelivered: nothing changes
	f.signal(time.Hour, f.alerts(t, incident.AlertResolved, "db-1"))
	inc := f.run(t)
	if len(inc.Evidence) != 2 || inc.Evidence[1].Kind != incident.KindMetricAnomaly || inc.Evidence[1].Series == nil {
		t.Fatalf("evidence = %+v", inc.Evidence)
	}
	if inc.Status != incident.StatusResolved || inc.Reason != "Every alert of this incident has resolved." {
		t.Errorf("an anomaly kept the incident from resolving with its alerts: %s (%s)", inc.Status, inc.Reason)
	}
	if !strings.Contains(f.thread.text(), "E2 · metric anomaly: disk usage 4.1 robust z above its baseline") {
		t.Errorf("thread:\n%s", f.thread.text())
	}
	if n := countOf(f.auditActions(t), "evidence.added"); n != 1 {
		t.Errorf("evidence.added recorded %d times, want once", n)
	}
}

func TestPredictionOpensIncidentThatStaysUntilResolved(t *testing.T) {
	f := newFixture(t)
	f.signal(0, f.signals(t, anomaly("pred-1", "db", incident.KindPredicted, true)))
	var resolve decideAnswer
	f.act(3*time.Hour, contract.ActResolve, contract.ActRequest{Actor: actor("alice"), Text: "grew the volume"}, &resolve)
	inc := f.run(t)
	if len(inc.Alerts) != 0 || len(inc.Evidence) != 1 || !slices.Equal(inc.Services, []string{"db"}) {
		t.Fatalf("incident = %+v", inc)
	}
	if inc.ResolvedAt.Sub(inc.DetectedAt) < 3*time.Hour || inc.Reason != "Resolved by alice: grew the volume" {
		t.Errorf("resolved %s after detection (%s); it must stay open until someone resolves it", inc.ResolvedAt.Sub(inc.DetectedAt), inc.Reason)
	}
	if len(inc.Candidates) == 0 {
		t.Error("a signal-opened incident was not analysed")
	}
}
