package main

import (
	"math"
	"slices"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestSoftLabels(t *testing.T) {
	tests := []struct {
		name   string
		buffer int
		want   []float64
		wide   []Span
	}{
		{"no buffer", 0, []float64{0, 0, 0, 0, 1, 1, 0, 0, 0, 0}, []Span{{4, 5}}},
		// buffer/2 = 2 rows lead in, 1 trails out, at sqrt(1 − d/4).
		{"buffer 4", 4, []float64{0, 0, math.Sqrt(0.5), math.Sqrt(0.75), 1, 1, math.Sqrt(0.75), 0, 0, 0}, []Span{{2, 6}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lab, wide := softLabels(10, []Span{{4, 5}}, tc.buffer)
			if !slices.EqualFunc(lab, tc.want, near) {
				t.Errorf("labels %v, want %v", lab, tc.want)
			}
			if !slices.Equal(wide, tc.wide) {
				t.Errorf("widened spans %v, want %v", wide, tc.wide)
			}
		})
	}
	// Slopes that meet add up and are capped at 1.
	lab, wide := softLabels(12, []Span{{2, 3}, {7, 8}}, 8)
	if lab[5] != 1 || len(wide) != 1 {
		t.Errorf("meeting slopes: labels %v, spans %v", lab, wide)
	}
}

func TestVUSPR(t *testing.T) {
	spans := []Span{{4, 5}}
	perfect := []float64{0, 0, 0, 0, 1, 1, 0, 0, 0, 0}
	flat := make([]float64, 10)
	tests := []struct {
		name      string
		scores    []float64
		maxBuffer int
		want      float64
	}{
		{"perfect scores, no buffer", perfect, 0, 1},
		// One threshold flags every row: recall 1 at precision 2/10,
		// integrated from (0, 1).
		{"constant scores", flat, 0, (1 + 0.2) / 2},
		// A miss by one row earns nothing at its own threshold (precision
		// 0); only the lowest threshold, flagging everything, reaches recall
		// 1 at precision 2/10: (1 − 0)·(0.2 + 0)/2.
		{"one row early", []float64{0, 0, 0, 1, 0, 0, 0, 0, 0, 0}, 0, 0.1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := VUSPR(tc.scores, spans, tc.maxBuffer); !near(got, tc.want) {
				t.Errorf("VUS-PR %v, want %v", got, tc.want)
			}
		})
	}
	early := []float64{0, 0, 0, 1, 0, 0, 0, 0, 0, 0}
	if a, b := VUSPR(early, spans, 0), VUSPR(early, spans, 4); !(b > a) {
		t.Errorf("a buffer should credit a near miss: VUS-PR %v with buffers 0..4, %v without", b, a)
	}
	if got := VUSPR(perfect, nil, 10); !math.IsNaN(got) {
		t.Errorf("no anomalies: VUS-PR %v, want NaN", got)
	}
}

func TestRangePR(t *testing.T) {
	truth := []Span{{10, 19}}
	tests := []struct {
		name  string
		pred  []Span
		alpha float64
		want  RangePR
	}{
		{"half overlap", []Span{{15, 24}}, 0.2, RangePR{Precision: 0.5, Recall: 0.2 + 0.8*0.5}},
		{"exact", []Span{{10, 19}}, 0.2, RangePR{Precision: 1, Recall: 1}},
		// Two predictions inside one span: each is precise, but the span's
		// overlap reward is divided by the two.
		{"fragmented", []Span{{10, 11}, {18, 19}}, 0.2, RangePR{Precision: 1, Recall: 0.2 + 0.8*0.4/2}},
		{"existence only", []Span{{12, 12}}, 1, RangePR{Precision: 1, Recall: 1}},
		{"miss", []Span{{30, 31}}, 0.2, RangePR{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			scores := make([]float64, 40)
			for _, p := range tc.pred {
				for i := p.Start; i <= p.End; i++ {
					scores[i] = 1
				}
			}
			got := rangePRAt(scores, truth, 1, tc.alpha)
			if !near(got.Precision, tc.want.Precision) || !near(got.Recall, tc.want.Recall) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestRankThresholdsKeepTheTop(t *testing.T) {
	scores := make([]float64, 10000)
	for i := range scores {
		scores[i] = float64(i)
	}
	th := rankThresholds(scores)
	for _, want := range []float64{9999, 9998, 9997, 0} {
		if !slices.Contains(th, want) {
			t.Errorf("thresholds lack %v: %v…", want, th[:5])
		}
	}
	if len(th) > thresholdSamples || !slices.IsSortedFunc(th, func(a, b float64) int { return int(b - a) }) {
		t.Errorf("%d thresholds, want at most %d in descending order", len(th), thresholdSamples)
	}
}
