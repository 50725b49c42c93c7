// Package rca ranks the components of a system by how likely each is the
// root cause of an incident, and says why.
//
// Rank scores every component with five factors, each a value in [0, 1]
// backed by evidence ids taken from the input:
//
//   - anomaly: how far the component's series moved in the incident window,
//     as a robust z-score against the samples just before the onset and
//     against a baseline, counting rises (or, for the symptom's metric, moves
//     in the symptom's direction), on a logarithmic scale that never reaches
//     1, so that two huge anomalies still differ; every further anomalous
//     series of the component adds three quarters of the weight of the one
//     before, since a fault shows in several metrics of its component and
//     drift or a stray spike in one. Evidence: the anomalous series,
//     strongest first.
//   - onset: how early it went wrong; 1 for the first clearly anomalous
//     components, falling to 0 for one that only went wrong at the last
//     sample. Without an onset, one read from the data or given, being off
//     from the first sample proves nothing and scores 1. Evidence: the
//     series that went wrong first.
//   - graph: where blame settles on the dependency graph. A random walk starts
//     at the symptom and at every anomalous component and steps from a caller
//     to the anomalous callees whose anomalies explain its own: of the same
//     metric and direction, moving with it beyond chance (or, for two steady
//     series of the symptom's metric, in proportion), and standing out from
//     the quiet series of that metric; a slow or failing callee makes its
//     callers slow or failing, never the other way round, and a callee's
//     memory does not make its caller's cpu rise. A callee that exports
//     no series of the metric (a datastore giving cpu and memory only)
//     explains a caller no observed callee explains when most of its
//     callers show the same clear, unexplained anomaly. The walk ends at a
//     component no callee explains. Evidence: the component's anomalous
//     callers.
//   - change: how close before the onset a change (deploy, config edit) was
//     made to the component. Evidence: the change ids, most recent first.
//   - logs: the log novelty the caller measured. Evidence: the signal ids.
//
// The score is the sum of weight × value over the factors, so a chat thread
// can show the top candidates and every term of their scores with the
// evidence behind it.
//
// Rank is pure and deterministic: no I/O, clocks or randomness, and nothing in
// the result depends on map iteration or on the order of the input's slices.
// Equal scores are ordered by the evidence (the stronger anomaly, then the
// earlier), never by name unless the evidence is identical.
package rca

import (
	"cmp"
	"math"
	"slices"
	"strings"
)

// Series is one metric of one component over time. An input holds at most
// one series per component and metric.
type Series struct {
	Component string
	Metric    string
	// Times are unix seconds in strictly ascending order; each labels the
	// start of the aggregation interval its value summarises.
	Times []int64
	// Values pairs with Times (extra entries of the longer are ignored); NaN
	// marks a missing sample.
	Values []float64
}

// Name is the series' id in evidence: "<component>/<metric>".
func (s Series) Name() string { return s.Component + "/" + s.Metric }

// Change is something done to a component: a deploy, a config edit, a scaling
// action.
type Change struct {
	ID        string
	Component string
	Time      int64 // unix seconds
	Summary   string
}

// LogSignal is a per-component log novelty score, e.g. the share of log lines
// in the incident window whose template was never seen before.
type LogSignal struct {
	Component string
	Novelty   float64 // in [0, 1]; values outside are clamped
	ID        string  // evidence id, e.g. a template or query id
}

// Symptom is what the alert fired on. Metric may be empty.
type Symptom struct {
	Component string
	Metric    string
}

