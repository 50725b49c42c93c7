package anomaly

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"
)

const (
	t0   = int64(1_700_000_000) // a Tuesday, 22:13:20 UTC
	step = int64(300)           // 5-minute samples
)

// series is a synthetic metric: points every step seconds from t0 with
// Gaussian noise of σ = 1 around shape(i).
func series(n int, seed uint64, shape func(i int, ts int64) float64) ([]int64, []float64) {
	r := rand.New(rand.NewPCG(seed, 99))
	ts := make([]int64, n)
	vs := make([]float64, n)
	for i := range n {
		ts[i] = t0 + int64(i)*step
		vs[i] = shape(i, ts[i]) + r.NormFloat64()
	}
	return ts, vs
}

// dailyWave is 100 plus a daily sinusoid of amplitude 20.
func dailyWave(_ int, ts int64) float64 {
	return 100 + 20*math.Sin(2*math.Pi*float64(ts%day)/day)
}

func newDetector(t testing.TB) *Detector {
	t.Helper()
	d, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func scoreAll(t testing.TB, ts []int64, vs []float64) ([]float64, []Explanation) {
	t.Helper()
	d := newDetector(t)
	scores := make([]float64, len(vs))
	ex := make([]Explanation, len(vs))
	for i := range vs {
		scores[i] = d.Update(ts[i], vs[i])
		ex[i] = d.Explain()
	}
	return scores, ex
}

func events(ex []Explanation) []int {
	var at []int
	for i, e := range ex {
		if e.Event {
			at = append(at, i)
		}
	}
	return at
}

func TestDetectorFindsAnomalies(t *testing.T) {
	const n = 3000
	tests := []struct {
		name   string
		shape  func(i int, ts int64) float64
		at     int    // first anomalous point
		within int    // the event must open within this many points of at
		signal Signal // and be credited to this sub-detector
		// shift requires the level-shift sub-detector to reach AlertLevel
		// within the same span, whichever sub-detector opened the event.
		shift bool
	}{
		{
			name:   "spike on flat noise",
			shape:  func(i int, _ int64) float64 { return 50 + 12*b2f(i == 2000) },
			at:     2000,
			signal: Spike,
		},
		{
			name:   "negative spike",
			shape:  func(i int, _ int64) float64 { return 50 - 12*b2f(i == 2000) },
			at:     2000,
			signal: Spike,
		},
		{
			// 1.5σ per point is unremarkable alone; ten in a row are not.
			name:   "level shift too small for any single point",
			shape:  func(i int, _ int64) float64 { return 50 + 1.5*b2f(i >= 2000) },
			at:     2000,
			within: 15,
			shift:  true,
		},
		{
			name:   "spike on a daily cycle",
			shape:  func(i int, ts int64) float64 { return dailyWave(i, ts) + 12*b2f(i == 2000) },
			at:     2000,
			signal: Spike,
		},
		{
			// At 2300 the wave is near its trough; holding the peak value
			// there is normal for the series' range but not for the hour.
			name: "daily cycle stops",
			shape: func(i int, ts int64) float64 {
				if i >= 2300 {
					return 120
				}
				return dailyWave(i, ts)
			},
			at:     2300,
			within: 15,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts, vs := series(n, 1, tc.shape)
			scores, ex := scoreAll(t, ts, vs)
			ev := events(ex)
			if slices.ContainsFunc(ev, func(i int) bool { return i < tc.at && i > DefaultConfig().Warmup }) {
				t.Errorf("events before the anomaly at %v", ev)
			}
			i := slices.IndexFunc(ev, func(i int) bool { return i >= tc.at })
			if i < 0 || ev[i] > tc.at+tc.within {
				t.Fatalf("no event within %d points of %d; events %v, scores there %.3f", tc.within, tc.at, ev, scores[tc.at:tc.at+tc.within+1])
			}
			e := ex[ev[i]]
			if scores[ev[i]] < DefaultConfig().AlertLevel {
				t.Errorf("event at %d scores %v", ev[i], scores[ev[i]])
			}
			if tc.signal != Quiet && e.Signal != tc.signal {
				t.Errorf("event credited to %v, want %v (%+v)", e.Signal, tc.signal, e)
			}
			if tc.shift && !slices.ContainsFunc(ex[tc.at:tc.at+tc.within+1], func(e Explanation) bool {
				return e.ShiftScore >= DefaultConfig().AlertLevel
			}) {
				t.Errorf("level-shift sub-detector stays below %v", DefaultConfig().AlertLevel)
			}
		})
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func TestDetectorStaysQuietOnNormalData(t *testing.T) {
	tests := []struct {
		name  string
		shape func(i int, ts int64) float64
	}{
		{"white noise", func(int, int64) float64 { return 10 }},
		{"daily cycle", dailyWave},
		{"slow trend", func(i int, _ int64) float64 { return 10 + 0.002*float64(i) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts, vs := series(6000, 3, tc.shape)
			scores, ex := scoreAll(t, ts, vs)
			if ev := events(ex); len(ev) > 0 {
				t.Errorf("events at %v on normal data", ev)
			}
			if m := slices.Max(scores); m >= DefaultConfig().AlertLevel {
				t.Errorf("max score %v", m)
			}
		})
	}
}

// A daily peak that is surprising on the first day must, once the daily
// season is learnt, score low, while the same peak at another hour still
// scores high.
func TestDetectorLearnsDailySeason(t *testing.T) {
	const days = 8
	n := int(days * day / step)
	peakHour := func(ts int64) bool { return ts%day >= 14*3600 && ts%day < 15*3600 }
	moved := func(ts int64) bool { return ts%day >= 3*3600 && ts%day < 4*3600 }
	lastDay := int64(days-1) * day
	ts, vs := series(n, 5, func(_ int, ts int64) float64 {
		switch {
		case ts-t0 >= lastDay && moved(ts): // the last day peaks at 03:00 instead
			return 40
		case ts-t0 >= lastDay:
			return 20
		case peakHour(ts):
			return 40
		}
		return 20
	})
	scores, ex := scoreAll(t, ts, vs)
	maxIn := func(from, to int64, in func(int64) bool) (float64, Season) {
		m, s := 0.0, NoSeason
		for i := range ts {
			if d := ts[i] - t0; d >= from && d < to && in(ts[i]) && scores[i] > m {
				m, s = scores[i], ex[i].Season
			}
		}
		return m, s
	}
	if first, _ := maxIn(0, day, peakHour); first < DefaultConfig().AlertLevel {
		t.Errorf("first daily peak scores %v, want ≥ %v", first, DefaultConfig().AlertLevel)
	}
	for d := int64(4); d < days-1; d++ {
		s, season := maxIn(d*day, (d+1)*day, peakHour)
		if s >= 0.2 {
			t.Errorf("day %d: learnt peak scores %v", d, s)
		}
		if season != Daily {
			t.Errorf("day %d: baseline %v, want daily", d, season)
		}
	}
	if s, _ := maxIn(lastDay, lastDay+day, moved); s < DefaultConfig().AlertLevel {
		t.Errorf("peak at a new hour scores %v, want ≥ %v", s, DefaultConfig().AlertLevel)
	}
}

func TestDetectorGaps(t *testing.T) {
	cfg := DefaultConfig()
	ts, vs := series(2000, 8, func(int, int64) float64 { return 10 })
	tests := []struct {
		name      string
		gapSteps  int64 // the point at 1500 arrives this many steps after 1499
		wantReset bool
	}{
		{"missing points are filled", int64(cfg.MaxFill + 1), false},
		{"medium gap is carried over", int64(cfg.ResetGap), false},
		{"long gap resets", int64(cfg.ResetGap + 1), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			shifted := slices.Clone(ts)
			for i := 1500; i < len(ts); i++ {
				shifted[i] += (tc.gapSteps - 1) * step
			}
			scores, ex := scoreAll(t, shifted, vs)
			warm := ex[1500].Warming
			if warm != tc.wantReset {
				t.Errorf("warming after the gap = %v, want %v", warm, tc.wantReset)
			}
			if tc.wantReset {
				for i := 1500; i < 1500+cfg.Warmup; i++ {
					if scores[i] != 0 || !ex[i].Warming {
						t.Fatalf("point %d after reset: score %v warming %v", i, scores[i], ex[i].Warming)
					}
				}
				if ex[1500+cfg.Warmup].Warming {
					t.Errorf("still warming %d points after the reset", cfg.Warmup)
				}
			}
			if ev := events(ex); len(ev) > 0 {
				t.Errorf("events at %v: a gap in normal data is not an anomaly", ev)
			}
		})
	}
}

// Scores are causal: the score of a point does not change when later points
// are appended, and the same input always gives the same scores.
func TestDetectorIsCausalAndDeterministic(t *testing.T) {
	ts, vs := series(4000, 11, func(i int, ts int64) float64 {
		return dailyWave(i, ts) + 15*b2f(i%700 == 0) + 5*b2f(i > 3000)
	})
	full, _ := scoreAll(t, ts, vs)
	again, _ := scoreAll(t, ts, vs)
	if !slices.Equal(full, again) {
		t.Fatal("two runs over the same input differ")
	}
	for _, cut := range []int{200, 1234, 2999, 3500} {
		prefix, _ := scoreAll(t, ts[:cut], vs[:cut])
		if !slices.Equal(prefix, full[:cut]) {
			t.Errorf("scores of the first %d points change when later points follow", cut)
		}
	}
}

func TestDetectorHoldsRepeatEvents(t *testing.T) {
	cfg := DefaultConfig()
	tests := []struct {
		name       string
		second     int // offset of a second spike after the first
		wantEvents int
	}{
		{"repeat inside the hold is capped", cfg.Hold / 2, 1},
		{"repeat after the hold is a new event", cfg.Hold + 50, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts, vs := series(3000, 13, func(i int, _ int64) float64 {
				return 10 + 15*b2f(i == 2000 || i == 2000+tc.second)
			})
			scores, ex := scoreAll(t, ts, vs)
			if got := len(events(ex)); got != tc.wantEvents {
				t.Errorf("%d events, want %d", got, tc.wantEvents)
			}
			if tc.wantEvents == 1 {
				e := ex[2000+tc.second]
				if !e.Held || scores[2000+tc.second] >= cfg.AlertLevel || e.SpikeScore < cfg.AlertLevel {
					t.Errorf("second spike: score %v, explanation %+v", scores[2000+tc.second], e)
				}
			}
		})
	}
}

