package main

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Profile is one NAB application profile: the weight of an early true
// positive, of each false positive and of each missed window.
type Profile struct {
	Name       string
	TP, FP, FN float64
}

// Profiles are NAB's three profiles (config/profiles.json), in the order the
// harness reports them.
var Profiles = []Profile{
	{Name: "standard", TP: 1, FP: 0.11, FN: 1},
	{Name: "reward_low_FP_rate", TP: 1, FP: 0.22, FN: 1},
	{Name: "reward_low_FN_rate", TP: 1, FP: 0.11, FN: 2},
}

// Window is a labelled anomaly window as row indexes into its series, both
// ends inclusive.
type Window struct{ Start, End int }

// Series is one detector output to score: a score per data row and the
// labelled windows of that data file.
type Series struct {
	Name    string // path under data/, e.g. "realKnownCause/nyc_taxi.csv"
	Scores  []float64
	Windows []Window
}

// FileResult is the score of one series at the corpus threshold. The row
// counts follow NAB's results files: they cover scored rows only
// (probationary rows are excluded), and a row is positive when its anomaly
// score is at least the threshold.
type FileResult struct {
	Name           string
	Score          float64
	TP, TN, FP, FN int // rows
	WindowsHit     int
	Windows        int
}

// Result is the corpus score of one profile.
type Result struct {
	Profile Profile
	// Threshold is the detection threshold that maximises Raw; +Inf when
	// detecting nothing scores best.
	Threshold float64
	Raw       float64 // S, the sum of the file scores
	Null      float64 // S of a detector that never fires: -FN per window
	Perfect   float64 // TP per scorable window: a detector firing at every window's first row
	// Normalized is 100·(Raw−Null)/(Perfect−Null): 0 for the null detector,
	// 100 for the perfect one. This is the number NAB publishes.
	Normalized float64
	Files      []FileResult
}

// probationRows is the number of leading rows of an n-row file that NAB does
// not score: 15 % of the file, at most 750 rows (0.15 × 5000).
func probationRows(n int) int {
	return min(int(math.Floor(0.15*float64(n))), 750)
}

// scaledSigmoid is NAB's σ(y) = 2/(1+e^{5y}) − 1 with σ = −1 for y > 3.
// y is −1 at a window's left edge, 0 at its right edge and positive after it.
func scaledSigmoid(y float64) float64 {
	if y > 3 {
		return -1
	}
	return 2/(1+math.Exp(5*y)) - 1
}

// rowWeights fills, for every row of s, weight with what a detection at that
// row adds to the score under p and window with the index (into s.Windows)
// of the window holding the row, or −1 outside windows. Inside a window the earliest detection
// earns TP·σ(y)/σ(−1) with y = −(right−i+1)/width; outside, a detection costs
// FP·σ((i−prevRight)/(prevWidth−1)) after a window and FP before the first.
func rowWeights(s Series, p Profile, weight []float64, window []int) {
	maxTP := scaledSigmoid(-1)
	cur, prev := -1, -1
	next := 0
	for i := range s.Scores {
		if cur < 0 && next < len(s.Windows) && i == s.Windows[next].Start {
			cur = next
			next++
		}
		switch {
		case cur >= 0:
			w := s.Windows[cur]
			width := float64(w.End - w.Start + 1)
			weight[i] = p.TP * scaledSigmoid(-float64(w.End-i+1)/width) / maxTP
		case prev >= 0:
			w := s.Windows[prev]
			width := float64(w.End - w.Start + 1)
			weight[i] = p.FP * scaledSigmoid(float64(i-w.End)/(width-1))
		default:
			weight[i] = -p.FP
		}
		window[i] = cur
		if cur >= 0 && i == s.Windows[cur].End {
			prev, cur = cur, -1
		}
	}
}

// validate checks that the windows of s are ordered, disjoint, inside the
// series and at least two rows wide (NAB divides by width−1).
func validate(s Series) error {
	end := -1
	for _, w := range s.Windows {
		if w.Start <= end || w.End <= w.Start || w.End >= len(s.Scores) {
			return fmt.Errorf("series %q: window [%d,%d] of %d rows is out of order, too narrow or out of range", s.Name, w.Start, w.End, len(s.Scores))
		}
		end = w.End
	}
	for i, v := range s.Scores {
		if math.IsNaN(v) {
			return fmt.Errorf("series %q: row %d: anomaly score is NaN", s.Name, i)
		}
	}
	return nil
}

