package main

import (
	"cmp"
	"math"
	"slices"
)

// Span is a labelled anomaly as row indexes, both ends inclusive.
type Span struct{ Start, End int }

func (s Span) len() int { return s.End - s.Start + 1 }

// thresholdSamples is how many thresholds the PR curves are drawn with,
// sampled uniformly from the sorted scores as in the VUS reference
// implementation.
const thresholdSamples = 250

// rankThresholds returns up to thresholdSamples distinct scores at ranks
// spaced geometrically from the highest to the lowest, so that the few
// highest scores, where an alerting detector's threshold lies, are all
// candidates.
func rankThresholds(scores []float64) []float64 {
	sorted := slices.Clone(scores)
	slices.SortFunc(sorted, func(a, b float64) int { return cmp.Compare(b, a) })
	n := float64(len(sorted))
	out := make([]float64, 0, thresholdSamples)
	for i := range thresholdSamples {
		k := int(math.Round(math.Pow(n, float64(i)/(thresholdSamples-1)))) - 1
		out = append(out, sorted[min(k, len(sorted)-1)])
	}
	return slices.Compact(out)
}

// sampleThresholds returns thresholdSamples scores picked uniformly from
// scores sorted in descending order (so possibly repeated), highest first.
func sampleThresholds(scores []float64) []float64 {
	sorted := slices.Clone(scores)
	slices.SortFunc(sorted, func(a, b float64) int { return cmp.Compare(b, a) })
	out := make([]float64, thresholdSamples)
	for i := range out {
		out[i] = sorted[i*(len(sorted)-1)/(thresholdSamples-1)]
	}
	return out
}

// softLabels returns the labels of n rows widened by buffer (Paparrizos et
// al., "Volume Under the Surface", VLDB 2022): 1 inside a span, and on the
// buffer/2 rows either side sqrt(1 − d/buffer) at distance d from it, summed
// and capped at 1 where slopes meet. It also returns the widened spans, which the
// existence reward counts.
func softLabels(n int, spans []Span, buffer int) ([]float64, []Span) {
	lab := make([]float64, n)
	for _, s := range spans {
		for i := s.Start; i <= s.End; i++ {
			lab[i] = 1
		}
	}
	if buffer > 1 {
		// Like the reference implementation, buffer/2 rows lead into a span
		// and buffer/2 − 1 trail out of it.
		slope := buffer / 2
		add := func(i, d int) {
			if i >= 0 && i < n {
				lab[i] = min(1, lab[i]+math.Sqrt(1-float64(d)/float64(buffer)))
			}
		}
		for _, s := range spans {
			for d := 1; d <= slope; d++ {
				add(s.Start-d, d)
				if d < slope {
					add(s.End+d, d)
				}
			}
		}
	}
	var wide []Span
	for i := 0; i < n; {
		if lab[i] == 0 {
			i++
			continue
		}
		j := i
		for j+1 < n && lab[j+1] > 0 {
			j++
		}
		wide = append(wide, Span{i, j})
		i = j + 1
	}
	return lab, wide
}

// ranking is a series' scores prepared for PR curves: the row order by
// descending score and the sampled thresholds.
type ranking struct {
	scores     []float64
	order      []int
	thresholds []float64
}

func newRanking(scores []float64) ranking {
	order := make([]int, len(scores))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })
	return ranking{scores: scores, order: order, thresholds: sampleThresholds(scores)}
}