func TestDetectorIgnoresNonFiniteValues(t *testing.T) {
	ts, vs := series(1500, 17, func(i int, _ int64) float64 { return 5 + 10*b2f(i == 1200) })
	want, _ := scoreAll(t, ts, vs)
	d := newDetector(t)
	for i := range vs {
		if i%100 == 50 {
			for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
				if s := d.Update(ts[i]-1, bad); s != 0 {
					t.Fatalf("non-finite value scored %v", s)
				}
			}
		}
		if got := d.Update(ts[i], vs[i]); got != want[i] {
			t.Fatalf("point %d: score %v with non-finite values interleaved, %v without", i, got, want[i])
		}
	}
}

func TestDetectorFlatline(t *testing.T) {
	d := newDetector(t)
	for i := range 1000 {
		if s := d.Update(t0+int64(i)*step, 7); s != 0 {
			t.Fatalf("constant series scored %v at %d", s, i)
		}
	}
	if s := d.Update(t0+1000*step, 7.5); s < DefaultConfig().AlertLevel {
		t.Errorf("first change of a flat line scored %v", s)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		ok     bool
	}{
		{"default", func(*Config) {}, true},
		{"tiny window", func(c *Config) { c.Window = 4 }, false},
		{"negative warmup", func(c *Config) { c.Warmup = -1 }, false},
		{"negative fill", func(c *Config) { c.MaxFill = -1 }, false},
		{"reset gap inside fill", func(c *Config) { c.ResetGap = c.MaxFill + 1 }, false},
		{"zero alert level", func(c *Config) { c.AlertLevel = 0 }, false},
		{"NaN alert level", func(c *Config) { c.AlertLevel = math.NaN() }, false},
		{"alert level above 1", func(c *Config) { c.AlertLevel = 1.5 }, false},
		{"negative hold", func(c *Config) { c.Hold = -1 }, false},
		{"no hold, no warm-up", func(c *Config) { c.Hold, c.Warmup = 0, 0 }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.modify(&c)
			_, err := New(c)
			if (err == nil) != tc.ok {
				t.Errorf("New: err = %v, want ok = %v", err, tc.ok)
			}
		})
	}
}