// Input is everything known about one incident.
type Input struct {
	Series []Series
	// Baseline holds the same kind of series recorded during normal operation;
	// it is matched to Series by component and metric, and is optional.
	Baseline []Series
	// Onset is when the incident started, in unix seconds. The sample whose
	// interval contains Onset and every later sample form the incident window;
	// earlier samples are the pre-incident reference. Zero means every sample
	// belongs to the incident, which leaves Baseline as the only reference.
	Onset int64
	// Edges are dependencies as [caller, callee] pairs: the caller calls (depends
	// on) the callee.
	Edges   [][2]string
	Changes []Change
	Logs    []LogSignal
	// Target is the alerted symptom; the zero value means none. When its
	// Metric is set and some series has that metric, those series count only
	// in the direction the symptom moved, and series of other metrics count
	// with Config.OtherMetricWeight. When its Component is set, only the
	// components the symptom reaches through anomalous dependencies get graph
	// credit.
	Target Symptom
}

// Factor names, in the order every Candidate lists them.
const (
	FactorAnomaly = "anomaly"
	FactorOnset   = "onset"
	FactorGraph   = "graph"
	FactorChange  = "change"
	FactorLogs    = "logs"
)

// Factor is one term of a candidate's score: Weight × Value.
type Factor struct {
	Name     string
	Weight   float64
	Value    float64 // in [0, 1]
	Evidence []string
}

// Contribution is the factor's share of the score.
func (f Factor) Contribution() float64 { return f.Weight * f.Value }

// Candidate is one component and why it may be the root cause.
type Candidate struct {
	Component string
	// Score is the sum of the factors' contributions rounded to 1e-9, so that
	// floating-point noise never decides between candidates that are equal in
	// substance; the evidence does (see Rank).
	Score float64
	// Factors lists every factor, zero or not, in the order of the Factor
	// name constants.
	Factors []Factor
	// PeakZ is the largest robust z-score of the component's anomalous
	// series (0 if none), and FirstAnomalous when it first went wrong (unix
	// seconds, 0 if never): the evidence that orders equal scores.
	PeakZ          float64
	FirstAnomalous int64
}

// scoreResolution is the precision of Candidate.Score.
const scoreResolution = 1e-9

// Weights of the factors in the score.
type Weights struct {
	Anomaly, Onset, Graph, Change, Logs float64
}

// Config tunes Rank. Use DefaultConfig and change what you need; one
// configuration is meant to serve every system.
type Config struct {
	Weights Weights
	// NormalZ is the robust z-score up to which a series counts as normal.
	NormalZ float64
	// SaturationZ is how far above NormalZ a series' z-score must be for the
	// random walk to treat it as surely anomalous: the walk's anomaly
	// probability is 1 - e^-((z-NormalZ)/SaturationZ).
	SaturationZ float64
	// HalfZ is the robust z-score at which the anomaly factor is 0.5; it
	// grows with ln(z/NormalZ) and never reaches 1.
	HalfZ float64
	// RelativeScale is the smallest yardstick, as a fraction of its level, for
	// a series with no spread of its own (no baseline and too few samples
	// before the onset, or both constant); such a series is measured against
	// the larger of this and the typical relative move of the other series of
	// its metric.
	RelativeScale float64
	// OtherMetricWeight scales the anomaly of series whose metric differs from
	// the symptom's (when Target.Metric is set); zero ignores them. The
	// default is zero because the other statistics and metrics of PetShop
	// (request counts, percentiles) added more noise than evidence.
	OtherMetricWeight float64
	// SymptomStart is the share of random walks that start at the symptom
	// component; the rest start at components in proportion to their anomaly.
	SymptomStart float64
	// ChangeHalfLife is how many seconds before the onset halve a change's
	// factor; ChangeWindow is how far back changes count at all, and
	// ChangeGrace how long after the onset a change still counts as before
	// it (alerts lag what they detect).
	ChangeHalfLife, ChangeWindow, ChangeGrace int64
	// MaxEvidence caps the evidence ids listed per factor, strongest first.
	MaxEvidence int
}

