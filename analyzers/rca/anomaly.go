package rca

import (
	"cmp"
	"math"
	"slices"
	"strings"
)

// madToSigma turns a median absolute deviation into a standard deviation for
// normally distributed data.
const madToSigma = 1.4826

// minSpreadSamples is the fewest finite samples that estimate a spread.
const minSpreadSamples = 3

// minPeers is the fewest series of one metric whose moves estimate how much
// such a series moves normally.
const minPeers = 5

// seriesAnomaly is how one series behaved in the incident window.
type seriesAnomaly struct {
	name   string
	metric string
	index  int     // in Input.Series
	sign   float64 // +1 if the series rose, -1 if it fell
	// strength is how far beyond normal it went: ln(z/NormalZ) of its peak
	// robust z-score, times the metric weight. It is unbounded, so that two
	// large anomalies still differ by how large they are.
	strength float64
	z        float64 // the peak robust z-score
	prob     float64 // how surely it is anomalous; see componentAnomaly.prob
	// rel is the peak move relative to the reference level (+Inf for a
	// level of zero): how much of itself the series lost or gained, which
	// unlike z compares across components.
	rel float64
	// spec is rel over the relative move of the quiet series of its metric
	// in this incident (quietShare; +Inf when there are too few to say): how
	// much the series stands out from a change that moved everything alike,
	// such as a shift of traffic.
	spec  float64
	first int64 // time of the first incident sample beyond NormalZ
	// steady is true when the series is beyond normal in nearly all its
	// samples (steadyShare), before the onset too: it never shows what
	// it looks like when normal, so its correlation with another series
	// is that of noise and says nothing of whether they moved together.
	steady bool
	// persist is the share of the samples from first on that are beyond
	// normal in the direction sign: near 1 for a fault that holds, near 0
	// for a stray slow request in a latency tail.
	persist float64
}

// persistence is the share of s's finite samples from the time from on
// whose deviation in the direction sign is beyond normal.
func persistence(s Series, r reference, sign float64, from int64, normal float64) float64 {
	var beyond, total int
	for k, v := range s.Values {
		if s.Times[k] < from || !isFinite(v) {
			continue
		}
		total++
		if sign*r.deviation(v) > normal {
			beyond++
		}
	}
	if total == 0 {
		return 0
	}
	return float64(beyond) / float64(total)
}

// corroboration is the weight of each further anomalous series of a
// component in its support, relative to the series before it.
const corroboration = 0.75

// steadyShare is the share of a series' samples beyond normal from which it
// is steady.
const steadyShare = 0.9

// beyondShare is the share of s's finite samples whose deviation, in the
// direction sign (either when 0), is beyond normal.
func beyondShare(s Series, r reference, sign, normal float64) float64 {
	var beyond, total int
	for _, v := range s.Values {
		if !isFinite(v) {
			continue
		}
		d := r.deviation(v)
		if sign != 0 {
			d *= sign
		} else {
			d = math.Abs(d)
		}
		total++
		if d > normal {
			beyond++
		}
	}
	if total == 0 {
		return 0
	}
	return float64(beyond) / float64(total)
}

// componentAnomaly aggregates a component's anomalous series.
type componentAnomaly struct {
	// prob is how surely the component is anomalous, in [0, 1]: it saturates
	// quickly above NormalZ, so that the random walk asks which components are
	// anomalous rather than which moved most, magnitudes of different
	// components being hard to compare (an error in a callee is often
	// amplified by retries in its callers).
	prob float64
	// strength is the strongest series' strength.
	strength float64
	// support is the strength of all its anomalous series together, the
	// strongest first, each counting corroboration times the one before:
	// a fault shows in several of its component's metrics (a hogged cpu
	// slows every latency percentile, lost packets raise the tail and the
	// retried load), while drift or a stray slow request moves one series
	// of a component alone. The weights fall geometrically so that a
	// component exporting many metrics gains at most 1/(1-corroboration)
	// times its strongest series. The anomaly factor is built on it.
	support float64
	first   int64 // the earliest first-anomalous time; valid when prob > 0
	// series are the anomalous series, the strongest (the component's
	// representative in correlations) first.
	series []seriesAnomaly
}

