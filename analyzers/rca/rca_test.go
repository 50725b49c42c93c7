package rca

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// step is the sample interval of the synthetic incidents, in seconds.
const step = 60

// t0 is the first sample time of the synthetic incidents.
const t0 = 1_700_000_000

// series builds a series sampled every step seconds from t0.
func series(component, metric string, values ...float64) Series {
	times := make([]int64, len(values))
	for i := range values {
		times[i] = t0 + int64(i)*step
	}
	return Series{Component: component, Metric: metric, Times: times, Values: values}
}

// at is the time of sample i.
func at(i int) int64 { return t0 + int64(i)*step }

// flat is a quiet series of n samples around level, with a small
// deterministic wobble so that it has a spread.
func flat(level float64, n int) []float64 {
	vs := make([]float64, n)
	for i := range vs {
		vs[i] = level * (1 + 0.01*float64(i%3-1))
	}
	return vs
}

// spike is flat(level, n) with the samples from i on multiplied by factor.
func spike(level float64, n, from int, factor float64) []float64 {
	vs := flat(level, n)
	for i := from; i < n; i++ {
		vs[i] *= factor
	}
	return vs
}

// threeTier is frontend → api → {db, cache}: the db goes slow at sample 4
// and the slowness shows in api and frontend; the cache is fine.
func threeTier() Input {
	const n = 8
	return Input{
		Series: []Series{
			series("frontend", "latency", spike(100, n, 4, 1.8)...),
			series("api", "latency", spike(50, n, 4, 2.5)...),
			series("db", "latency", spike(10, n, 4, 6)...),
			series("cache", "latency", flat(1, n)...),
		},
		Baseline: []Series{
			series("frontend", "latency", flat(100, 30)...),
			series("api", "latency", flat(50, 30)...),
			series("db", "latency", flat(10, 30)...),
			series("cache", "latency", flat(1, 30)...),
		},
		Onset:  at(4),
		Edges:  [][2]string{{"frontend", "api"}, {"api", "db"}, {"api", "cache"}},
		Target: Symptom{Component: "frontend", Metric: "latency"},
	}
}

func components(cs []Candidate) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Component
	}
	return out
}

func factor(c Candidate, name string) Factor {
	for _, f := range c.Factors {
		if f.Name == name {
			return f
		}
	}
	return Factor{}
}

func find(cs []Candidate, component string) Candidate {
	for _, c := range cs {
		if c.Component == component {
			return c
		}
	}
	return Candidate{}
}