// DefaultConfig is the configuration the benchmarks report. The graph weighs
// most because where an anomaly sits among its dependencies separates causes
// from their victims, which magnitude alone cannot; the change and logs
// weights are judgement, as PetShop has neither.
func DefaultConfig() Config {
	return Config{
		Weights:           Weights{Anomaly: 0.25, Onset: 0.1, Graph: 0.4, Change: 0.15, Logs: 0.1},
		NormalZ:           5,
		SaturationZ:       5,
		HalfZ:             100,
		RelativeScale:     0.001,
		OtherMetricWeight: 0,
		SymptomStart:      0.25,
		ChangeHalfLife:    3600,
		ChangeWindow:      24 * 3600,
		ChangeGrace:       600,
		MaxEvidence:       3,
	}
}

// Rank scores every component named in the input and returns them best first.
func Rank(in Input, cfg Config) []Candidate {
	in.Series = paired(in.Series)
	in.Baseline = paired(in.Baseline)
	names := componentNames(in)
	index := make(map[string]int, len(names))
	for i, n := range names {
		index[n] = i
	}
	if in.Onset == 0 {
		in.Onset = estimateOnset(in, cfg)
	}
	anom := scoreAnomalies(in, cfg, index)
	mags := magnitudes(anom, cfg)
	graph := walk(in, cfg, index, anom)
	onsets := onsetValues(anom, firstSample(in), lastSample(in), in.Onset != 0)
	ref := referenceTime(in)
	changes := changeValues(in, cfg, ref)
	logs := logValues(in)

	out := make([]Candidate, len(names))
	for i, n := range names {
		a := anom[i]
		fs := []Factor{
			{Name: FactorAnomaly, Weight: cfg.Weights.Anomaly, Value: mags[i], Evidence: a.evidence(cfg.MaxEvidence)},
			{Name: FactorOnset, Weight: cfg.Weights.Onset, Value: onsets[i], Evidence: a.firstEvidence()},
			{Name: FactorGraph, Weight: cfg.Weights.Graph, Value: graph[i].value, Evidence: capped(graph[i].evidence, cfg.MaxEvidence)},
			{Name: FactorChange, Weight: cfg.Weights.Change, Value: changes[n].value, Evidence: capped(changes[n].evidence, cfg.MaxEvidence)},
			{Name: FactorLogs, Weight: cfg.Weights.Logs, Value: logs[n].value, Evidence: capped(logs[n].evidence, cfg.MaxEvidence)},
		}
		var score float64
		for _, f := range fs {
			score += f.Contribution()
		}
		out[i] = Candidate{Component: n, Score: math.Round(score/scoreResolution) * scoreResolution, Factors: fs, PeakZ: a.peakZ()}
		if a.prob > 0 {
			out[i].FirstAnomalous = a.first
		}
	}
	slices.SortStableFunc(out, compareCandidates)
	return out
}

// compareCandidates orders by score, and equal scores by the evidence: the
// stronger anomaly, then the earlier one, then more anomalous series. Only
// candidates equal in all of these, which the evidence cannot tell apart,
// fall back to name order, for determinism.
func compareCandidates(x, y Candidate) int {
	return cmp.Or(
		cmp.Compare(y.Score, x.Score),
		cmp.Compare(y.PeakZ, x.PeakZ),
		compareFirst(x.FirstAnomalous, y.FirstAnomalous),
		cmp.Compare(len(factorOf(y, FactorAnomaly).Evidence), len(factorOf(x, FactorAnomaly).Evidence)),
		strings.Compare(x.Component, y.Component),
	)
}

// compareFirst puts the earlier first-anomalous time first; zero (never
// anomalous) sorts last.
func compareFirst(x, y int64) int {
	switch {
	case x == y:
		return 0
	case x == 0:
		return 1
	case y == 0:
		return -1
	}
	return cmp.Compare(x, y)
}

func factorOf(c Candidate, name string) Factor {
	for _, f := range c.Factors {
		if f.Name == name {
			return f
		}
	}
	return Factor{}
}

// paired cuts each series' Times and Values to the shorter of the two.
func paired(ss []Series) []Series {
	out := make([]Series, len(ss))
	for i, s := range ss {
		n := min(len(s.Times), len(s.Values))
		s.Times, s.Values = s.Times[:n], s.Values[:n]
		out[i] = s
	}
	return out
}

