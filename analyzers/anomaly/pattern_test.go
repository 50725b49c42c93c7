package anomaly

import (
	"math"
	"slices"
	"testing"
)

// A rhythm that changes at values the series has always shown is invisible
// to point-wise z-scores; the pattern memory flags it.
func TestDetectorFlagsNewPatterns(t *testing.T) {
	const at = 3000
	tests := []struct {
		name  string
		shape func(i int, _ int64) float64
	}{
		{"wave turns into a sawtooth", func(i int, _ int64) float64 {
			if i >= at {
				return 50 + 40*float64(i%12)/11 - 20
			}
			return 50 + 20*math.Sin(2*math.Pi*float64(i)/48)
		}},
		{"wave stops mid-swing", func(i int, _ int64) float64 {
			if i >= at {
				return 60
			}
			return 50 + 20*math.Sin(2*math.Pi*float64(i)/48)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts, vs := series(at+200, 11, tc.shape)
			_, ex := scoreAll(t, ts, vs)
			alarm := func(e Explanation) bool { return e.PatternScore >= DefaultConfig().AlertLevel }
			if i := slices.IndexFunc(ex[:at], alarm); i >= 0 {
				t.Errorf("pattern sub-detector alarms at %d, before the change: %+v", i, ex[i])
			}
			i := slices.IndexFunc(ex[at:], alarm)
			if i < 0 || i > 60 {
				t.Fatalf("pattern sub-detector silent within 60 points of the change at %d", at)
			}
			if e := ex[at+i]; e.Novelty <= 1 {
				t.Errorf("novelty %v at a pattern score of %v", e.Novelty, e.PatternScore)
			}
		})
	}
}
