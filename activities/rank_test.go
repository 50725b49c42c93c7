package activities

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/vigilops/vigil/incident"
)

// A slow database behind two services: the alerts fire on the callers first,
// but db's latency jumped, db was deployed just before, and the callers depend
// on it. The analyzer must put db first, and say why with evidence ids.
func TestRankCausesUsesTheAnalyzer(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	series := func(base, jump float64) *incident.Series {
		s := &incident.Series{Name: "latency_p99"}
		for i := range 60 {
			v := base + 0.01*float64(i%3)
			if i >= 40 {
				v = jump + 0.01*float64(i%3)
			}
			s.Times = append(s.Times, t0.Add(time.Duration(i-40)*time.Minute).Unix())
			s.Values = append(s.Values, v)
		}
		return s
	}
	alert := func(id, svc string, at time.Duration) (incident.Alert, incident.Evidence) {
		l := map[string]string{"service": svc, "severity": "critical", "alertname": "HighLatency"}
		return incident.Alert{EvidenceID: id, Status: incident.AlertFiring, StartsAt: t0.Add(at), Labels: l},
			incident.Evidence{ID: id, Kind: incident.KindAlert, Start: t0.Add(at), Data: l}
	}
	var inc incident.Incident
	for _, a := range []struct {
		id, svc string
		at      time.Duration
	}{{"E1", "web", time.Minute}, {"E2", "checkout", 2 * time.Minute}} {
		al, ev := alert(a.id, a.svc, a.at)
		inc.Alerts, inc.Evidence = append(inc.Alerts, al), append(inc.Evidence, ev)
	}
	inc.Evidence = append(inc.Evidence,
		incident.Evidence{ID: "E3", Kind: incident.KindMetricAnomaly, Start: t0, Value: 0.9, Data: map[string]string{"service": "db"}, Series: series(0.05, 0.9)},
		incident.Evidence{ID: "E4", Kind: incident.KindMetricAnomaly, Start: t0.Add(time.Minute), Value: 0.6, Data: map[string]string{"service": "web"}, Series: series(0.2, 0.5)},
		incident.Evidence{ID: "E5", Kind: incident.KindChange, Start: t0.Add(-4 * time.Minute), Summary: "deploy of db", Data: map[string]string{"service": "db"}},
	)
	a := &Activities{Dependencies: [][2]string{{"web", "checkout"}, {"checkout", "db"}}}
	cs, err := a.RankCauses(context.Background(), RankInput{Incident: inc})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) < 3 || cs[0].Component != "db" {
		t.Fatalf("ranking %+v, want db first", cs)
	}
	db := cs[0]
	cited := map[string]bool{}
	sum := 0.0
	weights := 0.0
	for _, f := range db.Factors {
		sum += f.Weight * f.Value
		weights += f.Weight
		for _, e := range f.Evidence {
			cited[e] = true
		}
	}
	if !cited["E3"] || !cited["E5"] {
		t.Errorf("db's factors cite %v, want the anomaly E3 and the change E5", cited)
	}
	if math.Abs(sum-db.Score) > 1e-6 || math.Abs(weights-1) > 1e-6 {
		t.Errorf("score %v vs factors %v, weights sum %v: the score must be the weighted sum, weights summing to 1", db.Score, sum, weights)
	}

	// Without series, changes or log anomalies, alerts alone decide.
	alertsOnly := incident.Incident{Alerts: inc.Alerts, Evidence: inc.Evidence[:2]}
	cs, _ = a.RankCauses(context.Background(), RankInput{Incident: alertsOnly})
	if len(cs) != 2 || cs[0].Component != "web" || cs[0].Factors[0].Name != "onset order" {
		t.Errorf("alerts-only ranking %+v", cs)
	}
}
