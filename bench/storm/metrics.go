package main

import (
	"math"
	"slices"
	"time"
)

// Pairwise scores a clustering of items against the truth. Precision is the
// share of pairs put in one cluster that belong together; recall the share of
// pairs that belong together that were put in one cluster; F1 their harmonic
// mean. Items missing from predicted count as clusters of their own; items
// missing from truth are ignored. With no pairs to find (or none found),
// recall (or precision) is 1.
func Pairwise(truth, predicted map[string]string) (precision, recall, f1 float64) {
	type cell struct{ t, p string }
	cells := map[cell]int{}
	byTruth := map[string]int{}
	byPred := map[string]int{}
	for item, t := range truth {
		p, ok := predicted[item]
		if !ok {
			p = "\x00unassigned:" + item
		}
		cells[cell{t, p}]++
		byTruth[t]++
		byPred[p]++
	}
	pairs := func(n int) float64 { return float64(n) * float64(n-1) / 2 }
	var tp, truePairs, predPairs float64
	for _, n := range cells {
		tp += pairs(n)
	}
	for _, n := range byTruth {
		truePairs += pairs(n)
	}
	for _, n := range byPred {
		predPairs += pairs(n)
	}
	precision, recall = 1, 1
	if predPairs > 0 {
		precision = tp / predPairs
	}
	if truePairs > 0 {
		recall = tp / truePairs
	}
	if precision+recall > 0 {
		f1 = 2 * precision * recall / (precision + recall)
	}
	return precision, recall, f1
}

// Percentile returns the nearest-rank q-quantile (0 < q ≤ 1) of ds; 0 for
// none.
func Percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	k := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(k, 0), len(s)-1)]
}
