package forecast

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

var start = time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC) // a Monday

// synth samples f every step for n points, adding Gaussian noise of σ noise.
func synth(n int, step time.Duration, noise float64, f func(h float64) float64) ([]time.Time, []float64) {
	r := rand.New(rand.NewPCG(42, uint64(n)))
	ts := make([]time.Time, n)
	vs := make([]float64, n)
	for i := range n {
		ts[i] = start.Add(time.Duration(i) * step)
		vs[i] = f(float64(i)*step.Hours()) + noise*r.NormFloat64()
	}
	return ts, vs
}

func hours(h float64) time.Duration { return time.Duration(h * float64(time.Hour)) }

func TestForecast(t *testing.T) {
	week := 7 * 24 * time.Hour
	type want struct {
		crosses  bool
		eta      time.Duration // when crosses
		tol      time.Duration // allowed |ETA − eta|
		rising   bool
		period   time.Duration
		maxWidth time.Duration // Late − Early, when both cross; 0: unchecked
	}
	tests := []struct {
		name      string
		n         int
		step      time.Duration
		noise     float64
		f         func(h float64) float64 // value at h hours after start
		threshold float64
		horizon   time.Duration
		want      want
	}{
		{
			// 48 h of data at 1 %/h from 40 %: 88 % at the last sample
			// (47.5 h), 90 % two hours later.
			name: "linear fill", n: 96, step: 30 * time.Minute,
			f:         func(h float64) float64 { return 40 + h },
			threshold: 90, horizon: week,
			want: want{crosses: true, eta: 2*time.Hour + 30*time.Minute, tol: time.Second, rising: true, maxWidth: time.Second},
		},
		{
			name: "noisy fill", n: 2016, step: 5 * time.Minute, noise: 2,
			f:         func(h float64) float64 { return 20 + 0.25*h },
			threshold: 90, horizon: week,
			// 20 + 0.25·167.9 ≈ 62 at the end, 90 about 112 h later.
			want: want{crosses: true, eta: hours(280 - 167.92), tol: 6 * time.Hour, rising: true, maxWidth: 48 * time.Hour},
		},
		{
			name: "fill with outliers", n: 500, step: 10 * time.Minute, noise: 0.5,
			f: func(h float64) float64 {
				if int(h*6)%20 == 7 { // 5 % of points, far off
					return 200
				}
				return 10 + 0.5*h
			},
			threshold: 80, horizon: week,
			want: want{crosses: true, eta: hours(140 - 83.17), tol: 2 * time.Hour, rising: true},
		},
		{
			name: "flat series never crosses", n: 2016, step: 5 * time.Minute, noise: 1,
			f:         func(float64) float64 { return 50 },
			threshold: 90, horizon: 30 * 24 * time.Hour,
			want: want{crosses: false, rising: true},
		},
		{
			name: "moving away never crosses", n: 200, step: time.Hour, noise: 0.1,
			f:         func(h float64) float64 { return 50 - 0.1*h },
			threshold: 90, horizon: 365 * 24 * time.Hour,
			want: want{crosses: false, rising: true},
		},
		{
			// Free memory falling 2/h from 100: 100 − 2·23.75 at the end,
			// 20 reached at 40 h.
			name: "decreasing", n: 96, step: 15 * time.Minute, noise: 0.2,
			f:         func(h float64) float64 { return 100 - 2*h },
			threshold: 20, horizon: week,
			want: want{crosses: true, eta: hours(40 - 23.75), tol: 15 * time.Minute, rising: false},
		},
		{
			// Seven days (to 167.75 h) of a rising trend with a daily
			// wave of ±10 peaking at 06:00. The trend line alone reaches
			// 95 at 225 h, but the wave does at 194.5 h, on the way up to
			// the peak at 198 h (the peak at 174 h only reaches 94.8).
			name: "seasonal", n: 7 * 24 * 4, step: 15 * time.Minute, noise: 1,
			f: func(h float64) float64 {
				return 50 + 0.2*h + 10*math.Sin(2*math.Pi*h/24)
			},
			threshold: 95, horizon: 30 * 24 * time.Hour,
			want: want{crosses: true, eta: hours(194.5 - 167.75), tol: 2 * time.Hour, rising: true, period: 24 * time.Hour},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts, vs := synth(tc.n, tc.step, tc.noise, tc.f)
			r, err := Forecast(ts, vs, tc.threshold, tc.horizon)
			if err != nil {
				t.Fatal(err)
			}
			w := tc.want
			if r.Crosses() != w.crosses {
				t.Fatalf("crosses = %v (ETA %v), want %v; %+v", r.Crosses(), r.ETA, w.crosses, r)
			}
			if r.Rising != w.rising {
				t.Errorf("rising = %v, want %v", r.Rising, w.rising)
			}
			if r.Period != w.period {
				t.Errorf("period = %v, want %v", r.Period, w.period)
			}
			if !(r.Early <= r.ETA && r.ETA <= r.Late) {
				t.Errorf("band out of order: early %v, ETA %v, late %v", r.Early, r.ETA, r.Late)
			}
			if !(r.SlopeLow <= r.Slope && r.Slope <= r.SlopeHigh) {
				t.Errorf("slope %v outside its interval [%v, %v]", r.Slope, r.SlopeLow, r.SlopeHigh)
			}
			if !w.crosses {
				if r.Late != Beyond {
					t.Errorf("late edge %v, want Beyond", r.Late)
				}
				return
			}
			if d := r.ETA - w.eta; d < -w.tol || d > w.tol {
				t.Errorf("ETA %v, want %v ± %v", r.ETA, w.eta, w.tol)
			}
			if w.maxWidth > 0 && (r.Late == Beyond || r.Late-r.Early > w.maxWidth) {
				t.Errorf("band %v..%v is wider than %v", r.Early, r.Late, w.maxWidth)
			}
		})
	}
}