// peakZ is the z-score of the strongest series, 0 if none.
func (c componentAnomaly) peakZ() float64 {
	if len(c.series) == 0 {
		return 0
	}
	return c.series[0].z
}

// evidence names the component's anomalous series, strongest first.
func (c componentAnomaly) evidence(n int) []string {
	ids := make([]string, 0, len(c.series))
	for _, s := range c.series {
		ids = append(ids, s.name)
	}
	return capped(ids, n)
}

// firstEvidence names the series that went anomalous first.
func (c componentAnomaly) firstEvidence() []string {
	var ids []string
	for _, s := range c.series {
		if s.first == c.first {
			ids = append(ids, s.name)
		}
	}
	slices.Sort(ids)
	return capped(ids, 1)
}

// reference summarises what a series looked like before the incident.
type reference struct {
	pre, base         float64 // medians of the pre-incident and baseline samples
	hasPre, hasBaseln bool
	level             float64 // the baseline median, else the pre-incident one; NaN if neither
	spread            float64 // see referenceOf
	scale             float64 // what deviations are divided by
}

// scoreAnomalies scores every series and aggregates per component index.
func scoreAnomalies(in Input, cfg Config, index map[string]int) []componentAnomaly {
	baseline := make(map[[2]string][]float64, len(in.Baseline))
	for _, b := range in.Baseline {
		k := [2]string{b.Component, b.Metric}
		baseline[k] = append(baseline[k], finite(b.Values)...)
	}
	refs := make([]reference, len(in.Series))
	for i, s := range in.Series {
		refs[i] = referenceOf(s, baseline, in.Onset, cfg.NormalZ)
	}
	moves := peerMoves(in.Series, refs, in.Onset)
	peers := peerSpreads(moves)
	quiet := peerQuantile(moves, quietShare)
	for i, s := range in.Series {
		refs[i].setScale(max(cfg.RelativeScale, peers[s.Metric]))
	}

	// With a symptom metric that some series has, that metric is what the
	// ranking looks at. The symptom's direction matters too: a callee whose
	// latency rose explains a caller whose latency rose, not one whose
	// latency fell.
	targetMetric := false
	for _, s := range in.Series {
		if in.Target.Metric != "" && s.Metric == in.Target.Metric {
			targetMetric = true
			break
		}
	}
	var dir float64
	if targetMetric {
		for i, s := range in.Series {
			if s.Component == in.Target.Component && s.Metric == in.Target.Metric {
				if z, sign, _ := peakZ(s, in.Onset, refs[i], 0, cfg.NormalZ); z > cfg.NormalZ {
					dir = sign
				}
				break
			}
		}
	}

	out := make([]componentAnomaly, len(index))
	for si, s := range in.Series {
		i, ok := index[s.Component]
		if !ok {
			continue
		}
		// A series counts in the direction the symptom moved when it is of
		// the symptom's metric, and else when it rose: faults raise
		// resource use, latency and errors, while a load or a memory that
		// fell is far more often a victim or a restart than a cause.
		weight, dirOf := 1.0, 1.0
		if targetMetric {
			if s.Metric == in.Target.Metric {
				dirOf = dir
			} else {
				weight = cfg.OtherMetricWeight
			}
		}
		if weight <= 0 {
			continue
		}
		z, sign, first := peakZ(s, in.Onset, refs[si], dirOf, cfg.NormalZ)
		if z <= cfg.NormalZ {
			continue
		}
		c := &out[i]
		prob := weight * (1 - math.Exp(-(z-cfg.NormalZ)/cfg.SaturationZ))
		c.prob = max(c.prob, prob)
		strength := weight * math.Log(z/cfg.NormalZ)
		c.strength = max(c.strength, strength)
		if len(c.series) == 0 || first < c.first {
			c.first = first
		}
		rel := math.Inf(1)
		if lv := math.Abs(refs[si].level); lv > 0 {
			rel = z * refs[si].scale / lv
		}
		spec := math.Inf(1)
		if p := quiet[s.Metric]; p > 0 {
			spec = rel / p
		}
		c.series = append(c.series, seriesAnomaly{
			name: s.Name(), metric: s.Metric, index: si, sign: sign,
			strength: strength, z: z, prob: prob, rel: rel, spec: spec, first: first,
			steady:  beyondShare(s, refs[si], sign, cfg.NormalZ) >= steadyShare,
			persist: persistence(s, refs[si], sign, first, cfg.NormalZ),
		})
	}
	for i := range out {
		slices.SortFunc(out[i].series, func(x, y seriesAnomaly) int {
			if d := cmp.Compare(y.strength, x.strength); d != 0 {
				return d
			}
			return strings.Compare(x.name, y.name)
		})
		w := 1.0
		for _, s := range out[i].series {
			out[i].support += w * s.strength
			w *= corroboration
		}
	}
	return out
}

