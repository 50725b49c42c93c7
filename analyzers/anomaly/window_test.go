package anomaly

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// bruteMedianMAD computes the median and MAD of xs by sorting.
func bruteMedianMAD(xs []float64) (median, mad float64) {
	med := func(v []float64) float64 {
		s := slices.Clone(v)
		slices.Sort(s)
		n := len(s)
		if n%2 == 1 {
			return s[n/2]
		}
		return (s[n/2-1] + s[n/2]) / 2
	}
	m := med(xs)
	dev := make([]float64, len(xs))
	for i, x := range xs {
		dev[i] = math.Abs(x - m)
	}
	return m, med(dev)
}

func TestRollingWindowMatchesBruteForce(t *testing.T) {
	tests := []struct {
		name string
		size int
		gen  func(r *rand.Rand) float64
	}{
		{"odd size, continuous", 17, func(r *rand.Rand) float64 { return r.NormFloat64() }},
		{"even size, continuous", 16, func(r *rand.Rand) float64 { return r.NormFloat64() }},
		{"many ties", 33, func(r *rand.Rand) float64 { return float64(r.IntN(4)) }},
		{"skewed with outliers", 64, func(r *rand.Rand) float64 { return math.Exp(3 * r.NormFloat64()) }},
		{"size one", 1, func(r *rand.Rand) float64 { return r.Float64() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, uint64(tc.size)))
			w := newRollingWindow(tc.size)
			var all []float64
			for i := range 1000 {
				x := tc.gen(r)
				w.add(x)
				all = append(all, x)
				held := all[max(0, len(all)-tc.size):]
				if !slices.IsSorted(w.sorted) || len(w.sorted) != len(held) {
					t.Fatalf("step %d: sorted copy broken: %v", i, w.sorted)
				}
				wantM, wantMAD := bruteMedianMAD(held)
				m := w.median()
				if m != wantM {
					t.Fatalf("step %d: median %v, want %v", i, m, wantM)
				}
				if got := w.mad(m); math.Abs(got-wantMAD) > 1e-12*(1+wantMAD) {
					t.Fatalf("step %d: MAD %v, want %v (window %v)", i, got, wantMAD, held)
				}
			}
		})
	}
}

func TestRollingWindowResetStartsEmpty(t *testing.T) {
	w := newRollingWindow(4)
	for _, x := range []float64{5, 1, 9, 3, 7} {
		w.add(x)
	}
	w.reset()
	w.add(2)
	w.add(4)
	if m, mad := w.median(), w.mad(3); m != 3 || mad != 1 {
		t.Errorf("after reset: median %v MAD %v, want 3 and 1", m, mad)
	}
}