// componentNames lists every component the input mentions, sorted, so that
// indices (and therefore floating-point summation order) never depend on the
// order of the input or of map iteration.
func componentNames(in Input) []string {
	var ns []string
	for _, s := range in.Series {
		ns = append(ns, s.Component)
	}
	for _, e := range in.Edges {
		ns = append(ns, e[0], e[1])
	}
	for _, c := range in.Changes {
		ns = append(ns, c.Component)
	}
	for _, l := range in.Logs {
		ns = append(ns, l.Component)
	}
	if in.Target.Component != "" {
		ns = append(ns, in.Target.Component)
	}
	slices.Sort(ns)
	ns = slices.Compact(ns)
	if len(ns) > 0 && ns[0] == "" {
		ns = ns[1:]
	}
	return ns
}

// referenceTime is the instant changes are measured against: the onset, or
// the first sample when the onset is unknown.
func referenceTime(in Input) int64 {
	if in.Onset != 0 {
		return in.Onset
	}
	first := int64(math.MaxInt64)
	for _, s := range in.Series {
		if len(s.Times) > 0 {
			first = min(first, s.Times[0])
		}
	}
	if first == math.MaxInt64 {
		return 0
	}
	return first
}

// firstSample is the time of the earliest sample of any series.
func firstSample(in Input) int64 {
	first := int64(math.MaxInt64)
	for _, s := range in.Series {
		if len(s.Times) > 0 {
			first = min(first, s.Times[0])
		}
	}
	return first
}

// lastSample is the time of the latest sample of any series.
func lastSample(in Input) int64 {
	last := int64(math.MinInt64)
	for _, s := range in.Series {
		if len(s.Times) > 0 {
			last = max(last, s.Times[len(s.Times)-1])
		}
	}
	return last
}

// scored is a factor value with its evidence.
type scored struct {
	value    float64
	evidence []string
}

// changeValues scores each component by its most recent change before the
// onset (plus grace), halving per ChangeHalfLife.
func changeValues(in Input, cfg Config, ref int64) map[string]scored {
	type hit struct {
		id  string
		age int64
	}
	hits := map[string][]hit{}
	for _, c := range in.Changes {
		age := ref - c.Time
		if age < -cfg.ChangeGrace || age > cfg.ChangeWindow {
			continue
		}
		hits[c.Component] = append(hits[c.Component], hit{c.ID, max(age, 0)})
	}
	out := make(map[string]scored, len(hits))
	for comp, hs := range hits {
		slices.SortFunc(hs, func(x, y hit) int {
			if c := cmp.Compare(x.age, y.age); c != 0 {
				return c
			}
			return strings.Compare(x.id, y.id)
		})
		v := 1.0
		if cfg.ChangeHalfLife > 0 {
			v = math.Exp2(-float64(hs[0].age) / float64(cfg.ChangeHalfLife))
		}
		ids := make([]string, len(hs))
		for i, h := range hs {
			ids[i] = h.id
		}
		out[comp] = scored{v, ids}
	}
	return out
}

// logValues keeps the highest novelty per component.
func logValues(in Input) map[string]scored {
	out := map[string]scored{}
	sigs := slices.Clone(in.Logs)
	slices.SortStableFunc(sigs, func(x, y LogSignal) int {
		if c := cmp.Compare(y.Novelty, x.Novelty); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	for _, l := range sigs {
		v := min(max(l.Novelty, 0), 1)
		if math.IsNaN(v) {
			continue
		}
		s := out[l.Component]
		s.value = max(s.value, v)
		if l.ID != "" {
			s.evidence = append(s.evidence, l.ID)
		}
		out[l.Component] = s
	}
	return out
}

func capped(ids []string, n int) []string {
	if n > 0 && len(ids) > n {
		return ids[:n]
	}
	return ids
}
