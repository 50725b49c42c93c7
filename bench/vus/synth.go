package main

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Kind is a type of injected anomaly.
type Kind string

// The anomaly types of the synthetic corpus.
const (
	Spike           Kind = "spike"
	LevelShift      Kind = "level shift"
	TrendChange     Kind = "trend change"
	SeasonalBreak   Kind = "seasonality break"
	VarianceChange  Kind = "variance change"
	syntheticStep        = 300 // seconds between points: 5-minute samples
	syntheticPoints      = 4032
	syntheticStart       = int64(1_700_000_000)
	day                  = 86400
)

// Kinds lists the anomaly types in report order.
var Kinds = []Kind{Spike, LevelShift, TrendChange, SeasonalBreak, VarianceChange}

// Series is one scored series with its labelled anomalies.
type Series struct {
	Name   string
	Kind   Kind // "" for NAB
	Times  []int64
	Values []float64
	Spans  []Span
}

// synthesize returns perKind seeded series of every kind. Each is two weeks
// of 5-minute points: a level, a daily wave and Gaussian noise with
// per-series parameters, and one anomaly starting at a random row in the
// second half. The label covers the rows where the anomaly is visible: the
// spike itself, or the first hours of a change that persists.
func synthesize(perKind int, seed uint64) []Series {
	var out []Series
	for k, kind := range Kinds {
		for i := range perKind {
			r := rand.New(rand.NewPCG(seed, uint64(k*1000+i)))
			out = append(out, synthetic(kind, fmt.Sprintf("%s/%02d", kind, i), r))
		}
	}
	return out
}

func synthetic(kind Kind, name string, r *rand.Rand) Series {
	n := syntheticPoints
	level := 50 + 100*r.Float64()
	amp := level * (0.1 + 0.3*r.Float64())
	sigma := amp * (0.03 + 0.07*r.Float64())
	phase := 2 * math.Pi * r.Float64()
	at := n/2 + r.IntN(n*2/5)
	sign := 1.0
	if r.IntN(2) == 0 {
		sign = -1
	}
	s := Series{Name: name, Kind: kind, Times: make([]int64, n), Values: make([]float64, n)}
	var span Span
	switch kind {
	case Spike:
		span = Span{at, at + r.IntN(3)}
	case VarianceChange:
		span = Span{at, at + 144} // half a day of wilder noise, then calm again
	default:
		span = Span{at, at + 48} // the first four hours of a lasting change
	}
	s.Spans = []Span{span}
	for i := range n {
		ts := syntheticStart + int64(i)*syntheticStep
		wave := func(ph float64) float64 {
			return amp * math.Sin(2*math.Pi*float64(ts%day)/day+ph)
		}
		v := level + wave(phase)
		noise := sigma * r.NormFloat64()
		if i >= at {
			d := float64(i - at)
			switch kind {
			case Spike:
				if i <= span.End {
					v += sign * (6 + 6*r.Float64()) * sigma
				}
			case LevelShift:
				v += sign * 6 * sigma
			case TrendChange:
				v += sign * sigma * d / 8 // 6σ off after the labelled four hours
			case SeasonalBreak:
				v = level + wave(phase+math.Pi) // the daily wave turns upside down
			case VarianceChange:
				if i <= span.End {
					noise *= 4
				}
			}
		}
		s.Times[i], s.Values[i] = ts, v+noise
	}
	return s
}
