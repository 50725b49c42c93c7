package main

import (
	"math"
	"testing"
)

func TestScoreLines(t *testing.T) {
	mk := func(truth, parsed []string) []line {
		out := make([]line, len(truth))
		for i := range truth {
			out[i] = line{TrueID: truth[i], TrueTemplate: "t" + truth[i], ParsedID: parsed[i], Parsed: "t" + truth[i]}
		}
		return out
	}
	tests := []struct {
		name         string
		lines        []line
		ga, p, r, f1 float64
		scored       int
		pa           float64
	}{
		{"perfect", mk([]string{"A", "A", "B"}, []string{"1", "1", "2"}), 1, 1, 1, 1, 3, 1},
		// {A,A} is exactly event A; {B,B,C} mixes B and C.
		{"mixed group", mk([]string{"A", "A", "B", "B", "C"}, []string{"1", "1", "2", "2", "2"}),
			0.4, 0.5, 1, 2.0 / 3, 5, 1},
		// Event A split in two: no group holds all of it.
		{"split event", mk([]string{"A", "A", "A"}, []string{"1", "1", "2"}), 0, 1, 1.0 / 3, 0.5, 3, 1},
		{"unlabelled lines are dropped", mk([]string{"A", "", "A"}, []string{"1", "2", "1"}), 1, 1, 1, 1, 2, 1},
		{"wrong templates", []line{
			{TrueID: "A", TrueTemplate: "open <*>", ParsedID: "1", Parsed: "open <*>"},
			{TrueID: "A", TrueTemplate: "open <*>", ParsedID: "1", Parsed: "open file"},
		}, 1, 1, 1, 1, 2, 0.5},
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := scoreLines(tt.lines)
			if s.Lines != tt.scored || !near(s.GA, tt.ga) || !near(s.Precision, tt.p) || !near(s.Recall, tt.r) || !near(s.F1, tt.f1) || !near(s.PA, tt.pa) {
				t.Errorf("score = %+v, want lines %d GA %v P %v R %v F1 %v PA %v", s, tt.scored, tt.ga, tt.p, tt.r, tt.f1, tt.pa)
			}
		})
	}
}

func TestCanonicalTemplate(t *testing.T) {
	// Expected forms follow Loghub-2.0's correct_single_template rule by rule.
	tests := []struct{ in, want string }{
		{"  open   file ", "open file"},                                     // DS
		{"Received block blk_<*> from /<*>", "Received block <*> from <*>"}, // WV, PS
		{"served to /10.0.0.1:50010", "served to <*>:<*>"},                  // PS, DG
		{"Took <*>.<*> seconds", "Took <*> seconds"},                        // DV
		{"state true, user root, id null", "state <*>, user <*>, id <*>"},   // BL, US
		{"at <*> <*> <*>", "at <*> <*> <*>"},                                // spaces keep variables apart
		{"v<*><*>-x", "<*>-x"},                                              // WV, CV
		{"GET /v2/<*>/servers HTTP/<*>", "GET <*> HTTP/<*>"},                // a piece with "/" is not WV
		{"ratio <*>/<*>", "ratio <*>/<*>"},                                  // "<*>/<*>" is kept
		{"copy a//b", "copy a//b"},                                          // empty path segment: not a path
	}
	for _, tt := range tests {
		if got := canonicalTemplate(tt.in); got != tt.want {
			t.Errorf("canonicalTemplate(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
