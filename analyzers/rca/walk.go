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
	for u := range n {
		w[u] = make([]float64, len(callees[u]))
		var strongest float64
		for k, v := range callees[u] {
			if p[v] > 0 {
				w[u][k] = p[v] * explanation(in.Series, anom[u], anom[v])
			}
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

// explainRatio is how small a callee's relative move may be, as a share of
// its caller's, and still fully explain it: a callee's slowness or failures
// reach its callers diluted by everything else they do, so a callee that
// explains a caller moved at least about as much of itself.
const explainRatio = 0.5

// explanation is how well callee b's anomaly explains caller a's, in [0, 1]:
// the best, over a's anomalous series, of
//
//   - the series' share of a's anomaly (its strength over a's strongest), so
//     that a callee explaining only a minor symptom of a explains a little;
//   - b's series of the same metric, anomalous in the same direction, with
//     the correlation of the two over their common sample times, clamped to
//     [0, 1] (1 when undefined: no evidence either way); a callee's trouble
//     reaches its callers as the same kind of trouble (latency as latency,
//     failures as failures), so an anomaly of another metric, such as a
//     datastore's memory growing under a service with a hogged cpu, explains
//     nothing;
//   - b's relative move against a's (up to explainRatio, which counts
//     fully): a caller whose memory grew by half is not explained by a
//     callee whose memory grew by a tenth.
func explanation(series []Series, a, b componentAnomaly) float64 {
	var best float64
	for _, sa := range a.series {
		share := sa.strength / a.strength
		if share <= best {
			break // a.series is sorted by strength
		}
		for _, sb := range b.series {
			if sb.metric != sa.metric || sb.sign != sa.sign {
				continue
			}
			r := 1.0
			if c, ok := correlation(series[sa.index], series[sb.index]); ok {
				r = max(0, c)
			}
			ratio := 1.0
			if !math.IsInf(sa.rel, 1) {
				ratio = min(1, sb.rel/(explainRatio*sa.rel))
			}
			best = max(best, share*r*ratio*specific(sb.spec))
		}
	}
	return best
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
// sample times.
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
	return pearson(xs, ys)
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

// onsetValues scores how early each anomalous component went wrong: 1 for
// the earliest, falling linearly to 0 for one that first went wrong at end,
// the last incident sample.
func onsetValues(anom []componentAnomaly, end int64) []float64 {
	out := make([]float64, len(anom))
	first := int64(math.MaxInt64)
	for _, c := range anom {
		if c.prob > 0 {
			first = min(first, c.first)
		}
	}
	for i, c := range anom {
		switch {
		case c.prob == 0:
		case end <= first:
			out[i] = 1
		default:
			out[i] = float64(end-c.first) / float64(end-first)
		}
	}
	return out
}