// scoreCorpus scores a corpus under one profile the way NAB does: it finds the
// single threshold over the whole corpus that maximises the summed score,
// then reports every file at that threshold. A window counts only if at
// least one of its rows is past the probationary period.
func scoreCorpus(corpus []Series, p Profile) (Result, error) {
	type row struct {
		score  float64
		weight float64
		window int // corpus-wide window id, −1 outside windows
	}
	var rows []row
	var weight []float64
	var window []int
	base, windows := 0, 0 // id offset of the current series' windows; scorable windows
	for _, s := range corpus {
		if err := validate(s); err != nil {
			return Result{}, err
		}
		weight = slices.Grow(weight[:0], len(s.Scores))[:len(s.Scores)]
		window = slices.Grow(window[:0], len(s.Scores))[:len(s.Scores)]
		rowWeights(s, p, weight, window)
		scorable := make([]bool, len(s.Windows))
		for i := probationRows(len(s.Scores)); i < len(s.Scores); i++ {
			id := -1
			if window[i] >= 0 {
				scorable[window[i]] = true
				id = base + window[i]
			}
			rows = append(rows, row{score: s.Scores[i], weight: weight[i], window: id})
		}
		for _, ok := range scorable {
			if ok {
				windows++
			}
		}
		base += len(s.Windows)
	}
	// Sort by descending score; equal scores keep corpus order, like NAB's
	// stable sort, so the sweep is deterministic.
	slices.SortStableFunc(rows, func(a, b row) int { return cmp.Compare(b.score, a.score) })

	null := -p.FN * float64(windows)
	best, bestT := null, math.Inf(1)
	cur := null
	hit := make([]float64, base) // window id → best detection weight so far
	for i := range hit {
		hit[i] = -p.FN
	}
	for i := 0; i < len(rows); {
		t := rows[i].score
		for ; i < len(rows) && rows[i].score == t; i++ {
			r := rows[i]
			if r.window < 0 {
				cur += r.weight
				continue
			}
			if old := hit[r.window]; r.weight > old {
				cur += r.weight - old
				hit[r.window] = r.weight
			}
		}
		if cur > best {
			best, bestT = cur, t
		}
	}

	res := Result{
		Profile:   p,
		Threshold: bestT,
		Null:      null,
		Perfect:   p.TP * float64(windows),
	}
	for _, s := range corpus {
		f := scoreAt(s, p, bestT)
		res.Raw += f.Score
		res.Files = append(res.Files, f)
	}
	res.Normalized = 100 * (res.Raw - res.Null) / (res.Perfect - res.Null)
	return res, nil
}

// scoreAt scores one series at a fixed threshold: a row is a detection when
// its anomaly score is at least threshold.
func scoreAt(s Series, p Profile, threshold float64) FileResult {
	weight := make([]float64, len(s.Scores))
	window := make([]int, len(s.Scores))
	rowWeights(s, p, weight, window)
	f := FileResult{Name: s.Name}
	prob := probationRows(len(s.Scores))
	best := make([]float64, len(s.Windows)) // earliest-detection weight per window
	hit := make([]bool, len(s.Windows))
	scorable := make([]bool, len(s.Windows))
	for i := prob; i < len(s.Scores); i++ {
		detected := s.Scores[i] >= threshold
		w := window[i]
		switch {
		case w < 0 && detected:
			f.FP++
			f.Score += weight[i]
		case w < 0:
			f.TN++
		case detected:
			f.TP++
			if !hit[w] || weight[i] > best[w] {
				best[w], hit[w] = weight[i], true
			}
		default:
			f.FN++
		}
		if w >= 0 {
			scorable[w] = true
		}
	}
	for w := range s.Windows {
		switch {
		case hit[w]:
			f.Windows++
			f.WindowsHit++
			f.Score += best[w]
		case scorable[w]:
			f.Windows++
			f.Score -= p.FN
		}
	}
	return f
}
