package anomaly

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// recordMax covers at least the last horizon−blockLen values and at most the
// last horizon: its max lies between the brute-force maxima of those spans.
func TestRecordMaxBracketsBruteForce(t *testing.T) {
	for _, horizon := range []int{16, 160, 1000} {
		r := newRecordMax(horizon)
		rng := rand.New(rand.NewPCG(uint64(horizon), 5))
		var xs []float64
		for i := range 5 * horizon {
			x := rng.ExpFloat64()
			if i%97 == 0 {
				x *= 10
			}
			r.add(x)
			xs = append(xs, x)
			lo := slices.Max(xs[max(0, len(xs)-(horizon-r.blockLen)):])
			hi := slices.Max(xs[max(0, len(xs)-horizon):])
			if got := r.max(); got < lo || got > hi {
				t.Fatalf("horizon %d, after %d values: max %v outside [%v, %v]", horizon, i+1, got, lo, hi)
			}
		}
		r.reset()
		if r.max() != 0 {
			t.Errorf("horizon %d: max %v after reset", horizon, r.max())
		}
	}
}

// A spike is judged against what the series has recently done: the same
// |z| ≈ 9 that pages on a quiet series is damped below AlertLevel on one
// that spiked to |z| ≈ 40 a day earlier, and the explanation says why.
func TestDetectorDampsSpikesBelowRecord(t *testing.T) {
	const at = 3000
	tests := []struct {
		name      string
		earlier   float64 // spike height a day before at, in σ; 0 for none
		wantEvent bool
	}{
		{"quiet series", 0, true},
		{"series that spiked higher recently", 40, false},
		{"series that spiked lower recently", 6, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts, vs := series(at+50, 7, func(i int, _ int64) float64 {
				switch i {
				case at - int(day/step):
					return 50 + tc.earlier
				case at:
					return 59
				}
				return 50
			})
			_, ex := scoreAll(t, ts, vs)
			e := ex[at]
			if e.Event != tc.wantEvent {
				t.Errorf("event %v, want %v: %+v", e.Event, tc.wantEvent, e)
			}
			if tc.earlier > 10 && e.Record < tc.earlier*0.8 {
				t.Errorf("record %.1f, want about %v", e.Record, tc.earlier)
			}
		})
	}
}

func TestRaisedLevel(t *testing.T) {
	tests := []struct {
		level     float64
		doublings int
		want      float64
	}{
		{0.5, 0, 0.5},
		{0.5, 1, 2.0 / 3}, // 10 digits
		{0.5, 2, 0.8},     // 20 digits
		{0.6, 1, 0.75},    // 7.5 → 15 digits
		{1, 3, 1},
	}
	for _, tc := range tests {
		if got := RaisedLevel(tc.level, tc.doublings); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("RaisedLevel(%v, %d) = %v, want %v", tc.level, tc.doublings, got, tc.want)
		}
	}
}
