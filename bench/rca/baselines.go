package main

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/vigilops/vigil/analyzers/rca"
)

// The two published baselines, as their papers define them: every series is
// scaled by statistics of the normal period, a component scores the largest
// scaled value any of its series reaches in the incident window, and
// components rank by score. Both ignore the call graph.
//
//   - N-Sigma: (x − mean) / standard deviation of the baseline.
//   - BARO (Pham et al., FSE 2024): robust scaling, (x − median) / IQR of the
//     baseline.
//
// Scores are signed: a series counts when it rose, as in BARO's ranking.

// nSigma ranks with mean and standard deviation.
func nSigma(in rca.Input) []string {
	return rankScaled(in, func(b []float64) (float64, float64) {
		m := mean(b)
		var ss float64
		for _, v := range b {
			ss += (v - m) * (v - m)
		}
		return m, math.Sqrt(ss / float64(len(b)))
	})
}

// baro ranks with median and interquartile range.
func baro(in rca.Input) []string {
	return rankScaled(in, func(b []float64) (float64, float64) {
		s := slices.Clone(b)
		slices.Sort(s)
		return quantile(s, 0.5), quantile(s, 0.75) - quantile(s, 0.25)
	})
}

// scaleEpsilon stands in for a zero spread, so a constant baseline does not
// divide by zero.
const scaleEpsilon = 1e-9

func rankScaled(in rca.Input, stats func([]float64) (center, scale float64)) []string {
	base := map[[2]string][]float64{}
	for _, s := range in.Baseline {
		k := [2]string{s.Component, s.Metric}
		base[k] = append(base[k], finiteValues(s.Values)...)
	}
	score := map[string]float64{}
	for _, s := range in.Series {
		b := base[[2]string{s.Component, s.Metric}]
		if len(b) == 0 {
			continue
		}
		c, sc := stats(b)
		sc = max(sc, scaleEpsilon)
		best, ok := score[s.Component]
		if !ok {
			best = math.Inf(-1)
		}
		for _, v := range finiteValues(s.Values) {
			best = max(best, (v-c)/sc)
		}
		score[s.Component] = best
	}
	names := make([]string, 0, len(score))
	for n := range score {
		names = append(names, n)
	}
	slices.SortFunc(names, func(x, y string) int {
		return cmp.Or(cmp.Compare(score[y], score[x]), strings.Compare(x, y))
	})
	return names
}

func finiteValues(vs []float64) []float64 {
	out := make([]float64, 0, len(vs))
	for _, v := range vs {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			out = append(out, v)
		}
	}
	return out
}

func mean(vs []float64) float64 {
	var s float64
	for _, v := range vs {
		s += v
	}
	return s / float64(len(vs))
}

// quantile of sorted values, interpolating linearly between order
// statistics (numpy's default).
func quantile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(sorted)-1)
	return sorted[lo] + (pos-float64(lo))*(sorted[hi]-sorted[lo])
}
