package rca

import (
	"slices"
	"strings"
	"testing"
)

// noisy is n samples around level with a deterministic wobble of ±2%
// that, unlike flat's, does not repeat every three samples, so that two
// noisy series correlate no more than chance.
func noisy(level float64, n, seed int) []float64 {
	vs := make([]float64, n)
	x := uint32(seed*7919 + 17)
	for i := range vs {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		vs[i] = level * (1 + 0.02*(float64(x%1000)/500-1))
	}
	return vs
}

// shifted is noisy(level, n, seed) with every sample from `from` on
// multiplied by factor.
func shifted(level float64, n, seed, from int, factor float64) []float64 {
	vs := noisy(level, n, seed)
	for i := from; i < n; i++ {
		vs[i] *= factor
	}
	return vs
}

// shopIncident is a front end calling a service that calls a datastore.
// The service's cpu is hogged from sample lead on, which slows it and the
// front end; the datastore's memory grew by driftFactor since the baseline,
// in every sample of the window. No onset is given, as with
// `vigil rca --baseline`.
func shopIncident(lead int, driftFactor float64) Input {
	const n = 40
	base := func(c, m string, level float64, seed int) Series {
		return series(c, m, noisy(level, 200, seed)...)
	}
	return Input{
		Series: []Series{
			series("front", "latency", shifted(100, n, 1, lead, 1.6)...),
			series("front", "cpu", noisy(0.5, n, 2)...),
			series("svc", "latency", shifted(40, n, 3, lead, 2.5)...),
			series("svc", "cpu", shifted(0.2, n, 4, lead, 6)...),
			series("db", "mem", shifted(1000, n, 5, 0, driftFactor)...),
			series("db", "cpu", noisy(0.1, n, 6)...),
		},
		Baseline: []Series{
			base("front", "latency", 100, 11), base("front", "cpu", 0.5, 12),
			base("svc", "latency", 40, 13), base("svc", "cpu", 0.2, 14),
			base("db", "mem", 1000, 15), base("db", "cpu", 0.1, 16),
		},
		Edges: [][2]string{{"front", "svc"}, {"svc", "db"}},
	}
}

func TestRankDriftIsNotTheCause(t *testing.T) {
	tests := []struct {
		name  string
		lead  int     // normal samples before the fault
		drift float64 // the datastore's memory against its baseline
		edges bool
	}{
		// The drift is far beyond normal, as large in z as the fault.
		{"window starts at the fault", 0, 1.3, false},
		{"window starts at the fault, with the graph", 0, 1.3, true},
		{"window leads in", 15, 1.3, false},
		{"window leads in, with the graph", 15, 1.3, true},
		// The drift moved more, in z, than the hogged cpu: only the lead-in
		// shows that it predates the incident.
		{"larger drift, window leads in", 15, 3, false},
		{"larger drift, window leads in, with the graph", 15, 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := shopIncident(tt.lead, tt.drift)
			if !tt.edges {
				in.Edges = nil
			}
			got := Rank(in, DefaultConfig())
			if got[0].Component != "svc" {
				t.Fatalf("ranking = %s, want svc first", describe(got))
			}
			if tt.lead > 0 {
				if v := factor(find(got, "db"), FactorAnomaly).Value; v != 0 {
					t.Errorf("db anomaly = %v; memory that drifted before the lead-in is no anomaly", v)
				}
			}
			if g := factor(find(got, "db"), FactorGraph); tt.edges && len(g.Evidence) > 0 && g.Value >= factor(got[0], FactorGraph).Value {
				t.Errorf("db graph factor %+v; its memory explains no caller", g)
			}
		})
	}
}