// stateBytes is the memory one detector holds: the struct itself and the
// backing arrays of its buffers.
func stateBytes(d *Detector) int {
	n := int(unsafe.Sizeof(*d))
	for _, s := range [][]float64{
		d.values.ring, d.values.sorted, d.resid.ring, d.resid.sorted,
		d.daily.profile, d.weekly.profile,
		d.spike.ring, d.shift.ring, d.steps.ring, d.steps.sorted,
	} {
		n += 8 * cap(s)
	}
	return n
}

// TestStateBytes pins the per-series state quoted in the package
// documentation.
func TestStateBytes(t *testing.T) {
	const documented = 20120
	if got := stateBytes(newDetector(t)); got != documented {
		t.Errorf("a detector with DefaultConfig holds %d bytes; the package documentation says %d", got, documented)
	}
}

// The smallest allowed window still scores.
func TestDetectorSmallestWindow(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Window = minBaseline
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts, vs := series(1000, 19, func(i int, _ int64) float64 { return 3 + 20*b2f(i == 900) })
	var s float64
	for i := range vs {
		s = d.Update(ts[i], vs[i])
		if i == 900 {
			break
		}
	}
	if s < cfg.AlertLevel {
		t.Errorf("spike with a %d-point window scores %v", cfg.Window, s)
	}
}
