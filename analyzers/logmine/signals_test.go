package logmine

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCountTails(t *testing.T) {
	// Brute-force P(X >= x) from the probability mass functions.
	poisson := func(x int64, mu float64) float64 {
		cdf := 0.0
		for k := int64(0); k < x; k++ {
			lg, _ := math.Lgamma(float64(k + 1))
			cdf += math.Exp(float64(k)*math.Log(mu) - mu - lg)
		}
		return 1 - cdf
	}
	negBin := func(x int64, r, p float64) float64 {
		cdf := 0.0
		for k := int64(0); k < x; k++ {
			a, _ := math.Lgamma(float64(k) + r)
			b, _ := math.Lgamma(float64(k + 1))
			c, _ := math.Lgamma(r)
			cdf += math.Exp(a - b - c + r*math.Log(p) + float64(k)*math.Log1p(-p))
		}
		return 1 - cdf
	}
	tests := []struct {
		name string
		got  float64
		want float64
	}{
		{"poisson x=0", poissonTail(0, 3), 1},
		{"poisson x=1 mu=1", poissonTail(1, 1), 1 - math.Exp(-1)},
		{"poisson x=3 mu=1", poissonTail(3, 1), 1 - 2.5*math.Exp(-1)},
		{"poisson x=25 mu=10", poissonTail(25, 10), poisson(25, 10)},
		{"poisson x=5 mu=40", poissonTail(5, 40), poisson(5, 40)},
		{"negbin x=0", negBinomialTail(0, 2, 0.5), 1},
		{"negbin x=20 r=2 p=0.2", negBinomialTail(20, 2, 0.2), negBin(20, 2, 0.2)},
		{"negbin x=3 r=0.5 p=0.1", negBinomialTail(3, 0.5, 0.1), negBin(3, 0.5, 0.1)},
		{"negbin x=60 r=30 p=0.6", negBinomialTail(60, 30, 0.6), negBin(60, 30, 0.6)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if math.Abs(tt.got-tt.want) > 1e-9*math.Max(1, tt.want) && math.Abs(tt.got-tt.want)/tt.want > 1e-6 {
				t.Errorf("got %.12g, want %.12g", tt.got, tt.want)
			}
		})
	}
}

var t0 = time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)

// step is the traffic of one template in one interval.
type step struct {
	interval int
	id       TemplateID
	n        int
	level    string
}

// run feeds steps to a detector, spreading each step's lines over its
// interval, then closes the last interval and returns all signals.
func run(cfg DetectorConfig, steps []step) []Signal {
	steps = slices.Clone(steps)
	slices.SortStableFunc(steps, func(a, b step) int { return cmp.Compare(a.interval, b.interval) })
	d := NewDetector(cfg)
	var out []Signal
	last := 0
	for _, s := range steps {
		for i := range s.n {
			at := t0.Add(time.Duration(s.interval)*time.Minute + time.Duration(i)*time.Minute/time.Duration(s.n+1))
			out = append(out, d.Observe(Observation{
				Time: at, TemplateID: s.id, Template: fmt.Sprintf("template %d", s.id),
				Level: s.level, Line: fmt.Sprintf("line %d of template %d in interval %d password=hunter2", i, s.id, s.interval),
			})...)
		}
		last = max(last, s.interval)
	}
	return append(out, d.Advance(t0.Add(time.Duration(last+1)*time.Minute))...)
}

// steady returns intervals [from, to) of template id with counts cycling
// through counts.
func steady(from, to int, id TemplateID, level string, counts ...int) []step {
	var out []step
	for i := from; i < to; i++ {
		out = append(out, step{i, id, counts[i%len(counts)], level})
	}
	return out
}

