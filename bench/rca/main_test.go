package main

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/vigilops/vigil/analyzers/rca"
)

func TestGenerateIsDeterministic(t *testing.T) {
	for topo := range topologies {
		a, b := generate(topo, 3, datasetSeed), generate(topo, 3, datasetSeed)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: two generations of case 3 differ", topo)
		}
		if c := generate(topo, 3, datasetSeed+1); reflect.DeepEqual(a.Input, c.Input) {
			t.Errorf("%s: another seed gave the same case", topo)
		}
	}
}

func TestGenerateShapesAnIncident(t *testing.T) {
	for topo := range topologies {
		c := generate(topo, 0, datasetSeed)
		comps := map[string]bool{}
		for _, s := range c.Input.Series {
			comps[s.Component] = true
		}
		if !comps[c.RootCause] || !comps[c.Symptom.Component] {
			t.Errorf("%s: root cause %q or symptom %q has no series", topo, c.RootCause, c.Symptom.Component)
		}
		for _, e := range c.Input.Edges {
			if !comps[e[0]] || !comps[e[1]] {
				t.Errorf("%s: edge %v names a component without series", topo, e)
			}
		}
		if len(c.Input.Baseline) != len(c.Input.Series) {
			t.Errorf("%s: %d baseline series for %d series", topo, len(c.Input.Baseline), len(c.Input.Series))
		}
		if c.Input.Onset != 0 || c.Input.Target != (rca.Symptom{}) {
			t.Errorf("%s: the input gives away the onset or the symptom", topo)
		}
	}
}

func TestDatasetSplitsAreDisjoint(t *testing.T) {
	parts := dataset(10, freshSeed)
	seen := map[string]string{}
	for _, p := range parts {
		for _, c := range p.cases {
			if prev, ok := seen[c.ID]; ok {
				t.Errorf("%s in %s and %s", c.ID, prev, p.name)
			}
			seen[c.ID] = p.name
		}
	}
	for id, part := range seen {
		topo := id[:strings.IndexByte(id, '/')]
		for _, h := range heldOutTopologies {
			if topo == h && part != splitHeldOut {
				t.Errorf("%s of a held-out topology is in %s", id, part)
			}
		}
	}
	if len(parts[0].cases) != 6*len(tuningTopologies) {
		t.Errorf("tuning has %d cases, want 6 per tuning topology", len(parts[0].cases))
	}
}

func TestBaselinesRankTheRiseFirst(t *testing.T) {
	s := func(c string, vs ...float64) rca.Series {
		ts := make([]int64, len(vs))
		for i := range ts {
			ts[i] = int64(i)
		}
		return rca.Series{Component: c, Metric: "cpu", Times: ts, Values: vs}
	}
	in := rca.Input{
		Series:   []rca.Series{s("a", 1, 1, 1), s("b", 5, 6, 5), s("c", -50, -50, -50)},
		Baseline: []rca.Series{s("a", 1, 2, 1, 2), s("b", 1, 2, 1, 2), s("c", 1, 2, 1, 2)},
	}
	for name, rank := range map[string]func(rca.Input) []string{"n-sigma": nSigma, "baro": baro} {
		if got := rank(in); !reflect.DeepEqual(got, []string{"b", "a", "c"}) {
			t.Errorf("%s = %v, want b (rose) first and c (fell) last", name, got)
		}
	}
}

func TestScores(t *testing.T) {
	rs := []result{{ranks: []int{1}}, {ranks: []int{3}}, {ranks: []int{0}}, {ranks: []int{6}}}
	if got := acAt(rs, 0, 1); got != 0.25 {
		t.Errorf("AC@1 = %v, want 0.25", got)
	}
	// AC@1..5 = 1/4, 1/4, 2/4, 2/4, 2/4.
	if got, want := avgAt5(rs, 0), (0.25+0.25+0.5+0.5+0.5)/5; got != want {
		t.Errorf("Avg@5 = %v, want %v", got, want)
	}
}

func TestRun(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run([]string{"--cases", "5"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	for _, w := range []string{"tuning: 12 incidents", "held-out: 18 incidents", "fresh: 30 incidents", "tuning-more: 600 incidents", "topology shop", "fault loss", "baro AC@1"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
	out.Reset()
	if code := run([]string{"--cases", "5", "--explain", "chain/001"}, &out, &errs); code != 0 || !strings.Contains(out.String(), "vigil+graph: ") {
		t.Errorf("--explain: exit %d, output %q", code, out.String())
	}
	if code := run([]string{"--misses", "nope"}, &out, &errs); code != 2 {
		t.Errorf("--misses nope: exit %d, want 2", code)
	}
}
