package signals

import (
	"context"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/analyzers/forecast"
	"github.com/vigilops/vigil/incident"
)

// diskFree falls by 1 MB a minute from 1 GB with a little noise for n
// minutes, then is freed back to 1 GB and stays there for m more.
func diskFree(n, m int) []Sample {
	r := rand.New(rand.NewPCG(3, 3))
	labels := map[string]string{"instance": "db-1", "mountpoint": "/var"}
	out := make([]Sample, 0, n+m)
	for i := range n + m {
		v := 1e9 - float64(i)*1e6 + r.NormFloat64()*1e4
		if i >= n {
			v = 1e9 + r.NormFloat64()*1e4
		}
		out = append(out, Sample{Metric: "node_filesystem_avail_bytes", Labels: labels, Time: t0.Add(time.Duration(i) * time.Minute), Value: v})
	}
	return out
}

func TestForecastPredictedEvents(t *testing.T) {
	rule := ForecastRule{
		Match:     map[string]string{"__name__": "node_filesystem_avail_bytes", "mountpoint": "/var"},
		Threshold: 5e7, Horizon: 6 * time.Hour,
		Summary: "disk {{.mountpoint}} on {{.instance}} fills",
		Labels:  map[string]string{"alertname": "DiskWillFill"},
	}
	tests := []struct {
		name       string
		rule       ForecastRule
		wantFiring bool
	}{
		{name: "falling to the threshold", rule: rule, wantFiring: true},
		{name: "rule for a rising series", rule: func() ForecastRule { r := rule; r.Rising = true; return r }()},
		{name: "rule for other series", rule: func() ForecastRule { r := rule; r.Match = map[string]string{"mountpoint": "/home"}; return r }()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &fakeSink{}
			m := newMetrics(t, MetricsConfig{Forecasts: []ForecastRule{tt.rule}}, sink)
			samples := diskFree(900, 1500)
			now := samples[len(samples)-1].Time
			for i := 0; i < len(samples); i += 60 {
				if _, err := m.Observe(samples[i:min(i+60, len(samples))], now); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := m.Flush(context.Background(), now); err != nil {
				t.Fatal(err)
			}
			var got []incident.Event
			for _, ev := range sink.stored() {
				if ev.Kind == incident.KindPredicted {
					got = append(got, ev)
				}
			}
			if !tt.wantFiring {
				if len(got) != 0 {
					t.Fatalf("got %d predicted events, want none: %+v", len(got), got)
				}
				return
			}
			if len(got) != 2 {
				t.Fatalf("got %d predicted events, want firing then resolved: %+v", len(got), got)
			}
			fire, res := got[0], got[1]
			if fire.Status != incident.AlertFiring || res.Status != incident.AlertResolved {
				t.Fatalf("statuses %s, %s", fire.Status, res.Status)
			}
			// The disk reaches 50 MB at minute 950; with a 6h horizon the
			// prediction starts a little before minute 590.
			at := fire.StartsAt.Sub(t0)
			if at < 560*time.Minute || at > 600*time.Minute {
				t.Errorf("prediction started at minute %v, want about 590", at.Minutes())
			}
			if ok, _ := regexp.MatchString(`^disk /var on db-1 fills in ~[56]h(\d+m)?( ± \d+[smh])?$`, fire.Summary); !ok {
				t.Errorf("summary %q", fire.Summary)
			}
			if fire.Value <= 0 || fire.Value > 0.1 || res.Value != 0 {
				t.Errorf("values %v, %v: want a low urgency when the band first reaches the horizon, 0 once it no longer does", fire.Value, res.Value)
			}
			crosses, err := time.Parse(time.RFC3339, fire.Annotations["crosses_at"])
			if err != nil || crosses.Sub(t0.Add(950*time.Minute)).Abs() > 10*time.Minute {
				t.Errorf("crosses_at %q, want about minute 950", fire.Annotations["crosses_at"])
			}
			if fire.Labels["alertname"] != "DiskWillFill" || fire.Labels["__name__"] != "node_filesystem_avail_bytes" || fire.Labels["instance"] != "db-1" {
				t.Errorf("labels %v", fire.Labels)
			}
			if fire.Fingerprint != res.Fingerprint || !res.StartsAt.After(fire.StartsAt) || res.Annotations["predicted_since"] != fire.StartsAt.Format(time.RFC3339) {
				t.Errorf("the resolve must carry the firing's fingerprint, start later and name when the prediction started: %s/%s %s/%s %v",
					fire.Fingerprint, res.Fingerprint, fire.StartsAt, res.StartsAt, res.Annotations)
			}
			if !strings.HasSuffix(res.Summary, "no longer forecast within 6h") {
				t.Errorf("resolved summary %q", res.Summary)
			}
			if s := fire.Series; s == nil || len(s.Times) != maxForecastSeries {
				t.Errorf("series window has %d points, want the history (at most %d)", len(s.Times), maxForecastSeries)
			}
		})
	}
}

func TestForecastSummaryFallsBack(t *testing.T) {
	r, err := compileRule(ForecastRule{Threshold: 0.9, Rising: true, Horizon: time.Hour, Summary: "{{.nope}} fills"})
	if err != nil {
		t.Fatal(err)
	}
	s := &series{key: `mem{host="a"}`, metric: "mem", labels: map[string]string{"host": "a"}}
	if got, want := r.what(s), `mem{host="a"} reaches 0.9`; got != want {
		t.Errorf("what = %q, want %q (missing label falls back to the default)", got, want)
	}
	for _, bad := range []ForecastRule{{Horizon: 0}, {Horizon: time.Hour, Summary: "{{"}} {
		if _, err := compileRule(bad); err == nil {
			t.Errorf("compileRule(%+v) succeeded", bad)
		}
	}
}

func TestDescribeETA(t *testing.T) {
	h := time.Hour
	tests := []struct {
		r    forecast.Result
		want string
	}{
		{forecast.Result{ETA: 3*h + 10*time.Minute, Early: 2*h + 30*time.Minute, Late: 3*h + 50*time.Minute}, "in ~3h10m ± 40m"},
		{forecast.Result{ETA: 45 * time.Second, Early: 30 * time.Second, Late: time.Minute}, "in ~45s ± 15s"},
		{forecast.Result{ETA: 6 * h, Early: 6*h - time.Second, Late: 6*h + time.Second}, "in ~6h"},
		{forecast.Result{ETA: 3 * h, Early: 2 * h, Late: forecast.Beyond}, "in ~3h, as soon as 2h"},
		{forecast.Result{ETA: forecast.Beyond, Early: 50 * h, Late: forecast.Beyond}, "possibly in 2d2h (early edge of the 95% band; the central forecast is beyond the horizon)"},
	}
	for _, tt := range tests {
		if got := describeETA(tt.r); got != tt.want {
			t.Errorf("describeETA(%+v) = %q, want %q", tt.r, got, tt.want)
		}
	}
}