func TestRankLargeAnomaliesDoNotTie(t *testing.T) {
	// Both far beyond any saturation point; the names put the weaker
	// first, so only the evidence can order them.
	const n = 20
	in := Input{
		Series: []Series{
			series("aaa", "cpu", shifted(1, n, 1, 0, 200)...),
			series("zzz", "cpu", shifted(1, n, 2, 0, 2000)...),
		},
		Baseline: []Series{
			series("aaa", "cpu", noisy(1, 100, 3)...),
			series("zzz", "cpu", noisy(1, 100, 4)...),
		},
	}
	got := Rank(in, DefaultConfig())
	if got[0].Component != "zzz" {
		t.Fatalf("ranking = %s, want zzz (the larger anomaly) first", describe(got))
	}
	a, z := factor(find(got, "aaa"), FactorAnomaly).Value, factor(got[0], FactorAnomaly).Value
	if !(a < z && z < 1) {
		t.Errorf("anomaly factors aaa %v, zzz %v; want aaa < zzz < 1", a, z)
	}
	if got[0].PeakZ <= got[1].PeakZ {
		t.Errorf("PeakZ zzz %v <= aaa %v", got[0].PeakZ, got[1].PeakZ)
	}
}

func TestRankCountsRisesWithoutSymptom(t *testing.T) {
	// A load that collapsed (users gave up waiting) is a victim; the cpu
	// that rose, less in z, is the fault.
	const n = 20
	in := Input{
		Series: []Series{
			series("aaa", "load", shifted(100, n, 1, 0, 0.05)...),
			series("zzz", "cpu", shifted(1, n, 2, 0, 1.5)...),
		},
		Baseline: []Series{
			series("aaa", "load", noisy(100, 100, 3)...),
			series("zzz", "cpu", noisy(1, 100, 4)...),
		},
	}
	got := Rank(in, DefaultConfig())
	if got[0].Component != "zzz" || got[1].Score != 0 {
		t.Fatalf("ranking = %s, want zzz first and the fallen load not anomalous", describe(got))
	}
}

