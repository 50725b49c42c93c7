// Package forecast estimates when a metric will cross a threshold: when a
// disk fills, a queue backs up or free memory runs out.
//
// # Method
//
// Forecast fits value = level + slope·t + season(t) robustly:
//
//  1. Trend: the Theil–Sen estimator, the median of the slopes between all
//     pairs of points, with the level the median of value − slope·t. It
//     ignores up to 29 % of arbitrary outliers. Series longer than 300
//     points are thinned to 300 evenly spaced points first, which bounds the
//     cost at 45 000 pairs.
//  2. Season: a daily or a weekly profile (hourly medians of the detrended
//     values, centred on zero) is kept only if the series spans two periods
//     and the profile cuts the residuals' MAD by at least 20 %. The stronger
//     of the two wins, and the trend is then refitted on the deseasonalised
//     values.
//  3. Uncertainty: Sen's 95 % confidence interval for the slope (order
//     statistics of the pairwise slopes; it assumes independent residuals,
//     so autocorrelated series get a band that is too narrow), and the
//     residuals' robust σ (1.4826·MAD).
//
// The central forecast is the fitted path. The early edge is the path with
// the slope at the end of its interval that approaches the threshold sooner,
// pivoted at the data's median time and shifted 1.96 σ towards the
// threshold. The late edge uses the other end, shifted 1.96 σ away. All
// three are searched up to the horizon. The search is exact for a straight
// line and uses a grid of one profile phase (an hour) otherwise, refined by
// linear interpolation.
package forecast

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"gonum.org/v1/gonum/stat/distuv"
)

// Beyond is the time to a crossing that does not happen within the horizon.
// It is the largest Duration, so Early ≤ ETA ≤ Late always holds.
const Beyond = time.Duration(math.MaxInt64)

// Result is a threshold-crossing forecast. Durations count from the last
// sample.
type Result struct {
	ETA   time.Duration // central estimate of the crossing, or Beyond
	Early time.Duration // earliest plausible crossing (95 % band), or Beyond
	Late  time.Duration // latest plausible crossing (95 % band), or Beyond
	// Rising is true when the fitted value at the last sample is below the
	// threshold, so the crossing is upwards.
	Rising bool
	Level  float64 // fitted value (trend + season) at the last sample
	// Slope is the trend per second, with its 95 % confidence interval.
	Slope, SlopeLow, SlopeHigh float64
	Noise                      float64       // robust σ of the residuals
	Period                     time.Duration // detected season: 0, 24h or 168h
}

// Crosses reports whether the central forecast crosses within the horizon.
func (r Result) Crosses() bool { return r.ETA != Beyond }

// Errors for series Forecast cannot fit.
var (
	ErrTooShort = fmt.Errorf("forecast: need at least %d points", minPoints)
	ErrInput    = errors.New("forecast: invalid input")
)

const (
	minPoints = 8
	// maxFitPoints bounds the points the Theil–Sen fit uses (n(n−1)/2 pairs).
	maxFitPoints = 300
	// seasonGain is how much a profile must cut the residual MAD to count.
	seasonGain = 0.8
)

// z95 is the two-sided 95 % standard normal quantile.
var z95 = distuv.UnitNormal.Quantile(0.975)

// Forecast estimates when the series (times strictly increasing, values
// finite) reaches threshold from where it is now, looking at most horizon
// past the last sample: upwards if the fitted value at the last sample is
// below the threshold (Result.Rising), downwards otherwise. A series that
// moves away from the threshold does not cross (ETA is Beyond). Forecast
// fails with ErrTooShort or ErrInput, wrapped with the reason, when it cannot
// fit the series.
func Forecast(times []time.Time, values []float64, threshold float64, horizon time.Duration) (Result, error) {
	if err := validate(times, values, threshold, horizon); err != nil {
		return Result{}, err
	}
	n := len(values)
	last := times[n-1]
	// x is seconds relative to the last sample (≤ 0).
	x := make([]float64, n)
	for i, t := range times {
		x[i] = t.Sub(last).Seconds()
	}

	fit := fitTrend(x, values)
	var season *profile
	if s := detectSeason(times, x, values, fit); s != nil {
		season = s
		deseason := make([]float64, n)
		for i, v := range values {
			deseason[i] = v - s.at(times[i])
		}
		fit = fitTrend(x, deseason)
	}
	resid := make([]float64, n)
	for i, v := range values {
		resid[i] = v - fit.at(x[i]) - season.at(times[i])
	}
	noise := 1.4826 * mad(resid)

	r := Result{
		Level:     fit.at(0) + season.at(last),
		Slope:     fit.slope,
		SlopeLow:  fit.low,
		SlopeHigh: fit.high,
		Noise:     noise,
	}
	if season != nil {
		r.Period = season.period
	}
	r.Rising = r.Level < threshold

	// Paths towards the threshold: sign +1 means "towards" when rising.
	sign := 1.0
	fast, slow := fit.high, fit.low
	if !r.Rising {
		sign = -1
		fast, slow = fit.low, fit.high
	}
	h := horizon.Seconds()
	pivot, pivotLevel := fit.pivot, fit.at(fit.pivot)
	central := path{level: fit.at(0), slope: fit.slope, season: season, last: last}
	early := path{level: pivotLevel - fast*pivot + sign*z95*noise, slope: fast, season: season, last: last}
	late := path{level: pivotLevel - slow*pivot - sign*z95*noise, slope: slow, season: season, last: last}
	r.ETA = central.crossing(threshold, r.Rising, h)
	r.Early = min(early.crossing(threshold, r.Rising, h), r.ETA)
	r.Late = max(late.crossing(threshold, r.Rising, h), r.ETA)
	return r, nil
}