// Noise widens the band: with more noise the early edge comes sooner and
// the late edge later.
func TestForecastBandWidensWithNoise(t *testing.T) {
	f := func(h float64) float64 { return 20 + 0.5*h }
	var prev Result
	for i, noise := range []float64{0.5, 2, 8} {
		ts, vs := synth(1000, 10*time.Minute, noise, f)
		r, err := Forecast(ts, vs, 150, 60*24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && !(r.Early < prev.Early && r.Late > prev.Late) {
			t.Errorf("noise %v: band %v..%v does not contain the band %v..%v for less noise", noise, r.Early, r.Late, prev.Early, prev.Late)
		}
		prev = r
	}
}

func TestForecastAtThreshold(t *testing.T) {
	ts, vs := synth(50, time.Hour, 0, func(h float64) float64 { return 10 + h })
	r, err := Forecast(ts, vs, 59, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if r.ETA != 0 || r.Early != 0 {
		t.Errorf("series at the threshold: ETA %v early %v, want 0", r.ETA, r.Early)
	}
}

func TestForecastRejectsBadInput(t *testing.T) {
	ts, vs := synth(20, time.Minute, 0, func(h float64) float64 { return h })
	unsorted := append([]time.Time(nil), ts...)
	unsorted[5], unsorted[6] = unsorted[6], unsorted[5]
	nan := append([]float64(nil), vs...)
	nan[3] = math.NaN()
	tests := []struct {
		name    string
		ts      []time.Time
		vs      []float64
		thr     float64
		horizon time.Duration
		want    error
	}{
		{"too short", ts[:5], vs[:5], 1, time.Hour, ErrTooShort},
		{"length mismatch", ts, vs[:10], 1, time.Hour, ErrInput},
		{"unsorted", unsorted, vs, 1, time.Hour, ErrInput},
		{"duplicate time", append([]time.Time{ts[0]}, ts[:19]...), vs, 1, time.Hour, ErrInput},
		{"NaN value", ts, nan, 1, time.Hour, ErrInput},
		{"NaN threshold", ts, vs, math.NaN(), time.Hour, ErrInput},
		{"no horizon", ts, vs, 1, 0, ErrInput},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Forecast(tc.ts, tc.vs, tc.thr, tc.horizon); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func BenchmarkForecast(b *testing.B) {
	ts, vs := synth(4032, 5*time.Minute, 2, func(h float64) float64 { return 50 + 0.1*h + 5*math.Sin(2*math.Pi*h/24) })
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Forecast(ts, vs, 100, 30*24*time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}