func TestRank(t *testing.T) {
	tests := []struct {
		name  string
		input func() Input
		top   string
		check func(t *testing.T, got []Candidate)
	}{
		{
			name:  "slow callee outranks the callers it slows down",
			input: threeTier,
			top:   "db",
			check: func(t *testing.T, got []Candidate) {
				if g := factor(got[0], FactorGraph); g.Value != 1 || !slices.Equal(g.Evidence, []string{"api"}) {
					t.Errorf("db graph factor = %+v, want value 1 explaining api", g)
				}
				if a := factor(got[0], FactorAnomaly); len(a.Evidence) == 0 || a.Evidence[0] != "db/latency" {
					t.Errorf("db anomaly evidence = %v, want db/latency first", a.Evidence)
				}
				if c := find(got, "cache"); c.Score != 0 {
					t.Errorf("healthy cache scored %v, want 0", c.Score)
				}
			},
		},
		{
			name: "slow callee outranks callers that amplified its slowness",
			input: func() Input {
				in := threeTier()
				in.Series[0] = series("frontend", "latency", spike(100, 8, 4, 9)...)
				in.Series[1] = series("api", "latency", spike(50, 8, 4, 12)...)
				in.Series[2] = series("db", "latency", spike(10, 8, 4, 1.5)...)
				return in
			},
			top: "db",
			check: func(t *testing.T, got []Candidate) {
				db, api := factor(got[0], FactorAnomaly), factor(find(got, "api"), FactorAnomaly)
				if db.Value >= api.Value {
					t.Errorf("anomaly db %v >= api %v; the case needs the callee to move less", db.Value, api.Value)
				}
			},
		},
		{
			name: "symptom is the cause when its dependencies are healthy",
			input: func() Input {
				in := threeTier()
				in.Series[1] = series("api", "latency", flat(50, 8)...)
				in.Series[2] = series("db", "latency", flat(10, 8)...)
				return in
			},
			top: "frontend",
		},
		{
			name: "recent change on one of two equally slow callees decides",
			input: func() Input {
				in := threeTier()
				in.Series[3] = series("cache", "latency", spike(1, 8, 4, 6)...)
				in.Changes = []Change{
					{ID: "deploy-7", Component: "cache", Time: at(4) - 300, Summary: "cache v2"},
					{ID: "deploy-1", Component: "db", Time: at(4) - 3*86400, Summary: "too old to matter"},
				}
				return in
			},
			top: "cache",
			check: func(t *testing.T, got []Candidate) {
				ch := factor(got[0], FactorChange)
				if ch.Value <= 0.9 || !slices.Equal(ch.Evidence, []string{"deploy-7"}) {
					t.Errorf("cache change factor = %+v, want > 0.9 citing deploy-7", ch)
				}
				if v := factor(find(got, "db"), FactorChange).Value; v != 0 {
					t.Errorf("db change factor = %v for a change outside the window, want 0", v)
				}
			},
		},
		{
			name: "change well after the onset does not count",
			input: func() Input {
				in := threeTier()
				in.Changes = []Change{{ID: "rollback", Component: "cache", Time: at(4) + 3600}}
				return in
			},
			top: "db",
			check: func(t *testing.T, got []Candidate) {
				if v := factor(find(got, "cache"), FactorChange).Value; v != 0 {
					t.Errorf("cache change factor = %v, want 0", v)
				}
			},
		},
		{
			name: "log novelty boosts an otherwise equal candidate",
			input: func() Input {
				in := threeTier()
				in.Series[3] = series("cache", "latency", spike(1, 8, 4, 6)...)
				in.Logs = []LogSignal{{Component: "cache", Novelty: 0.8, ID: "tmpl-42"}}
				return in
			},
			top: "cache",
			check: func(t *testing.T, got []Candidate) {
				if l := factor(got[0], FactorLogs); l.Value != 0.8 || !slices.Equal(l.Evidence, []string{"tmpl-42"}) {
					t.Errorf("cache logs factor = %+v, want 0.8 citing tmpl-42", l)
				}
			},
		},
		{
			name: "callee that got faster does not explain a slower caller",
			input: func() Input {
				in := threeTier()
				in.Series[2] = series("db", "latency", flat(10, 8)...)
				in.Series[3] = series("cache", "latency", spike(1, 8, 4, 0.1)...)
				return in
			},
			top: "api",
			check: func(t *testing.T, got []Candidate) {
				if c := find(got, "cache"); c.Score != 0 {
					t.Errorf("cache scored %v for getting faster, want 0", c.Score)
				}
			},
		},
		{
			name: "anomaly the symptom does not depend on gets no graph credit",
			input: func() Input {
				in := threeTier()
				in.Series = append(in.Series, series("batch", "latency", spike(5, 8, 4, 20)...))
				in.Edges = append(in.Edges, [2]string{"scheduler", "batch"})
				return in
			},
			top: "db",
			check: func(t *testing.T, got []Candidate) {
				if g := factor(find(got, "batch"), FactorGraph).Value; g != 0 {
					t.Errorf("batch graph factor = %v, want 0", g)
				}
			},
		},
		{
			name: "callee that moved with the symptom beats one that did not",
			input: func() Input {
				in := threeTier()
				// The cache is as anomalous as the db but flaps out of step
				// with the frontend.
				in.Series[3] = series("cache", "latency", 1, 1, 1, 1, 6, 1, 6, 1)
				in.Series[2] = series("db", "latency", 10, 10, 10, 10, 60, 60, 60, 60)
				return in
			},
			top: "db",
		},
		{
			name: "drift that predates the incident is not an anomaly",
			input: func() Input {
				in := threeTier()
				// The cache ran at 5x its baseline before and during the
				// incident, wobbling as much as it drifted.
				in.Series[3] = series("cache", "latency", 5, 5, 5, 5, 7, 3, 7, 3)
				return in
			},
			top: "db",
			check: func(t *testing.T, got []Candidate) {
				if v := factor(find(got, "cache"), FactorAnomaly).Value; v != 0 {
					t.Errorf("drifting cache anomaly = %v, want 0", v)
				}
			},
		},
		{
			name: "without a symptom every anomaly is a start",
			input: func() Input {
				in := threeTier()
				in.Target = Symptom{}
				return in
			},
			top: "db",
		},
		{
			name: "without an onset the baseline is the reference",
			input: func() Input {
				in := threeTier()
				in.Onset = 0
				for i := range in.Series {
					s := in.Series[i]
					in.Series[i] = series(s.Component, s.Metric, s.Values[4:]...)
				}
				return in
			},
			top: "db",
		},
		{
			name: "earlier onset wins between equally anomalous components",
			input: func() Input {
				in := threeTier()
				in.Series = []Series{in.Series[2], series("cache", "latency", spike(1, 8, 5, 6)...)}
				in.Target = Symptom{}
				return in
			},
			top: "db",
			check: func(t *testing.T, got []Candidate) {
				db, cache := factor(got[0], FactorOnset), factor(find(got, "cache"), FactorOnset)
				if db.Value != 1 || cache.Value >= 1 {
					t.Errorf("onset factors db %v, cache %v; want 1 and less", db.Value, cache.Value)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Rank(tt.input(), DefaultConfig())
			if len(got) == 0 || got[0].Component != tt.top {
				t.Fatalf("ranking = %v, want %s first", describe(got), tt.top)
			}
			if tt.check != nil {
				tt.check(t, got)
			}
		})
	}
}

func describe(cs []Candidate) string {
	var s string
	for _, c := range cs {
		s += fmt.Sprintf("%s=%.3f ", c.Component, c.Score)
	}
	return s
}

func TestRankFactorsExplainScore(t *testing.T) {
	in := threeTier()
	in.Changes = []Change{{ID: "c1", Component: "api", Time: at(3)}}
	in.Logs = []LogSignal{{Component: "db", Novelty: 0.5, ID: "l1"}}
	cfg := DefaultConfig()
	names := []string{FactorAnomaly, FactorOnset, FactorGraph, FactorChange, FactorLogs}
	for _, c := range Rank(in, cfg) {
		var sum float64
		var got []string
		for _, f := range c.Factors {
			got = append(got, f.Name)
			if f.Value < 0 || f.Value > 1 {
				t.Errorf("%s %s value %v outside [0, 1]", c.Component, f.Name, f.Value)
			}
			if f.Value == 0 && len(f.Evidence) > 0 {
				t.Errorf("%s %s has evidence %v but no value", c.Component, f.Name, f.Evidence)
			}
			sum += f.Contribution()
		}
		if !slices.Equal(got, names) {
			t.Errorf("%s factors = %v, want %v", c.Component, got, names)
		}
		if math.Abs(sum-c.Score) > scoreResolution {
			t.Errorf("%s score %v != sum of contributions %v", c.Component, c.Score, sum)
		}
	}
}

// Symmetric callees with identical evidence are the one case names decide.
func TestRankIdenticalEvidenceFallsBackToName(t *testing.T) {
	const n = 8
	in := Input{
		Series: []Series{
			series("gw", "errors", spike(1, n, 4, 9)...),
			series("zeta", "errors", spike(1, n, 4, 9)...),
			series("alpha", "errors", spike(1, n, 4, 9)...),
			series("mid", "errors", spike(1, n, 4, 9)...),
		},
		Onset:  at(4),
		Edges:  [][2]string{{"gw", "zeta"}, {"gw", "alpha"}, {"gw", "mid"}},
		Target: Symptom{Component: "gw", Metric: "errors"},
	}
	got := Rank(in, DefaultConfig())
	if want := []string{"alpha", "mid", "zeta", "gw"}; !slices.Equal(components(got), want) {
		t.Fatalf("ranking = %s, want %v", describe(got), want)
	}
	if got[0].Score != got[2].Score {
		t.Errorf("symmetric callees scored %v and %v", got[0].Score, got[2].Score)
	}
}

func TestRankIgnoresInputOrder(t *testing.T) {
	in := threeTier()
	in.Changes = []Change{{ID: "a", Component: "db", Time: at(3)}, {ID: "b", Component: "db", Time: at(3)}}
	want := Rank(in, DefaultConfig())
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		shuffled := in
		shuffled.Series = slices.Clone(in.Series)
		shuffled.Baseline = slices.Clone(in.Baseline)
		shuffled.Edges = slices.Clone(in.Edges)
		shuffled.Changes = slices.Clone(in.Changes)
		rng.Shuffle(len(shuffled.Series), reflect.Swapper(shuffled.Series))
		rng.Shuffle(len(shuffled.Baseline), reflect.Swapper(shuffled.Baseline))
		rng.Shuffle(len(shuffled.Edges), reflect.Swapper(shuffled.Edges))
		rng.Shuffle(len(shuffled.Changes), reflect.Swapper(shuffled.Changes))
		if got := Rank(shuffled, DefaultConfig()); !reflect.DeepEqual(got, want) {
			t.Fatalf("shuffled input ranked\n%s\nwant\n%s", describe(got), describe(want))
		}
	}
}

