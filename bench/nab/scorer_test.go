package main

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// externalNAB returns NAB's root from $VIGIL_EXTERNAL or ../shared/external
// next to the repository root, and skips the test when it is absent (CI need
// not have the data). If the data is there, tests that use it must pass.
func externalNAB(t testing.TB) string {
	t.Helper()
	root := ""
	if ext := os.Getenv("VIGIL_EXTERNAL"); ext != "" {
		root = filepath.Join(ext, "nab")
	} else {
		// Tests run in bench/nab; the repository root is two levels up.
		root = filepath.Join("..", "..", "..", "shared", "external", "nab")
	}
	if _, err := os.Stat(filepath.Join(root, "labels", "combined_windows.json")); err != nil {
		t.Skipf("NAB data not found at %s (set VIGIL_EXTERNAL to the external data folder): %v", root, err)
	}
	return root
}

// Two windows in a 100-row series: probation is the first 15 rows.
var twoWindows = []Window{{Start: 30, End: 39}, {Start: 70, End: 79}}

func detectAt(n int, rows ...int) []float64 {
	s := make([]float64, n)
	for _, r := range rows {
		s[r] = 1
	}
	return s
}

func TestScoreSingleSeries(t *testing.T) {
	std := Profiles[0]
	maxTP := scaledSigmoid(-1)
	tests := []struct {
		name   string
		scores []float64
		want   float64 // raw score at threshold 1 (detections score 1)
	}{
		{"nothing detected", detectAt(100), -2},
		{"first row of both windows", detectAt(100, 30, 70), 2},
		{"only the earliest detection in a window counts", detectAt(100, 30, 35, 39, 70), 2},
		{"last row of a window earns little", detectAt(100, 39),
			scaledSigmoid(-1.0/10)/maxTP - 1},
		{"middle of a window", detectAt(100, 35, 70),
			scaledSigmoid(-5.0/10)/maxTP + 1},
		{"false positive before the first window costs FP", detectAt(100, 20), -2 - 0.11},
		{"probation rows are not scored", detectAt(100, 5, 14), -2},
		{"false positive right after a window costs little", detectAt(100, 40),
			-2 + 0.11*scaledSigmoid(1.0/9)},
		{"false positive far past a window costs FP", detectAt(100, 69), -2 - 0.11},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Series{Name: "x.csv", Scores: tc.scores, Windows: twoWindows}
			f := scoreAt(s, std, 1)
			if math.Abs(f.Score-tc.want) > 1e-12 {
				t.Errorf("score = %v, want %v", f.Score, tc.want)
			}
		})
	}
}

func TestScoreChoosesBestCorpusThreshold(t *testing.T) {
	// Threshold 0.95 buys only a false positive; 0.9 adds a's first window
	// and a late hit in b's second; 0.8 adds a's second window; 0.5 adds two
	// false positives far past the windows, so 0.8 is best.
	a := make([]float64, 100)
	a[30], a[70] = 0.9, 0.8
	a[50], a[90] = 0.5, 0.5
	b := make([]float64, 100)
	b[20] = 0.95
	b[72] = 0.9
	corpus := []Series{
		{Name: "a.csv", Scores: a, Windows: twoWindows},
		{Name: "b.csv", Scores: b, Windows: twoWindows},
	}
	r, err := scoreCorpus(corpus, Profiles[0])
	if err != nil {
		t.Fatal(err)
	}
	if r.Threshold != 0.8 {
		t.Errorf("threshold = %v, want 0.8", r.Threshold)
	}
	var sum float64
	for _, f := range r.Files {
		sum += f.Score
	}
	if math.Abs(sum-r.Raw) > 1e-12 {
		t.Errorf("files sum to %v, raw = %v", sum, r.Raw)
	}
	if r.Null != -4 || r.Perfect != 4 {
		t.Errorf("null, perfect = %v, %v, want -4, 4", r.Null, r.Perfect)
	}
	// a: both windows from their first rows (+2); b: FP at 20 (−0.11),
	// window 1 missed (−1), window 2 at row 72 of 70..79.
	want := 2 - 0.11 - 1 + scaledSigmoid(-8.0/10)/scaledSigmoid(-1)
	if math.Abs(r.Raw-want) > 1e-12 {
		t.Errorf("raw = %v, want %v", r.Raw, want)
	}
}

func TestScoreRejectsBadWindows(t *testing.T) {
	for _, ws := range [][]Window{
		{{Start: 50, End: 40}},
		{{Start: 10, End: 30}, {Start: 25, End: 40}},
		{{Start: 90, End: 100}},
	} {
		if _, err := scoreCorpus([]Series{{Name: "x.csv", Scores: make([]float64, 100), Windows: ws}}, Profiles[0]); err == nil {
			t.Errorf("windows %v: no error", ws)
		}
	}
}

// TestKnownAnswerWindowedGaussian scores NAB's own windowedGaussian results
// and must reproduce NAB's published numbers and per-file scores.
func TestKnownAnswerWindowedGaussian(t *testing.T) {
	root := externalNAB(t)
	files, err := loadCorpus(root)
	if err != nil {
		t.Fatal(err)
	}
	resDir := filepath.Join(root, "results", "windowedGaussian")
	series, err := readResults(resDir, files)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"standard": "39.65", "reward_low_FP_rate": "20.87", "reward_low_FN_rate": "47.41"}
	for _, p := range Profiles {
		r, err := scoreCorpus(series, p)
		if err != nil {
			t.Fatal(err)
		}
		if got := strconv.FormatFloat(r.Normalized, 'f', 2, 64); got != want[p.Name] {
			t.Errorf("%s: normalised score %s, want %s", p.Name, got, want[p.Name])
		}
		if r.Threshold != 1 {
			t.Errorf("%s: threshold %v, want 1", p.Name, r.Threshold)
		}
		// NAB's per-file scores and row counts at that threshold.
		nab := map[string][]string{}
		path := filepath.Join(resDir, "windowedGaussian_"+p.Name+"_scores.csv")
		cols := []string{"File", "Score", "TP", "TN", "FP", "FN"}
		if err := readCSV(path, cols, func(rec []string) error {
			nab[rec[0]] = append([]string(nil), rec...)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for _, f := range r.Files {
			rec, ok := nab[f.Name]
			if !ok {
				t.Errorf("%s: %s missing from NAB's scores", p.Name, f.Name)
				continue
			}
			score, err := strconv.ParseFloat(rec[1], 64)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(score-f.Score) > 1e-9 {
				t.Errorf("%s: %s scores %v, NAB %v", p.Name, f.Name, f.Score, score)
			}
			got := []int{f.TP, f.TN, f.FP, f.FN}
			for k, c := range rec[2:] {
				if strconv.Itoa(got[k]) != c {
					t.Errorf("%s: %s: %s = %d, NAB %s", p.Name, f.Name, cols[2+k], got[k], c)
				}
			}
		}
	}
}
