package rca

import (
	"cmp"
	"math"
	"slices"
	"strings"
)

// walkSteps bounds the walk; a walk on an acyclic graph ends within as many
// steps as the longest call chain, and cycles of anomalous components that
// each defer to the next are cut off here, leaving the remaining mass where
// it stands.
const walkSteps = 100

// walkTolerance is the undistributed mass at which the walk stops early.
const walkTolerance = 1e-12

// walk computes the graph factor: where a random walk ends that starts at
// the symptom (a SymptomStart share) and at anomalous components (the rest,
// in proportion to their anomaly), and at each component u
//
//   - moves to a callee v in proportion to w(u, v) = p(v) × r(u, v), where p
//     is the probability that a component is anomalous and r how closely u's
//     and v's strongest anomalous series moved together over the whole
//     window: blame flows from callers to the dependencies that went wrong
//     with them, since a slow or failing callee makes its callers slow or
//     failing and not the other way round;
//   - ends with probability max(0, 1 - max w(u, ·) / p(u)): a component more
//     surely anomalous than anything it depends on that moved with it is
//     where the trouble starts.
//
// A component thus collects the walks that reach it and end there; one that
// explains more anomalous callers collects more. When the symptom is known,
// only components it reaches through anomalous dependencies (and itself) can
// explain it, so walks ending elsewhere count for nothing: anomalies in a
// corner of the system the symptom does not depend on are a different story.
// Values are scaled so the largest is 1; the evidence of a component is its
// anomalous callers, the symptoms it would explain.
func walk(in Input, cfg Config, index map[string]int, anom []componentAnomaly) []scored {
	n := len(index)
	out := make([]scored, n)
	p := make([]float64, n)
	var total float64
	for i, c := range anom {
		p[i] = c.prob
		total += c.prob
	}
	if total == 0 {
		return out // nothing is anomalous, so the graph has nothing to explain
	}

	callees := make([][]int, n)
	callers := make([][]int, n)
	for _, e := range in.Edges {
		from, ok1 := index[e[0]]
		to, ok2 := index[e[1]]
		if !ok1 || !ok2 || from == to {
			continue
		}
		callees[from] = append(callees[from], to)
		callers[to] = append(callers[to], from)
	}
	for i := range callees {
		slices.Sort(callees[i])
		callees[i] = slices.Compact(callees[i])
		slices.Sort(callers[i])
		callers[i] = slices.Compact(callers[i])
	}

	mass := make([]float64, n)
	symptomShare := 0.0
	explains := make([]bool, n)
	if t, ok := index[in.Target.Component]; ok && in.Target.Component != "" {
		symptomShare = cfg.SymptomStart
		mass[t] += symptomShare
		markReachable(t, callees, p, explains)
	} else {
		for i := range explains {
			explains[i] = true
		}
	}
	for i := range mass {
		mass[i] += (1 - symptomShare) * p[i] / total
	}

	// w[u][k] is how strongly blame passes from u to its k-th callee: the
	// callee's anomaly probability times how closely the two moved together.
	// stop[u] is the probability that a walk at u ends there; the rest moves
	// on to u's callees in proportion to w, sum[u] in total.
	w := make([][]float64, n)
	stop := make([]float64, n)
	sum := make([]float64, n)
	metrics := metricsOf(in.Series, index)
	var top float64
	for _, c := range anom {
		top = max(top, c.strength)
	}
	// unexplained[u]: no observed callee explains u's anomaly.
	unexplained := make([]bool, n)
	for u := range n {
		w[u] = make([]float64, len(callees[u]))
		for k, v := range callees[u] {
			if p[v] > 0 {
				w[u][k] = explanation(in.Series, in.Target.Metric, anom[u], anom[v])
			}
		}
		unexplained[u] = p[u] > 0 && slices.Max(append([]float64{0}, w[u]...)) == 0
	}
	for u := range n {
		if unexplained[u] {
			for k, v := range callees[u] {
				w[u][k] = unobserved(anom, callers[v], unexplained, metrics[v], anom[u], top)
			}
		}
		var strongest float64
		for k := range callees[u] {
			strongest = max(strongest, w[u][k])
			sum[u] += w[u][k]
		}
		switch {
		case strongest == 0:
			stop[u] = 1
		case p[u] > strongest:
			stop[u] = 1 - strongest/p[u]
		}
	}

	ended := make([]float64, n)
	next := make([]float64, n)
	for range walkSteps {
		clear(next)
		var moving float64
		for u, m := range mass {
			if m == 0 {
				continue
			}
			ended[u] += m * stop[u]
			if stop[u] == 1 {
				continue
			}
			on := m * (1 - stop[u]) / sum[u]
			for k, v := range callees[u] {
				if f := on * w[u][k]; f > 0 {
					next[v] += f
					moving += f
				}
			}
		}
		mass, next = next, mass
		if moving < walkTolerance {
			break
		}
	}
	for u, m := range mass {
		ended[u] += m
	}

	for i := range ended {
		if !explains[i] {
			ended[i] = 0
		}
	}
	peak := slices.Max(ended)
	names := make([]string, n)
	for name, i := range index {
		names[i] = name
	}
	for i := range out {
		if ended[i] == 0 {
			continue
		}
		out[i].value = ended[i] / peak
		var cs []int
		for _, c := range callers[i] {
			if p[c] > 0 {
				cs = append(cs, c)
			}
		}
		slices.SortFunc(cs, func(x, y int) int {
			if c := cmp.Compare(p[y], p[x]); c != 0 {
				return c
			}
			return strings.Compare(names[x], names[y])
		})
		for _, c := range cs {
			out[i].evidence = append(out[i].evidence, names[c])
		}
	}
	return out
}

