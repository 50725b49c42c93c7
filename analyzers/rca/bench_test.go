package rca

import (
	"fmt"
	"math"
	"testing"
)

// benchInput is a 40-component system shaped like a web application: a
// layered call graph (each component calls two or three in the next layer),
// three metrics per component, 60 incident-window samples with the onset at
// sample 30, a 600-sample baseline, and one deep component going slow.
func benchInput() Input {
	const (
		nodes    = 40
		samples  = 60
		baseline = 600
	)
	name := func(i int) string { return fmt.Sprintf("svc-%02d", i) }
	var in Input
	for i := range nodes {
		for j := 1; j <= 3; j++ {
			if k := i*3 + j; k < nodes {
				in.Edges = append(in.Edges, [2]string{name(i), name(k)})
			}
		}
		if i+5 < nodes && i%4 == 0 {
			in.Edges = append(in.Edges, [2]string{name(i), name(i + 5)})
		}
	}
	wave := func(i, k int) float64 { return 1 + 0.05*math.Sin(float64(i*7+k)) }
	for i := range nodes {
		for _, metric := range []string{"latency", "errors", "requests"} {
			vs := make([]float64, samples)
			bs := make([]float64, baseline)
			for k := range vs {
				vs[k] = wave(i, k)
				if k >= samples/2 && metric == "latency" && (i == 31 || i == 10 || i == 3 || i == 0) {
					vs[k] *= 4 // svc-31 and the chain of callers above it
				}
			}
			for k := range bs {
				bs[k] = wave(i, k+samples)
			}
			s := series(name(i), metric, vs...)
			in.Series = append(in.Series, s)
			b := series(name(i), metric, bs...)
			in.Baseline = append(in.Baseline, b)
		}
	}
	in.Onset = at(samples / 2)
	in.Target = Symptom{Component: name(0), Metric: "latency"}
	in.Changes = []Change{{ID: "deploy-1", Component: name(31), Time: at(samples/2) - 120}}
	return in
}

func BenchmarkRank40(b *testing.B) {
	in := benchInput()
	cfg := DefaultConfig()
	if got := Rank(in, cfg); got[0].Component != "svc-31" {
		b.Fatalf("ranking = %s, want svc-31 first", describe(got[:3]))
	}
	b.ReportAllocs()
	for b.Loop() {
		Rank(in, cfg)
	}
}