func TestEstimateOnset(t *testing.T) {
	const n = 30
	baseline := []Series{
		series("a", "latency", noisy(10, 100, 1)...),
		series("b", "latency", noisy(10, 100, 2)...),
		series("c", "latency", noisy(10, 100, 3)...),
	}
	tests := []struct {
		name   string
		series []Series
		want   int64
	}{
		{"two series step together", []Series{
			series("a", "latency", shifted(10, n, 4, 12, 3)...),
			series("b", "latency", shifted(10, n, 5, 13, 3)...),
			series("c", "latency", noisy(10, n, 6)...),
		}, at(12)},
		{"one step alone dates nothing", []Series{
			series("a", "latency", shifted(10, n, 4, 12, 3)...),
			series("b", "latency", noisy(10, n, 5)...),
		}, 0},
		{"steps far apart date nothing", []Series{
			series("a", "latency", shifted(10, n, 4, 5, 3)...),
			series("b", "latency", shifted(10, n, 5, 20, 3)...),
		}, 0},
		{"anomalous from the first sample is no step", []Series{
			series("a", "latency", shifted(10, n, 4, 0, 3)...),
			series("b", "latency", shifted(10, n, 5, 0, 3)...),
		}, 0},
		{"a lone spike is no step", []Series{
			series("a", "latency", shifted(10, n, 4, 12, 3)...),
			series("b", "latency", func() []float64 { vs := noisy(10, n, 5); vs[12] = 60; return vs }()...),
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{Series: tt.series, Baseline: baseline}
			if got := estimateOnset(in, DefaultConfig()); got != tt.want {
				t.Errorf("estimateOnset = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestExplanationNeedsTheSameMetric(t *testing.T) {
	// The datastore's memory steps up in the very sample the service's cpu
	// does: they correlate perfectly, but memory in a callee does not make
	// a caller's cpu or latency rise.
	in := shopIncident(15, 1.3)
	in.Series[4] = series("db", "mem", shifted(1000, 40, 5, 15, 1.3)...)
	got := Rank(in, DefaultConfig())
	if got[0].Component != "svc" {
		t.Fatalf("ranking = %s, want svc first", describe(got))
	}
	svc, db, front := factor(got[0], FactorGraph), factor(find(got, "db"), FactorGraph), factor(find(got, "front"), FactorGraph)
	if svc.Value != 1 || db.Value >= svc.Value/2 {
		t.Errorf("graph factors svc %v, db %v; want 1 and at most half: svc explains the front end, db explains nobody", svc.Value, db.Value)
	}
	if front.Value > 0.1 {
		t.Errorf("front graph factor = %v, want near 0: svc explains it", front.Value)
	}
}

func TestExplain(t *testing.T) {
	tests := []struct {
		name    string
		ranking []Candidate
		want    []string
	}{
		{"empty", nil, []string{"no candidates"}},
		{"nothing anomalous", []Candidate{{Component: "a"}, {Component: "b"}}, []string{"nothing is anomalous"}},
		{"factors apart", Rank(shopIncident(15, 1.3), DefaultConfig()), []string{"svc ranks above", "graph +", "(front)", "anomaly +"}},
		{"tie broken by z", []Candidate{
			{Component: "zzz", Score: 0.5, PeakZ: 900},
			{Component: "aaa", Score: 0.5, PeakZ: 90},
		}, []string{"zzz ties aaa at 0.500", "stronger (z 900 vs 90)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Explain(tt.ranking)
			if strings.Contains(got, "\n") {
				t.Errorf("Explain = %q, want one line", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("Explain = %q, want it to contain %q", got, w)
				}
			}
		})
	}
}

func TestRankCorroboratedAnomalyLeads(t *testing.T) {
	// zzz's cpu and latency both rose, as a hogged cpu shows; aaa's memory
	// alone rose somewhat more, as drift or a stray series does.
	const n = 20
	in := Input{
		Series: []Series{
			series("aaa", "mem", shifted(100, n, 1, 0, 1.5)...),
			series("aaa", "cpu", noisy(1, n, 2)...),
			series("zzz", "cpu", shifted(1, n, 3, 0, 1.4)...),
			series("zzz", "latency", shifted(20, n, 4, 0, 1.4)...),
		},
		Baseline: []Series{
			series("aaa", "mem", noisy(100, 100, 5)...),
			series("aaa", "cpu", noisy(1, 100, 6)...),
			series("zzz", "cpu", noisy(1, 100, 7)...),
			series("zzz", "latency", noisy(20, 100, 8)...),
		},
	}
	got := Rank(in, DefaultConfig())
	if got[0].Component != "zzz" {
		t.Fatalf("ranking = %s, want zzz (two anomalous series) first", describe(got))
	}
	if got[0].PeakZ >= got[1].PeakZ {
		t.Fatalf("PeakZ zzz %v >= aaa %v: the case does not test corroboration", got[0].PeakZ, got[1].PeakZ)
	}
}

func TestRankUnobservedSharedDependency(t *testing.T) {
	// Three services share a datastore that exports cpu and memory only.
	// slow lists the services whose latency rose from sample 10 on.
	incident := func(slow ...string) Input {
		const n = 40
		var in Input
		for i, svc := range []string{"aaa", "bbb", "ccc"} {
			factor := 1.0
			if slices.Contains(slow, svc) {
				factor = 4
			}
			in.Series = append(in.Series,
				series(svc, "latency", shifted(20, n, i, 10, factor)...),
				series(svc, "cpu", noisy(0.3, n, 10+i)...))
			in.Baseline = append(in.Baseline,
				series(svc, "latency", noisy(20, 200, 20+i)...),
				series(svc, "cpu", noisy(0.3, 200, 30+i)...))
			in.Edges = append(in.Edges, [2]string{svc, "zdb"})
		}
		in.Series = append(in.Series, series("zdb", "cpu", noisy(0.1, n, 40)...), series("zdb", "mem", noisy(900, n, 41)...))
		in.Baseline = append(in.Baseline, series("zdb", "cpu", noisy(0.1, 200, 42)...), series("zdb", "mem", noisy(900, 200, 43)...))
		return in
	}
	tests := []struct {
		name string
		slow []string
		want string
	}{
		{"every caller slow", []string{"aaa", "bbb", "ccc"}, "zdb"},
		{"one caller slow", []string{"bbb"}, "bbb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Rank(incident(tt.slow...), DefaultConfig())
			if got[0].Component != tt.want {
				t.Fatalf("ranking = %s, want %s first", describe(got), tt.want)
			}
		})
	}
}