func validate(times []time.Time, values []float64, threshold float64, horizon time.Duration) error {
	switch {
	case len(times) != len(values):
		return fmt.Errorf("%w: %d times for %d values", ErrInput, len(times), len(values))
	case len(values) < minPoints:
		return fmt.Errorf("%w, got %d", ErrTooShort, len(values))
	case math.IsNaN(threshold) || math.IsInf(threshold, 0):
		return fmt.Errorf("%w: threshold %v", ErrInput, threshold)
	case horizon <= 0:
		return fmt.Errorf("%w: horizon %v is not positive", ErrInput, horizon)
	}
	for i, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: value %d is %v", ErrInput, i, v)
		}
		if i > 0 && !times[i].After(times[i-1]) {
			return fmt.Errorf("%w: time %d (%v) is not after time %d (%v)", ErrInput, i, times[i], i-1, times[i-1])
		}
	}
	return nil
}

// trend is a robust line value = level + slope·x (x in seconds from the last
// sample) with Sen's 95 % interval for the slope.
type trend struct {
	level, slope, low, high float64
	pivot                   float64 // median x of the fitted points, where the slope interval pivots
}

func (f trend) at(x float64) float64 { return f.level + f.slope*x }

// fitTrend fits a Theil–Sen line to at most maxFitPoints evenly spaced points.
func fitTrend(x, y []float64) trend {
	idx := thin(len(x), maxFitPoints)
	m := len(idx)
	slopes := make([]float64, 0, m*(m-1)/2)
	for a := range idx {
		for b := a + 1; b < m; b++ {
			i, j := idx[a], idx[b]
			slopes = append(slopes, (y[j]-y[i])/(x[j]-x[i]))
		}
	}
	slices.Sort(slopes)
	f := trend{slope: median(slopes)}
	// Sen (1968): with C = z·sqrt(Var S), S the Mann–Kendall statistic, the
	// interval runs from the M1-th to the (M2+1)-th smallest slope (1-based),
	// M1 = (N−C)/2 and M2 = (N+C)/2 for N pairs.
	nPairs := float64(len(slopes))
	c := z95 * math.Sqrt(float64(m*(m-1)*(2*m+5))/18)
	lo := int(math.Round((nPairs-c)/2)) - 1
	hi := int(math.Round((nPairs + c) / 2))
	f.low = slopes[max(0, min(lo, len(slopes)-1))]
	f.high = slopes[max(0, min(hi, len(slopes)-1))]

	off := make([]float64, m)
	xs := make([]float64, m)
	for k, i := range idx {
		off[k] = y[i] - f.slope*x[i]
		xs[k] = x[i]
	}
	slices.Sort(off)
	f.level = median(off)
	f.pivot = median(xs) // x is increasing, so xs is sorted
	return f
}

