package signals

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/analyzers/anomaly"
)

func TestBackoffJudge(t *testing.T) {
	hour := time.Hour.Milliseconds()
	type ev struct {
		at    int64 // hours
		score float64
		// want
		held     bool
		level    float64
		heldBack int
	}
	tests := []struct {
		name   string
		budget Backoff
		events []ev
	}{
		{"within budget every event pages", Backoff{Events: 3, Window: 24 * time.Hour}, []ev{
			{0, 0.55, false, 0.5, 0}, {1, 0.55, false, 0.5, 0}, {2, 0.55, false, 0.5, 0},
		}},
		{"past the budget the bar doubles per event", Backoff{Events: 2, Window: 24 * time.Hour}, []ev{
			{0, 0.55, false, 0.5, 0}, {1, 0.55, false, 0.5, 0},
			{2, 0.6, true, anomaly.RaisedLevel(0.5, 1), 0},  // needs 0.67
			{3, 0.75, true, anomaly.RaisedLevel(0.5, 2), 0}, // needs 0.8
			{4, 0.95, false, anomaly.RaisedLevel(0.5, 3), 2},
		}},
		{"the bar falls as events age out", Backoff{Events: 1, Window: 24 * time.Hour}, []ev{
			{0, 0.55, false, 0.5, 0},
			{1, 0.6, true, anomaly.RaisedLevel(0.5, 1), 0},
			{30, 0.55, false, 0.5, 1}, // both older than a day
		}},
		{"the bar stops rising", Backoff{Events: 0, Window: 24 * time.Hour}, []ev{
			{0, 0.99, false, anomaly.RaisedLevel(0.5, 1), 0},
			{1, 0.1, true, anomaly.RaisedLevel(0.5, 2), 0},
			{2, 0.1, true, anomaly.RaisedLevel(0.5, 3), 0},
			{3, 0.1, true, anomaly.RaisedLevel(0.5, maxBackoffDoublings), 0},
			{5, 0.1, true, anomaly.RaisedLevel(0.5, maxBackoffDoublings), 0},
		}},
		{"off", Backoff{Events: -1}, []ev{
			{0, 0.5, false, 0.5, 0}, {0, 0.5, false, 0.5, 0}, {0, 0.5, false, 0.5, 0}, {0, 0.5, false, 0.5, 0},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			z := newNoise(tc.budget)
			for i, e := range tc.events {
				v := z.judge(e.at*hour, e.score, 0.5)
				if v.held != e.held || math.Abs(v.level-e.level) > 1e-12 || (!v.held && v.heldBack != e.heldBack) {
					t.Errorf("event %d (hour %d, score %v): %+v, want held %v at level %.3f after %d held back", i, e.at, e.score, v, e.held, e.level, e.heldBack)
				}
			}
		})
	}
}

// A series that spikes every two hours pages three times, then only for a
// spike far stronger than its habit, and that page explains the back-off.
func TestMetricsBackOffANoisySeries(t *testing.T) {
	samples := noisy("queue_depth", map[string]string{"service": "billing"}, t0, 2000, 100, 3)
	for i := 600; i < len(samples); i += 120 {
		samples[i].Value += 9
	}
	samples[1910].Value += 400 // after the hold of the regular spike at 1800
	run := func(b Backoff) []string {
		sink := &fakeSink{}
		m := newMetrics(t, MetricsConfig{Backoff: b}, sink)
		now := t0.Add(48 * time.Hour)
		if _, err := m.Observe(samples, now); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Flush(context.Background(), now); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range sink.stored() {
			out = append(out, e.Annotations["backoff"]+"|"+e.Summary)
		}
		return out
	}
	loud := run(Backoff{Events: -1})
	quiet := run(Backoff{})
	if len(loud) < 8 {
		t.Fatalf("without back-off %d events; the test wants a noisy series", len(loud))
	}
	if len(quiet) < 4 || len(quiet) >= len(loud) {
		t.Fatalf("with the default back-off %d events, without %d: want three plus the strong spike, fewer than without\n%q\n%q", len(quiet), len(loud), quiet, loud)
	}
	for i, e := range quiet {
		backed := !strings.HasPrefix(e, "|")
		if backed != (i >= 3) {
			t.Errorf("event %d: backoff annotation present %v, want %v: %s", i, backed, i >= 3, e)
		}
	}
	if last := quiet[len(quiet)-1]; !strings.Contains(last, "too noisy") || !strings.Contains(last, "noisy series:") {
		t.Errorf("the page let through does not explain the back-off: %s", last)
	}
}
