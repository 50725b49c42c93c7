package anomaly

import "math"

// seasonalModel is an additive Holt-Winters model whose season is a fixed
// clock period (a day, a week) cut into equal phase bins: the expected value
// at time t is level + profile[bin(t)]. Phases come from timestamps, not from
// sample counts, so irregular sampling and gaps keep the model aligned.
// Learning uses the residual clipped to a few typical errors, so an anomaly
// bends the baseline only a little.
type seasonalModel struct {
	period  int64     // seconds
	profile []float64 // offset from level per phase bin; NaN until first visited
	level   float64
	start   int64 // first timestamp seen
	started bool
	// err is the mean absolute one-step residual since the model became
	// warm; the detector compares it with the rolling median's to decide
	// whether the season is real.
	err ewma
}

// Holt-Winters smoothing: the level follows recent data within about ten
// samples; a phase bin moves 30 % of the way to each new visit, so a changed
// daily shape is learnt within a few days.
const (
	seasonAlpha = 0.1
	seasonGamma = 0.3
	// clipErrors bounds the residual a model learns from, in mean absolute
	// errors (≈ 3.2 σ for Gaussian noise).
	clipErrors = 4
	// minErrSamples is how many residuals err needs before it is trusted
	// for clipping and model choice.
	minErrSamples = 16
)

func newSeasonalModel(period int64, bins int) seasonalModel {
	m := seasonalModel{period: period, profile: make([]float64, bins), err: newEWMA(errHalfLife)}
	m.reset()
	return m
}

func (m *seasonalModel) reset() {
	for i := range m.profile {
		m.profile[i] = math.NaN()
	}
	m.level, m.start, m.started = 0, 0, false
	m.err.reset()
}

func (m *seasonalModel) bin(ts int64) int {
	ph := ts % m.period
	if ph < 0 {
		ph += m.period
	}
	return int(ph * int64(len(m.profile)) / m.period)
}

// predict returns the expected value at ts. ok is false until the model has
// seen two full periods (so the bin has been learnt from at least one earlier
// cycle) and while the bin has never been visited.
func (m *seasonalModel) predict(ts int64) (v float64, ok bool) {
	if !m.started || ts-m.start < 2*m.period {
		return 0, false
	}
	s := m.profile[m.bin(ts)]
	if math.IsNaN(s) {
		return 0, false
	}
	return m.level + s, true
}

// trusted reports whether the model predicts and its error estimate rests on
// enough residuals to compare models.
func (m *seasonalModel) trusted(ts int64) bool {
	_, ok := m.predict(ts)
	return ok && m.err.count >= minErrSamples
}

// update folds x at ts into the model and returns the one-step residual
// x − predict(ts); ok is false when the model could not predict.
func (m *seasonalModel) update(ts int64, x float64) (resid float64, ok bool) {
	if !m.started {
		m.level, m.start, m.started = x, ts, true
	}
	b := m.bin(ts)
	if math.IsNaN(m.profile[b]) {
		m.profile[b] = x - m.level
	}
	pred, ok := m.predict(ts)
	r := x - m.level - m.profile[b]
	if m.err.count >= minErrSamples {
		c := clipErrors * m.err.mean
		r = max(-c, min(c, r))
	}
	m.level += seasonAlpha * r
	m.profile[b] += seasonGamma * (1 - seasonAlpha) * r
	if ok {
		resid = x - pred
		m.err.add(math.Abs(resid))
	}
	return resid, ok
}

// ewma is an exponentially weighted mean that starts as a plain mean and
// settles to a half-life of n samples, so early estimates are not biased
// towards the zero it starts from.
type ewma struct {
	mean  float64
	count float64
	limit float64 // effective sample count at steady state: halfLife/ln 2
}

func newEWMA(halfLife int) ewma { return ewma{limit: float64(halfLife) / math.Ln2} }

func (e *ewma) reset() { e.mean, e.count = 0, 0 }

func (e *ewma) add(x float64) {
	if e.count < e.limit {
		e.count++
	}
	e.mean += (x - e.mean) / min(e.count, e.limit)
}