// thin returns up to k indexes spread evenly over [0, n), always including
// both ends.
func thin(n, k int) []int {
	if n <= k {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	idx := make([]int, k)
	for i := range idx {
		idx[i] = int(math.Round(float64(i) * float64(n-1) / float64(k-1)))
	}
	return idx
}

// profile is a seasonal shape: hourly offsets around zero over a period,
// read with linear interpolation between bin centres. A nil profile is no
// season.
type profile struct {
	period time.Duration
	bins   []float64
}

// at returns the seasonal offset at t; 0 for a nil profile.
func (p *profile) at(t time.Time) float64 {
	if p == nil {
		return 0
	}
	n := len(p.bins)
	pos := phase(t, p.period)*float64(n) - 0.5 // in bins, centres at integers
	i := int(math.Floor(pos))
	f := pos - float64(i)
	a := p.bins[((i%n)+n)%n]
	b := p.bins[(((i+1)%n)+n)%n]
	return a + f*(b-a)
}

// phase is t's position in its period, in [0, 1), on the UTC clock.
func phase(t time.Time, period time.Duration) float64 {
	s := t.Unix() % int64(period/time.Second)
	if s < 0 {
		s += int64(period / time.Second)
	}
	return float64(s) / period.Seconds()
}

// detectSeason tries a daily and a weekly hourly profile of the detrended
// values and returns the one that cuts the residual MAD most, if either cuts
// it by at least 1 − seasonGain.
func detectSeason(times []time.Time, x, y []float64, f trend) *profile {
	resid := make([]float64, len(y))
	for i := range y {
		resid[i] = y[i] - f.at(x[i])
	}
	base := mad(resid)
	if base == 0 {
		return nil
	}
	var best *profile
	bestMAD := seasonGain * base
	span := -x[0]
	for _, period := range []time.Duration{24 * time.Hour, 7 * 24 * time.Hour} {
		if span < 2*period.Seconds() {
			continue
		}
		p := hourlyProfile(times, resid, period)
		if p == nil {
			continue
		}
		left := make([]float64, len(resid))
		for i := range resid {
			left[i] = resid[i] - p.at(times[i])
		}
		if m := mad(left); m < bestMAD {
			best, bestMAD = p, m
		}
	}
	return best
}

// hourlyProfile is the median residual per hour of the period, centred so
// its median is 0 (the trend keeps the level). It is nil if an hour has
// fewer than two samples.
func hourlyProfile(times []time.Time, resid []float64, period time.Duration) *profile {
	n := int(period / time.Hour)
	groups := make([][]float64, n)
	for i, t := range times {
		b := min(int(phase(t, period)*float64(n)), n-1)
		groups[b] = append(groups[b], resid[i])
	}
	bins := make([]float64, n)
	for b, g := range groups {
		if len(g) < 2 {
			return nil
		}
		slices.Sort(g)
		bins[b] = median(g)
	}
	c := median(slices.Sorted(slices.Values(bins)))
	for b := range bins {
		bins[b] -= c
	}
	return &profile{period: period, bins: bins}
}

// path is a forecast line level + slope·x plus a season, x in seconds after
// the last sample.
type path struct {
	level, slope float64
	season       *profile
	last         time.Time
}

func (p path) at(x float64) float64 {
	return p.level + p.slope*x + p.season.at(p.last.Add(time.Duration(x*float64(time.Second))))
}

// crossing returns the time from the last sample until p reaches threshold
// (from below when rising, from above otherwise), 0 if it is already there,
// or Beyond if that is not within h seconds.
func (p path) crossing(threshold float64, rising bool, h float64) time.Duration {
	past := func(v float64) bool { return rising && v >= threshold || !rising && v <= threshold }
	if past(p.at(0)) {
		return 0
	}
	if p.season == nil {
		if p.slope == 0 || (p.slope > 0) != rising {
			return Beyond
		}
		if x := (threshold - p.level) / p.slope; x <= h {
			return seconds(x)
		}
		return Beyond
	}
	step := p.season.period.Seconds() / float64(len(p.season.bins))
	prevX, prevV := 0.0, p.at(0)
	for k := 1; ; k++ {
		x := min(float64(k)*step, h)
		v := p.at(x)
		if past(v) {
			// Interpolate within the step for the crossing time.
			return seconds(prevX + (x-prevX)*(threshold-prevV)/(v-prevV))
		}
		if x >= h {
			return Beyond
		}
		prevX, prevV = x, v
	}
}

func seconds(x float64) time.Duration { return time.Duration(math.Round(x * float64(time.Second))) }

// median of sorted values; NaN for none.
func median(sorted []float64) float64 {
	n := len(sorted)
	switch {
	case n == 0:
		return math.NaN()
	case n%2 == 1:
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// mad is the median absolute deviation from the median, unscaled.
func mad(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	m := median(s)
	for i := range s {
		s[i] = math.Abs(s[i] - m)
	}
	slices.Sort(s)
	return median(s)
}