// minCommonSamples is the fewest shared sample times a correlation needs.
const minCommonSamples = 3

// explanation is how well callee b's anomaly explains caller a's, in [0, 1]:
// the best, over pairs of a's anomalous series and b's series of the same
// metric anomalous in the same direction, of the product of
//
//   - the caller series' share of a's anomaly (its strength over a's
//     strongest), so that a callee explaining a minor symptom of a
//     explains a little;
//   - their correlation beyond chance, less the straight lines both follow
//     (see correlation), clamped to [0, 1], 1 when undefined. Two steady
//     series cannot be correlated: of the symptom's metric, the kind of
//     trouble that reaches callers by definition, their proportion stands
//     in; of any other metric (memory that grew in a service and in its
//     datastore alike) nothing tells a cause from a coincidence, so they
//     explain nothing;
//   - how specific the callee's move is (see specific);
//
// less weakExplanation and rescaled, times how surely the callee's series is
// anomalous. A callee's trouble reaches its callers as the same kind of
// trouble, latency as latency and failures as failures, so an anomaly of
// another metric, such as a datastore's memory grown under a service whose
// cpu is hogged, explains nothing.
func explanation(series []Series, symptomMetric string, a, b componentAnomaly) float64 {
	var best float64
	for _, sa := range a.series {
		share := sa.strength / a.strength
		for _, sb := range b.series {
			if sb.metric != sa.metric || sb.sign != sa.sign {
				continue
			}
			r := 1.0
			switch {
			case sa.steady && sb.steady && sa.metric == symptomMetric:
				r = proportion(sa, sb)
			case sa.steady && sb.steady:
				r = 0
			default:
				if c, ok := correlation(series[sa.index], series[sb.index]); ok {
					r = max(0, c)
				}
			}
			e := share * r * specific(sb.spec)
			best = max(best, sb.prob*max(0, e-weakExplanation)/(1-weakExplanation))
		}
	}
	return best
}

// minSharedCallers is the fewest anomalous callers of a component that
// blame it for what it does not export (see unobserved).
const minSharedCallers = 2

// unobserved is how well callee v, which exports no series of the metric of
// caller a's anomaly, explains it anyway, in [0, 1]: a datastore whose
// exporter gives cpu and memory only slows its callers without a latency of
// its own to show. Only a callee shared by at least minSharedCallers callers
// anomalous alike (the same metric and direction) can: what slows several
// callers at once, when none of their observed callees explains it, is
// most simply the one dependency they share. Callers count when their own
// anomaly is clear (held over the window, at least clearShare of the
// strongest component's) and no observed callee of theirs explains it. It
// is the best, over a's clear anomalous series, of the series' share of a's
// anomaly times 2s-1 (floored at 0), s being the share of v's callers
// anomalous alike: a dependency that half its callers or fewer suffer from
// explains nothing. The caller asks only when no observed callee explains a.
func unobserved(anom []componentAnomaly, callers []int, unexplained []bool, exported map[string]bool, a componentAnomaly, top float64) float64 {
	clear := func(s seriesAnomaly) bool { return s.persist >= heldShare && s.strength >= clearShare*top }
	var best float64
	for _, sa := range a.series {
		if exported[sa.metric] || !clear(sa) {
			continue
		}
		alike := 0
		for _, c := range callers {
			if unexplained[c] && slices.ContainsFunc(anom[c].series, func(s seriesAnomaly) bool {
				return s.metric == sa.metric && s.sign == sa.sign && clear(s)
			}) {
				alike++
			}
		}
		if alike < minSharedCallers {
			continue
		}
		best = max(best, sa.strength/a.strength*max(0, 2*float64(alike)/float64(len(callers))-1))
	}
	return best
}

// heldShare is the least persistence of a series that shows a held
// anomaly rather than stray samples.
const heldShare = 0.5

// metricsOf is, per component index, the metrics it has series of.
func metricsOf(series []Series, index map[string]int) []map[string]bool {
	out := make([]map[string]bool, len(index))
	for i := range out {
		out[i] = map[string]bool{}
	}
	for _, s := range series {
		if i, ok := index[s.Component]; ok {
			out[i][s.Metric] = true
		}
	}
	return out
}

// weakExplanation is the explanation below which a callee explains nothing;
// above it, explanations are rescaled to [0, 1]. Blame that leaks from a
// component to a callee it barely explains would move the cause to any
// drifting datastore beneath it.
const weakExplanation = 0.2

