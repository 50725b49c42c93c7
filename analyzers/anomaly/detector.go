package anomaly

import (
	"fmt"
	"math"
)

// Config is the detector's configuration. One configuration serves every
// series: scales, seasonality and noise levels are learnt per series.
type Config struct {
	// Window is how many recent points the rolling median and MAD cover.
	Window int
	// Warmup is how many points after a start or reset score 0 while the
	// baselines and score calibration learn the series.
	Warmup int
	// MaxFill is the most missing points, in sampling steps, that a gap may
	// hold and still be filled by linear interpolation; longer gaps are
	// left unfilled.
	MaxFill int
	// ResetGap is the gap, in sampling steps, beyond which the detector
	// forgets everything and warms up again, since its baselines no longer
	// describe the series.
	ResetGap int
	// AlertLevel is the score at which a point opens an anomaly event.
	AlertLevel float64
	// Hold is how many points after an event have their score capped just
	// below AlertLevel, so one incident raises one event rather than a
	// burst.
	Hold int
}

// DefaultConfig returns the configuration measured on NAB (see package
// documentation).
func DefaultConfig() Config {
	return Config{
		Window:     256,
		Warmup:     150,
		MaxFill:    9,
		ResetGap:   500,
		AlertLevel: 0.5,
		Hold:       100,
	}
}

// Validate reports the first field that is out of range.
func (c Config) Validate() error {
	switch {
	case c.Window < minBaseline:
		return fmt.Errorf("anomaly: Window %d: want at least %d points", c.Window, minBaseline)
	case c.Warmup < 0:
		return fmt.Errorf("anomaly: Warmup %d: want ≥ 0", c.Warmup)
	case c.MaxFill < 0:
		return fmt.Errorf("anomaly: MaxFill %d: want ≥ 0", c.MaxFill)
	case c.ResetGap <= c.MaxFill+1:
		return fmt.Errorf("anomaly: ResetGap %d: want more than MaxFill+1 = %d", c.ResetGap, c.MaxFill+1)
	case !(c.AlertLevel > 0 && c.AlertLevel <= 1):
		return fmt.Errorf("anomaly: AlertLevel %v: want in (0, 1]", c.AlertLevel)
	case c.Hold < 0:
		return fmt.Errorf("anomaly: Hold %d: want ≥ 0", c.Hold)
	}
	return nil
}

// Fixed parts of the method. They are constants rather than Config fields
// because they were chosen once for the method, not per deployment.
const (
	// minBaseline is how many points the rolling window needs before a
	// point gets a z-score.
	minBaseline = 16
	// errHalfLife is the memory, in points, of the baselines' error
	// trackers that pick between the rolling median and a season.
	errHalfLife = 500
	// seasonGain: a seasonal baseline replaces the rolling median only if
	// its mean absolute error is below this fraction of the median's.
	seasonGain = 0.7
	// scaleFloor bounds the robust scale from below, as a fraction of the
	// σ implied by the mean absolute error, for series whose MAD is 0
	// (more than half the points equal).
	scaleFloor = 0.3
	// madToSigma and meanAbsToSigma turn a MAD and a mean absolute
	// deviation into σ for Gaussian data.
	madToSigma     = 1.4826
	meanAbsToSigma = 1.2533
	// Sub-detector windows and clips, in points and robust z units. The
	// clips bound what one wild point adds to a sub-detector's history. A
	// shift clip of 15 (was 10) took NAB from 68.20 / 57.66 / 73.63 to
	// 69.76 / 59.00 / 75.24. A spike clip of 20 scored 70.45 / 60.25 / 75.70
	// but made a 300σ spike look like a 20σ one, so a noisy series' back-off
	// held back a spike far stronger than its habit
	// (TestMetricsBackOffANoisySeries); the spike clip stays at 30.
	spikePoints = 2
	spikeCap    = 30
	shiftPoints = 10
	shiftCap    = 15
	// recordPoints is the horizon (about four weeks of 5-minute data) of
	// the spike detector's record: the largest |z| the series has shown
	// recently. recordShare is the fraction of the record a spike must reach
	// to keep its full score; below it the spike's tail digits shrink in
	// proportion. A series that spikes to |z| = 20 every few days thus needs
	// more than a |z| = 12 to page, whereas a quiet series keeps the plain
	// tail test. On NAB this took the low-FP profile from 49.8 to 56.6.
	recordPoints = 8000
	recordShare  = 0.6
	// stepWindow is how many recent timestamp deltas estimate the sampling
	// step (their median).
	stepWindow = 9
	// heldFactor caps held scores just below AlertLevel.
	heldFactor = 0.99
	dailyBins  = 144 // 10-minute phases
	weeklyBins = 336 // 30-minute phases
	day        = 86400
	week       = 7 * day
)