// rangePRAUC is the area under the range-based precision-recall curve for one
// buffer size: a row predicted at threshold t (score ≥ t) counts as much of
// a true positive as its soft label; recall is the soft true positives over
// the mean of the hard and soft positive mass, times the share of widened
// spans holding a prediction (the existence reward). The curve starts at
// recall 0, precision 1 and is integrated with the trapezoidal rule.
func rangePRAUC(rk ranking, spans []Span, buffer int) float64 {
	scores := rk.scores
	lab, wide := softLabels(len(scores), spans, buffer)
	hard := 0.0
	for _, s := range spans {
		hard += float64(s.len())
	}
	soft := 0.0
	for _, l := range lab {
		soft += l
	}
	pos := (hard + soft) / 2
	// Each widened span's best score says from which threshold on it holds
	// a prediction.
	spanBest := make([]float64, len(wide))
	for k, s := range wide {
		spanBest[k] = slices.Max(scores[s.Start : s.End+1])
	}
	slices.SortFunc(spanBest, func(a, b float64) int { return cmp.Compare(b, a) })

	auc, prevR, prevP := 0.0, 0.0, 1.0
	tp, predicted, next, found := 0.0, 0, 0, 0
	for _, t := range rk.thresholds {
		for next < len(rk.order) && scores[rk.order[next]] >= t {
			tp += lab[rk.order[next]]
			predicted++
			next++
		}
		for found < len(spanBest) && spanBest[found] >= t {
			found++
		}
		r, p := 0.0, 0.0
		if pos > 0 && len(wide) > 0 {
			r = min(tp/pos, 1) * float64(found) / float64(len(wide))
		}
		if predicted > 0 {
			p = tp / float64(predicted)
		}
		auc += (r - prevR) * (p + prevP) / 2
		prevR, prevP = r, p
	}
	return auc
}

// VUSPR is the volume under the range-PR surface: the mean of rangePRAUC
// over buffer sizes 0..maxBuffer. It is NaN for a series without anomalies.
func VUSPR(scores []float64, spans []Span, maxBuffer int) float64 {
	if len(spans) == 0 || len(scores) == 0 {
		return math.NaN()
	}
	rk := newRanking(scores)
	sum := 0.0
	for b := 0; b <= maxBuffer; b++ {
		sum += rangePRAUC(rk, spans, b)
	}
	return sum / float64(maxBuffer+1)
}

// RangePR is range-based precision and recall (Tatbul et al., "Precision and
// Recall for Time Series", NeurIPS 2018) with a flat positional bias and the
// reciprocal cardinality factor. alpha weighs the existence reward in
// recall: 0 rewards only overlap, 1 only detecting each span at all.
type RangePR struct {
	Precision, Recall float64
	// meanF1 is set on corpus averages, where the mean of per-series F1s
	// is not the F1 of the mean precision and recall.
	meanF1 float64
}

// F1 is the harmonic mean of range precision and recall.
func (r RangePR) F1() float64 {
	if r.Precision+r.Recall == 0 {
		return 0
	}
	return 2 * r.Precision * r.Recall / (r.Precision + r.Recall)
}

// predictedSpans returns the runs of rows with score ≥ t.
func predictedSpans(scores []float64, t float64) []Span {
	var out []Span
	for i := 0; i < len(scores); i++ {
		if scores[i] < t {
			continue
		}
		j := i
		for j+1 < len(scores) && scores[j+1] >= t {
			j++
		}
		out = append(out, Span{i, j})
		i = j
	}
	return out
}

// overlap is the number of rows that a and b share.
func overlap(a, b Span) int { return max(0, min(a.End, b.End)-max(a.Start, b.Start)+1) }

// rangeReward is one side of Tatbul et al.'s measure: for each span of
// from, its overlap with the spans of against as a share of its length,
// divided by the number of spans it overlaps when that is more than one,
// plus alpha times whether it overlaps any; averaged over from.
func rangeReward(from, against []Span, alpha float64) float64 {
	if len(from) == 0 {
		return 0
	}
	total := 0.0
	for _, f := range from {
		rows, hits := 0, 0
		for _, a := range against {
			if o := overlap(f, a); o > 0 {
				rows += o
				hits++
			}
		}
		r := 0.0
		if hits > 0 {
			r = alpha + (1-alpha)*float64(rows)/float64(f.len())/float64(hits)
		}
		total += r
	}
	return total / float64(len(from))
}

// rangePRAt scores predictions at threshold t against spans. Precision has
// no existence reward (alpha 0), as in Tatbul et al.
func rangePRAt(scores []float64, spans []Span, t, alpha float64) RangePR {
	pred := predictedSpans(scores, t)
	return RangePR{Precision: rangeReward(pred, spans, 0), Recall: rangeReward(spans, pred, alpha)}
}