func TestRankDependencyCycle(t *testing.T) {
	in := threeTier()
	in.Edges = append(in.Edges, [2]string{"db", "api"}, [2]string{"db", "frontend"})
	first := Rank(in, DefaultConfig())
	if len(first) != 4 || first[0].Score == 0 {
		t.Fatalf("ranking = %s, want four candidates led by a non-zero score", describe(first))
	}
	if again := Rank(in, DefaultConfig()); !reflect.DeepEqual(again, first) {
		t.Errorf("second ranking %s differs from first %s", describe(again), describe(first))
	}
}

func TestRankNothingAnomalous(t *testing.T) {
	in := threeTier()
	for i := range in.Series {
		s := in.Series[i]
		in.Series[i] = series(s.Component, s.Metric, flat(s.Values[0], 8)...)
	}
	got := Rank(in, DefaultConfig())
	if want := []string{"api", "cache", "db", "frontend"}; !slices.Equal(components(got), want) {
		t.Errorf("ranking = %v, want %v by name", components(got), want)
	}
	for _, c := range got {
		if c.Score != 0 {
			t.Errorf("%s scored %v with nothing anomalous", c.Component, c.Score)
		}
	}
}

func TestIncidentStart(t *testing.T) {
	times := []int64{100, 200, 300, 400}
	tests := []struct {
		onset int64
		want  int
	}{
		{0, 0},   // unknown onset: every sample is the incident
		{50, 0},  // before the first sample
		{100, 0}, // at a sample
		{199, 0}, // inside the first interval
		{250, 1}, // inside the interval starting at 200
		{300, 2}, // at a sample
		{999, 3}, // after the last sample
	}
	for _, tt := range tests {
		if got := incidentStart(times, tt.onset); got != tt.want {
			t.Errorf("incidentStart(%d) = %d, want %d", tt.onset, got, tt.want)
		}
	}
}

func TestMedianAndMAD(t *testing.T) {
	tests := []struct {
		in        []float64
		med, madv float64
	}{
		{[]float64{3, 1, 2}, 2, 1},
		{[]float64{4, 1, 3, 2}, 2.5, 1},
		{[]float64{5, 5, 5, 100}, 5, 0},
	}
	for _, tt := range tests {
		m := median(tt.in)
		if m != tt.med || mad(tt.in, m) != tt.madv {
			t.Errorf("median/mad(%v) = %v/%v, want %v/%v", tt.in, m, mad(tt.in, m), tt.med, tt.madv)
		}
	}
}