// magnitudes is the anomaly factor: support s (ln z/NormalZ of the
// strongest series, plus the corroborating ones) squashed as
// s / (s + ln(HalfZ/NormalZ)), 0.5 for one series at a z-score of HalfZ. It grows without
// reaching 1, so two components whose anomalies are both huge still differ
// by how huge, yet a z-score ten times another's adds a bounded amount:
// magnitudes of different components compare only loosely (a callee's
// error is often amplified by retries in its callers).
func magnitudes(anom []componentAnomaly, cfg Config) []float64 {
	out := make([]float64, len(anom))
	half := math.Log(cfg.HalfZ / cfg.NormalZ)
	for i, c := range anom {
		if c.support > 0 {
			out[i] = c.support / (c.support + half)
		}
	}
	return out
}

// peerSpreads is, per metric, the median over series of that metric of their
// largest incident move relative to their reference level. It is how much a
// series of that metric typically moved in this very incident, the yardstick
// for series without a spread of their own: a 7-fold latency rise stands out
// among latencies that wobble by 10%, and a 2-point availability drop among
// availabilities that sit still. When most series of a metric moved alike,
// none stands out, which is the point. A metric with fewer than minPeers
// series has no peer spread: a median of a handful says nothing about what is
// normal.
func peerSpreads(moves map[string][]float64) map[string]float64 {
	return peerQuantile(moves, 0.5)
}

// quietShare is the quantile of the peers' moves that typifies the quiet
// series of a metric: what a series must stand out from to explain
// anything (see seriesAnomaly.spec). A low quantile, because in a chain of
// callers most series of a metric are victims that moved alike.
const quietShare = 0.25

// peerQuantile is, per metric with at least minPeers series, the q-quantile
// of their moves.
func peerQuantile(moves map[string][]float64, q float64) map[string]float64 {
	out := make(map[string]float64, len(moves))
	for m, vs := range moves {
		if len(vs) >= minPeers {
			s := slices.Clone(vs)
			slices.Sort(s)
			if q == 0.5 {
				out[m] = median(s)
				continue
			}
			out[m] = s[int(q*float64(len(s)-1))]
		}
	}
	return out
}

// peerMoves is, per metric, every series' largest incident move relative to
// its reference level.
func peerMoves(series []Series, refs []reference, onset int64) map[string][]float64 {
	moves := map[string][]float64{}
	for i, s := range series {
		r := refs[i]
		if r.level == 0 || math.IsNaN(r.level) {
			continue
		}
		var peak float64
		seen := false
		for k := incidentStart(s.Times, onset); k < len(s.Values); k++ {
			if v := s.Values[k]; isFinite(v) {
				peak, seen = max(peak, math.Abs(r.offset(v))), true
			}
		}
		if seen {
			moves[s.Metric] = append(moves[s.Metric], peak/math.Abs(r.level))
		}
	}
	return moves
}