func TestDetector(t *testing.T) {
	cfg := DetectorConfig{WarmUp: 30 * time.Minute}
	type want struct {
		kind     SignalKind
		interval int
		id       TemplateID
		count    int64
	}
	tests := []struct {
		name  string
		cfg   DetectorConfig
		steps []step
		want  []want
	}{
		{"steady traffic is quiet", cfg, steady(0, 120, 1, "INFO", 8, 10, 12, 10), nil},
		{"surge against the baseline", cfg,
			append(steady(0, 60, 1, "INFO", 8, 10, 12, 10), step{60, 1, 40, "INFO"}),
			[]want{{SignalRateSurge, 60, 1, 40}}},
		{"bursty traffic allows bursts", cfg,
			append(steady(0, 60, 1, "INFO", 0, 30), step{60, 1, 45, "INFO"}), nil},
		{"small counts do not surge", cfg,
			append(steady(0, 60, 1, "INFO", 0, 0, 0, 1), step{60, 1, 6, "INFO"}), nil},
		{"no surge before the baseline has history", cfg,
			append(steady(0, 10, 1, "INFO", 10), step{10, 1, 60, "INFO"}), nil},
		{"new template after warm-up", cfg,
			append(steady(0, 40, 1, "INFO", 10), step{40, 2, 3, "INFO"}),
			[]want{{SignalNewTemplate, 40, 2, 3}}},
		{"templates during warm-up are not new", cfg,
			append(steady(0, 40, 1, "INFO", 10), step{20, 2, 3, "INFO"}), nil},
		{"error burst", cfg,
			slices.Concat(steady(0, 60, 1, "INFO", 10), steady(0, 60, 3, "ERROR", 1, 2, 1, 0),
				steady(0, 60, 4, "E", 0, 1), []step{{60, 3, 25, "ERROR"}, {60, 4, 30, "E"}}),
			[]want{{SignalErrorBurst, 60, 4, 55}, {SignalRateSurge, 60, 3, 25}, {SignalRateSurge, 60, 4, 30}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := run(tt.cfg, tt.steps)
			if len(got) != len(tt.want) {
				t.Fatalf("signals = %+v, want %d", got, len(tt.want))
			}
			for i, w := range tt.want {
				g := got[i]
				start := t0.Add(time.Duration(w.interval) * time.Minute)
				if g.Kind != w.kind || g.TemplateID != w.id || g.Count != w.count || !g.Start.Equal(start) || !g.End.Equal(start.Add(time.Minute)) {
					t.Errorf("signal %d = %s template %d count %d at %v, want %s template %d count %d at %v",
						i, g.Kind, g.TemplateID, g.Count, g.Start, w.kind, w.id, w.count, start)
				}
				if g.Template != fmt.Sprintf("template %d", w.id) {
					t.Errorf("signal %d template = %q", i, g.Template)
				}
				if wantEx := min(int(w.count), maxExamples); len(g.Examples) != wantEx {
					t.Errorf("signal %d has %d examples, want %d", i, len(g.Examples), wantEx)
				}
				if g.Kind != SignalNewTemplate && (g.PValue >= 1e-6 || g.Baseline <= 0) {
					t.Errorf("signal %d p = %g baseline = %g", i, g.PValue, g.Baseline)
				}
			}
		})
	}
}

func TestDetectorRedactsExamples(t *testing.T) {
	cfg := DetectorConfig{WarmUp: time.Minute, Redact: func(s string) string {
		return strings.ReplaceAll(s, "hunter2", "[REDACTED]")
	}}
	got := run(cfg, append(steady(0, 5, 1, "INFO", 2), step{5, 2, 2, "INFO"}))
	if len(got) != 1 || len(got[0].Examples) != 2 {
		t.Fatalf("signals = %+v, want one new template with two examples", got)
	}
	for _, ex := range got[0].Examples {
		if strings.Contains(ex, "hunter2") || !strings.Contains(ex, "[REDACTED]") {
			t.Errorf("example %q not redacted", ex)
		}
	}
}

func TestDetectorQuietGap(t *testing.T) {
	d := NewDetector(DetectorConfig{WarmUp: time.Minute})
	d.Observe(Observation{Time: t0, TemplateID: 1, Line: "a"})
	if got := d.Advance(t0.Add(30 * time.Second)); got != nil {
		t.Errorf("Advance inside the interval = %+v, want nothing", got)
	}
	d.Advance(t0.Add(24 * time.Hour))
	// The template is known: after a day of silence it is not new.
	got := d.Observe(Observation{Time: t0.Add(24*time.Hour + time.Second), TemplateID: 1, Line: "b"})
	got = append(got, d.Advance(t0.Add(25*time.Hour))...)
	if len(got) != 0 {
		t.Errorf("signals = %+v, want none", got)
	}
	if d.current != t0.Add(25*time.Hour) {
		t.Errorf("current interval = %v, want %v", d.current, t0.Add(25*time.Hour))
	}
}

func TestDetectorForgetsLeastRecentlySeen(t *testing.T) {
	d := NewDetector(DetectorConfig{MaxTemplates: 2})
	for i, id := range []TemplateID{1, 2, 1, 3} {
		d.Observe(Observation{Time: t0.Add(time.Duration(i) * time.Second), TemplateID: id})
	}
	if _, ok := d.templates[2]; ok || len(d.templates) != 2 {
		t.Errorf("tracked %v, want templates 1 and 3", d.templates)
	}
}

func TestIsErrorLevel(t *testing.T) {
	for level, want := range map[string]bool{
		"ERROR": true, "error": true, "E": true, "Fatal": true, "crit": true, "SEVERE": true,
		"INFO": false, "W": false, "warning": false, "": false, "D": false,
	} {
		if got := IsErrorLevel(level); got != want {
			t.Errorf("IsErrorLevel(%q) = %v, want %v", level, got, want)
		}
	}
}

func TestBaselineAllowsForOverdispersion(t *testing.T) {
	var b baseline
	for i := range 60 {
		b.update(float64(30*(i%2)), 0.05)
	}
	// The same excess is extreme for a Poisson count with this mean but
	// ordinary for counts that swing as widely as these did.
	if p := poissonTail(45, b.mean); p >= 1e-6 {
		t.Fatalf("Poisson tail = %g, want the test case to be extreme under Poisson", p)
	}
	if p := b.tail(45); p < 1e-3 {
		t.Errorf("tail = %g, want an unremarkable probability", p)
	}
}