// Season names the baseline a score was computed against.
type Season uint8

// Baselines.
const (
	NoSeason Season = iota // rolling median of the last Window points
	Daily                  // Holt-Winters with a daily profile
	Weekly                 // Holt-Winters with a weekly profile
)

func (s Season) String() string {
	switch s {
	case Daily:
		return "daily"
	case Weekly:
		return "weekly"
	}
	return "none"
}

// Signal names the sub-detector behind a score.
type Signal uint8

// Sub-detectors.
const (
	Quiet      Signal = iota // no sub-detector scored above 0
	Spike                    // one or two points far from the baseline
	LevelShift               // the last 10 points sit consistently off the baseline
	Pattern                  // the last 12 points form a shape unlike any remembered
)

func (s Signal) String() string {
	switch s {
	case Spike:
		return "spike"
	case LevelShift:
		return "level shift"
	case Pattern:
		return "new pattern"
	}
	return "quiet"
}

// Explanation says why the detector scored a point as it did.
type Explanation struct {
	Time     int64   // unix seconds
	Value    float64 // the observed value
	Score    float64 // what Update returned
	Baseline float64 // the value expected at Time
	Scale    float64 // robust σ of residuals, in the units of Value
	Z        float64 // (Value − Baseline) / Scale; 0 before a baseline exists
	Season   Season  // which baseline Baseline came from
	// Record is the largest |Z| of roughly the last 8000 points before
	// this one. A spike whose |Z| is under 0.6·Record has its SpikeScore
	// damped in proportion: the series has recently done more than this.
	Record float64
	Signal Signal // the sub-detector that produced the raw score
	// SpikeScore, ShiftScore and PatternScore are the sub-detectors'
	// scores before warm-up and hold are applied; the raw score is their
	// maximum.
	SpikeScore, ShiftScore, PatternScore float64
	// Novelty is how far the window the point completed lies from every
	// remembered pattern, in units of the vigilance within which a pattern
	// is recognised; 0 when the window was recognised or none was
	// completed.
	Novelty float64
	Event   bool // the point opened an anomaly event
	Held    bool // the score was capped by an earlier event's hold
	Warming bool // the detector is still in warm-up; Score is 0
}

// Detector scores one metric series, one point at a time. Scores are causal:
// the score of a point depends only on it and the points before it. A
// Detector is not safe for concurrent use; use one per series.
type Detector struct {
	cfg Config

	values rollingWindow // raw values: rolling median and MAD
	resid  rollingWindow // |residual| of the best seasonal model: its robust scale
	daily  seasonalModel
	weekly seasonalModel
	// medianErr is the mean |x − rolling median|: the yardstick seasons must
	// beat, and the fallback scale when the MAD is 0.
	medianErr ewma

	spike  windowStat
	shift  windowStat
	record recordMax // |z| over the last recordPoints points
	shapes patternMemory

	steps  rollingWindow // recent timestamp deltas, seconds
	seen   bool          // a point has been observed since start or reset
	lastTS int64
	lastV  float64
	points int // real (not filled) points since start or reset
	hold   int // points left in the current event's hold
	last   Explanation
}

// New returns a detector for one series.
func New(cfg Config) (*Detector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &Detector{
		cfg:       cfg,
		values:    newRollingWindow(cfg.Window),
		resid:     newRollingWindow(cfg.Window),
		daily:     newSeasonalModel(day, dailyBins),
		weekly:    newSeasonalModel(week, weeklyBins),
		medianErr: newEWMA(errHalfLife),
		spike:     newWindowStat(spikePoints, spikeCap, false, true),
		shift:     newWindowStat(shiftPoints, shiftCap, true, false),
		record:    newRecordMax(recordPoints),
		shapes:    newPatternMemory(),
		steps:     newRollingWindow(stepWindow),
	}
	return d, nil
}

// Reset forgets everything learnt, as after a long gap.
func (d *Detector) Reset() {
	d.values.reset()
	d.resid.reset()
	d.daily.reset()
	d.weekly.reset()
	d.medianErr.reset()
	d.spike.reset()
	d.shift.reset()
	d.record.reset()
	d.shapes.reset()
	d.steps.reset()
	d.seen, d.lastTS, d.lastV, d.points, d.hold = false, 0, 0, 0, 0
}

// Explain describes the latest point that Update scored.
func (d *Detector) Explain() Explanation { return d.last }