// incidentStart is the index of the first incident sample: the one whose
// interval contains the onset.
func incidentStart(times []int64, onset int64) int {
	if onset == 0 {
		return 0
	}
	k, found := slices.BinarySearch(times, onset)
	if found {
		return k
	}
	return max(k-1, 0)
}

// referenceOf derives the reference levels of a series and its spread;
// setScale completes it.
//
// The spread is the larger of the robust standard deviations of the baseline
// and of the pre-incident samples (each when there are enough of them). A
// series whose pre-incident level already sat beyond normal from its baseline
// has left the regime the baseline describes (a redeploy, a traffic shift),
// so its spread widens until that level is just normal: what the system did
// before the incident is by definition not the incident.
func referenceOf(s Series, baseline map[[2]string][]float64, onset int64, normalZ float64) reference {
	r := reference{pre: math.NaN(), base: math.NaN(), level: math.NaN()}
	start := incidentStart(s.Times, onset)
	if pre := finite(s.Values[:start]); len(pre) > 0 {
		r.pre, r.hasPre = median(pre), true
		r.level = r.pre
		if len(pre) >= minSpreadSamples {
			r.spread = madToSigma * mad(pre, r.pre)
		}
	}
	if b := baseline[[2]string{s.Component, s.Metric}]; len(b) >= minSpreadSamples {
		r.base, r.hasBaseln = median(b), true
		r.level = r.base
		r.spread = max(r.spread, madToSigma*mad(b, r.base))
		if r.hasPre {
			r.spread = max(r.spread, math.Abs(r.pre-r.base)/normalZ)
		}
	}
	return r
}

// setScale sets the yardstick deviations are divided by: the spread when
// there is one, else relative × the reference level, which stands in for the
// spread of a series too short or too steady to have one.
func (r *reference) setScale(relative float64) {
	r.scale = r.spread
	if !(r.scale > 0) {
		r.scale = relative * math.Abs(r.level)
	}
	if !(r.scale > 0) {
		// A reference of exactly zero with no spread: any movement counts,
		// without dividing by zero.
		r.scale = math.SmallestNonzeroFloat64
	}
}

// deviation is how far v is from the reference, in scale units.
func (r reference) deviation(v float64) float64 { return r.offset(v) / r.scale }

// offset is how far v is from the reference. With both a pre-incident level
// and a baseline the nearer one counts: a sample between the two, or near
// either, is explained by what the series did before the incident or does
// normally.
func (r reference) offset(v float64) float64 {
	switch {
	case r.hasPre && r.hasBaseln:
		dp, db := v-r.pre, v-r.base
		if math.Signbit(dp) != math.Signbit(db) {
			return 0 // between the two references
		}
		if math.Abs(dp) < math.Abs(db) {
			return dp
		}
		return db
	case r.hasPre:
		return v - r.pre
	case r.hasBaseln:
		return v - r.base
	}
	return 0
}

// peakZ is the largest deviation over the incident window, counting only
// deviations with the sign of sign (both when sign is 0); it returns the
// deviation's size and sign and the time the series went wrong: the first
// sample beyond normal that another of the next two samples confirms (a
// lone slow request is not an onset), else the first beyond normal.
func peakZ(s Series, onset int64, r reference, sign float64, normal float64) (z float64, peakSign float64, first int64) {
	var beyond []int
	for k := incidentStart(s.Times, onset); k < len(s.Values); k++ {
		v := s.Values[k]
		if !isFinite(v) {
			continue
		}
		d := r.deviation(v)
		ds := math.Copysign(1, d)
		if sign != 0 {
			d, ds = d*sign, sign
		} else {
			d = math.Abs(d)
		}
		if d > normal {
			beyond = append(beyond, k)
		}
		if d > z {
			z, peakSign = d, ds
		}
	}
	if len(beyond) == 0 {
		return z, peakSign, 0
	}
	first = s.Times[beyond[0]]
	for i, k := range beyond {
		if i+1 < len(beyond) && beyond[i+1]-k <= 2 {
			return z, peakSign, s.Times[k]
		}
	}
	return z, peakSign, first
}