// proportion is what stands in for the correlation of two steady series,
// which have no normal samples to correlate: whether the callee moved at
// least as much of itself as the caller did, as a callee whose slowness or
// failures reach a caller diluted by the rest of the caller's work does. It
// grows from 0, for a callee that moved half as much of itself as the
// caller or less, to 1 for one that moved as much or more: a caller whose
// memory doubled is not explained by a callee whose memory grew by a tenth.
func proportion(caller, callee seriesAnomaly) float64 {
	if math.IsInf(caller.rel, 1) {
		return 1
	}
	return min(1, max(0, 2*callee.rel/caller.rel-1))
}

// specificRatio is how many times the typical relative move of its metric a
// callee's series must move to explain a caller fully; from 1 (typical) to
// specificRatio its explanation grows linearly from 0.
const specificRatio = 2

// specific is the explanation weight of a series that moved spec times as
// much as the typical series of its metric: a move every series of a
// metric shares (traffic rising with the time of day) is common to callers
// and callees alike and says nothing about which explains which.
func specific(spec float64) float64 {
	return min(1, max(0, (spec-1)/(specificRatio-1)))
}

// correlation is the Pearson correlation of two series over their common
// sample times, less what chance gives: the part of it beyond one standard
// error of a correlation of n unrelated samples (1/√n), rescaled to [-1, 1],
// so that two noisy series that merely sit high together explain nothing.
func correlation(x, y Series) (float64, bool) {
	var xs, ys []float64
	for i, j := 0, 0; i < len(x.Times) && j < len(y.Times); {
		switch {
		case x.Times[i] < y.Times[j]:
			i++
		case x.Times[i] > y.Times[j]:
			j++
		default:
			if isFinite(x.Values[i]) && isFinite(y.Values[j]) {
				xs = append(xs, x.Values[i])
				ys = append(ys, y.Values[j])
			}
			i++
			j++
		}
	}
	// Less the straight lines: two series that both trend (memory creeping
	// up in a caller and in its datastore) correlate in level whatever
	// their relation, while a step both take together survives.
	detrend(xs)
	detrend(ys)
	r, ok := pearson(xs, ys)
	if !ok {
		return 0, false
	}
	chance := 1 / math.Sqrt(float64(len(xs)))
	if r <= chance {
		return min(0, r), true
	}
	return (r - chance) / (1 - chance), true
}

// detrend subtracts from vs its least-squares line over the sample index.
func detrend(vs []float64) {
	n := float64(len(vs))
	if n < 2 {
		return
	}
	var mv float64
	for _, v := range vs {
		mv += v
	}
	mv /= n
	mk := (n - 1) / 2
	var sxy, sxx float64
	for k, v := range vs {
		dk := float64(k) - mk
		sxy += dk * (v - mv)
		sxx += dk * dk
	}
	slope := sxy / sxx
	for k := range vs {
		vs[k] -= mv + slope*(float64(k)-mk)
	}
}

// pearson is the correlation of xs and ys; ok is false when there are too
// few pairs or either is constant.
func pearson(xs, ys []float64) (r float64, ok bool) {
	n := float64(len(xs))
	if len(xs) < minCommonSamples {
		return 0, false
	}
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx, my = mx/n, my/n
	var sxy, sxx, syy float64
	for i := range xs {
		dx, dy := xs[i]-mx, ys[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return 0, false
	}
	return sxy / math.Sqrt(sxx*syy), true
}

// markReachable marks from and every component reachable from it through
// callees that are anomalous (p > 0).
func markReachable(from int, callees [][]int, p []float64, mark []bool) {
	stack := []int{from}
	mark[from] = true
	for len(stack) > 0 {
		u := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, v := range callees[u] {
			if !mark[v] && p[v] > 0 {
				mark[v] = true
				stack = append(stack, v)
			}
		}
	}
}

// clearShare is the least strength, as a share of the strongest component's,
// of the components whose onsets set the earliest: a barely anomalous
// series, a latency tail that crossed the line by chance, says little about
// when the incident began.
const clearShare = 0.5

// onsetValues scores how early each anomalous component went wrong: 1 for
// the earliest of the clearly anomalous (clearShare), falling linearly to 0 for one that first went wrong at end,
// the last incident sample.
//
// When the onset is unknown, a component already anomalous at start, the
// first sample, may have gone wrong at any time before: it scores 1, and the
// others are measured from the earliest that went wrong after start. Being
// wrong before the window began is no evidence of being first; a drifted
// datastore always is.
func onsetValues(anom []componentAnomaly, start, end int64, onsetKnown bool) []float64 {
	out := make([]float64, len(anom))
	var top float64
	for _, c := range anom {
		top = max(top, c.strength)
	}
	first := int64(math.MaxInt64)
	for _, c := range anom {
		if c.prob > 0 && c.strength >= clearShare*top && (onsetKnown || c.first > start) {
			first = min(first, c.first)
		}
	}
	for i, c := range anom {
		switch {
		case c.prob == 0:
		case end <= first, c.first <= first, !onsetKnown && c.first <= start:
			out[i] = 1
		default:
			out[i] = float64(end-c.first) / float64(end-first)
		}
	}
	return out
}