// Update feeds the next point of the series, at unix time ts (seconds), and
// returns its anomaly score in [0, 1]: 0 is normal, AlertLevel and above
// marks the first point of an anomaly event.
//
// Timestamps should increase. A gap of up to MaxFill missing sampling steps
// is filled by linear interpolation (the filled points teach the baselines
// but are not scored); a gap longer than ResetGap steps resets the detector.
// A point at or before the previous timestamp is taken as the next sample.
// A NaN or infinite value is treated as missing: it changes nothing and
// scores 0.
func (d *Detector) Update(ts int64, v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	if d.seen && ts > d.lastTS {
		dt := float64(ts - d.lastTS)
		if d.steps.n > 0 {
			gap := math.Round(dt / d.steps.median())
			switch {
			case gap > float64(d.cfg.ResetGap):
				d.Reset()
			case gap >= 2 && gap <= float64(d.cfg.MaxFill+1):
				for i := 1.0; i < gap; i++ {
					f := i / gap
					d.learn(d.lastTS+int64(f*dt), d.lastV+f*(v-d.lastV))
				}
			}
		}
		if d.seen {
			d.steps.add(dt)
		}
	}
	d.seen, d.lastTS, d.lastV = true, ts, v
	d.points++
	e, ok := d.baseline(ts, v)
	if nov, dev := d.shapes.update(v); nov > 0 && d.points > patternWarmup {
		e.Novelty = nov
		if dev > patternDeviates {
			e.PatternScore = digitsScore(tailScale * nov / patternMargin)
		}
	}
	d.learn(ts, v)
	d.score(&e, ok)
	d.last = e
	return e.Score
}

// baseline explains x at ts against the current state, before x is learnt.
// ok is false while the rolling window is too short to give a z-score.
func (d *Detector) baseline(ts int64, x float64) (e Explanation, ok bool) {
	e = Explanation{Time: ts, Value: x}
	if d.values.n < minBaseline {
		return e, false
	}
	m := d.values.median()
	floor := 1e-9 * (1 + math.Abs(m))
	e.Baseline = m
	e.Scale = max(madToSigma*d.values.mad(m), scaleFloor*meanAbsToSigma*d.medianErr.mean, floor)
	if s, ok := d.bestSeason(ts); ok && s.err.mean < seasonGain*d.medianErr.mean && d.resid.n >= minBaseline {
		e.Baseline, _ = s.predict(ts)
		e.Scale = max(madToSigma*d.resid.median(), scaleFloor*meanAbsToSigma*s.err.mean, floor)
		e.Season = Daily
		if s == &d.weekly {
			e.Season = Weekly
		}
	}
	e.Z = (x - e.Baseline) / e.Scale
	return e, true
}

// bestSeason returns the trusted seasonal model with the lower error, if
// any.
func (d *Detector) bestSeason(ts int64) (*seasonalModel, bool) {
	dOK, wOK := d.daily.trusted(ts), d.weekly.trusted(ts)
	switch {
	case wOK && (!dOK || d.weekly.err.mean < d.daily.err.mean):
		return &d.weekly, true
	case dOK:
		return &d.daily, true
	}
	return nil, false
}

// learn folds x at ts into the baselines (not into the score calibration).
func (d *Detector) learn(ts int64, x float64) {
	if d.values.n >= minBaseline {
		d.medianErr.add(math.Abs(x - d.values.median()))
	}
	best, ok := d.bestSeason(ts)
	rd, okD := d.daily.update(ts, x)
	rw, okW := d.weekly.update(ts, x)
	switch {
	case ok && best == &d.weekly && okW:
		d.resid.add(math.Abs(rw))
	case okD:
		d.resid.add(math.Abs(rd))
	}
	d.values.add(x)
}

// score runs the sub-detectors on e.Z and applies warm-up and the event
// hold. hasZ is false when the point got no z-score.
func (d *Detector) score(e *Explanation, hasZ bool) {
	if !hasZ {
		// Keep the calibration free of the meaningless zeros of the
		// first points.
		e.Warming = true
		return
	}
	e.SpikeScore = d.spike.update(e.Z)
	az := math.Abs(e.Z)
	e.Record = d.record.max()
	if bar := recordShare * e.Record; az < bar {
		e.SpikeScore = digitsScore(scoreDigits(e.SpikeScore) * az / bar)
	}
	d.record.add(az)
	e.ShiftScore = d.shift.update(e.Z)
	raw := max(e.SpikeScore, e.ShiftScore, e.PatternScore)
	switch {
	case raw == 0:
		e.Signal = Quiet
	case raw == e.SpikeScore:
		e.Signal = Spike
	case raw == e.ShiftScore:
		e.Signal = LevelShift
	default:
		e.Signal = Pattern
	}
	if d.points <= d.cfg.Warmup {
		e.Warming = true
		return
	}
	switch {
	case d.hold > 0:
		d.hold--
		e.Held = raw >= d.cfg.AlertLevel*heldFactor
		e.Score = min(raw, d.cfg.AlertLevel*heldFactor)
	case raw >= d.cfg.AlertLevel:
		d.hold = d.cfg.Hold
		e.Event = true
		e.Score = raw
	default:
		e.Score = raw
	}
}