func finite(vs []float64) []float64 {
	out := make([]float64, 0, len(vs))
	for _, v := range vs {
		if isFinite(v) {
			out = append(out, v)
		}
	}
	return out
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// median of a non-empty slice; it does not modify vs.
func median(vs []float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// mad is the median absolute deviation of vs around m.
func mad(vs []float64, m float64) float64 {
	d := make([]float64, len(vs))
	for i, v := range vs {
		d[i] = math.Abs(v - m)
	}
	return median(d)
}

// Onset estimation, for an input without one. A window that leads in with
// normal samples shows when the incident began, and what was already wrong
// before then (a datastore whose memory drifted since the baseline was
// recorded) is no part of it.
const (
	// minLead is the fewest normal samples a series must show before it
	// steps up for the step to date the onset.
	minLead = minSpreadSamples
	// stepZ is how many times NormalZ a step must reach: creeping
	// changes that barely cross the line date nothing.
	stepZ = 3
	// sustainedShare is the least share of the samples from the step on
	// that must stay beyond NormalZ: a lone spike is not an onset.
	sustainedShare = 0.5
	// stepAgreement is how many samples apart two steps may be and still
	// date the same onset; one step alone is not enough.
	stepAgreement = 3
)

// estimateOnset finds the onset of an input whose Onset is zero: the
// earliest time at which at least two series stepped up from normal (against
// the baseline) and stayed up, within stepAgreement samples of each other.
// It returns 0 when no two series agree, leaving the baseline as the only
// reference.
func estimateOnset(in Input, cfg Config) int64 {
	baseline := make(map[[2]string][]float64, len(in.Baseline))
	for _, b := range in.Baseline {
		k := [2]string{b.Component, b.Metric}
		baseline[k] = append(baseline[k], finite(b.Values)...)
	}
	type step struct {
		at       int64
		interval int64 // the series' sample interval at the step
	}
	var steps []step
	for _, s := range in.Series {
		r := referenceOf(s, baseline, 0, cfg.NormalZ)
		if !r.hasBaseln {
			continue
		}
		r.setScale(cfg.RelativeScale)
		k, ok := stepStart(s, r, cfg.NormalZ)
		if !ok {
			continue
		}
		steps = append(steps, step{s.Times[k], s.Times[k] - s.Times[k-1]})
	}
	slices.SortFunc(steps, func(x, y step) int { return cmp.Or(cmp.Compare(x.at, y.at), cmp.Compare(x.interval, y.interval)) })
	for i := 0; i+1 < len(steps); i++ {
		if steps[i+1].at-steps[i].at <= stepAgreement*steps[i].interval {
			return steps[i].at
		}
	}
	return 0
}

// stepStart is the index of the sample at which s stepped up from normal
// and stayed up: at least minLead normal samples before it, whose median
// deviation is below half of normal, a peak of stepZ × normal after it, and
// sustainedShare of the samples from it on beyond normal.
func stepStart(s Series, r reference, normal float64) (int, bool) {
	k := -1
	for i, v := range s.Values {
		if isFinite(v) && r.deviation(v) > normal {
			k = i
			break
		}
	}
	if k < minLead {
		return 0, false
	}
	lead := make([]float64, 0, k)
	for _, v := range finite(s.Values[:k]) {
		lead = append(lead, math.Abs(r.deviation(v)))
	}
	if len(lead) < minLead || median(lead) >= normal/2 {
		return 0, false
	}
	var beyond, total int
	var peak float64
	for _, v := range s.Values[k:] {
		if !isFinite(v) {
			continue
		}
		d := r.deviation(v)
		total++
		if d > normal {
			beyond++
		}
		peak = max(peak, d)
	}
	if peak < stepZ*normal || float64(beyond) < sustainedShare*float64(total) {
		return 0, false
	}
	return k, true
}
