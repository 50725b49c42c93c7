package anomaly

import "math"

// likelihoodHalfLife is the memory, in points, of the distribution a
// sub-detector's statistic is compared with (about a week of 5-minute data).
const likelihoodHalfLife = 2000

// windowStat is one sub-detector: a statistic over the last k robust
// z-scores, judged against its own recent history in the manner of Numenta's
// "anomaly likelihood". The history is a Gaussian with exponentially weighted
// mean and variance; the sub-detector's score is the log-scaled tail
// probability of the current statistic under it (see logTailScore). A series
// whose z-scores are always erratic therefore has to do something more
// erratic still to score high, which is what lets one threshold serve every
// series.
type windowStat struct {
	ring []float64 // the last k clipped z-scores
	next int
	n    int
	sum  float64
	clip float64 // z is clipped to ±clip before it enters the window
	// signed averages signed z (a shift either way, judged two-sided: the
	// mean of signed z is near-Gaussian under normal conditions, whereas a
	// Gaussian fitted to a mean of |z| underrates its upper tail and
	// alarms on white noise) rather than |z| (a spike).
	signed bool
	// pointRef judges the window mean against the history of single-point
	// values instead of window means. Single points vary more than means of
	// several, so this asks more of the statistic; the spike detector uses
	// it because isolated blips are the commonest false alarm.
	pointRef bool
	mean, sq ewma // history of the reference: E[x], E[x²]
}

func newWindowStat(k int, clip float64, signed, pointRef bool) windowStat {
	return windowStat{
		ring: make([]float64, k), clip: clip, signed: signed, pointRef: pointRef,
		mean: newEWMA(likelihoodHalfLife), sq: newEWMA(likelihoodHalfLife),
	}
}

func (w *windowStat) reset() {
	w.next, w.n, w.sum = 0, 0, 0
	w.mean.reset()
	w.sq.reset()
}

// update adds the next z-score and returns the sub-detector's score in
// [0, 1]. The score is computed against the history before z is added.
func (w *windowStat) update(z float64) float64 {
	x := max(-w.clip, min(w.clip, z))
	if !w.signed {
		x = math.Abs(x)
	}
	if w.n == len(w.ring) {
		w.sum -= w.ring[w.next]
	} else {
		w.n++
	}
	w.ring[w.next] = x
	w.next = (w.next + 1) % len(w.ring)
	w.sum += x
	stat := w.sum / float64(w.n)

	score := 0.0
	if w.mean.count > 0 {
		mu := w.mean.mean
		sd := math.Sqrt(max(w.sq.mean-mu*mu, 1e-12))
		dev := (stat - mu) / sd
		if w.signed {
			dev = math.Abs(dev)
		}
		score = logTailScore(dev)
	}
	ref := stat
	if w.pointRef {
		ref = math.Abs(x)
	}
	w.mean.add(ref)
	w.sq.add(ref * ref)
	return score
}

// tailScale is the surprise, in decimal digits of tail probability, that
// scores 0.5: a one-in-10⁵ event.
const tailScale = 5

// tailDigits returns −log10 of the upper tail probability of a
// standard-normal deviate z ≥ 0. It does not saturate: past z = 30, where
// erfc underflows towards subnormals, it uses the asymptotic expansion
// log Q(z) ≈ −z²/2 − log(z·√(2π)).
func tailDigits(z float64) float64 {
	if z < 30 {
		return -math.Log10(0.5 * math.Erfc(z/math.Sqrt2))
	}
	return (z*z/2 + math.Log(z*math.Sqrt(2*math.Pi))) / math.Ln10
}

// logTailScore maps a standard-normal deviate to [0, 1) through the digits
// d = −log10 of its upper tail probability as d/(d + tailScale): 0.5 is a
// one-in-10⁵ event, 0.67 one-in-10¹⁰. Unlike a clipped −log10(p)/10 it
// keeps ranking the rarest events instead of tying them all at 1.
func logTailScore(z float64) float64 {
	if z <= 0 {
		return 0
	}
	return digitsScore(tailDigits(z))
}

// digitsScore maps tail digits d ≥ 0 to a score in [0, 1).
func digitsScore(d float64) float64 { return d / (d + tailScale) }

// scoreDigits inverts digitsScore for s in [0, 1).
func scoreDigits(s float64) float64 { return tailScale * s / (1 - s) }

// RaisedLevel returns the score that asks for the surprise of level raised
// to the power 2^doublings: with level 0.5 (one-in-10⁵), one doubling is
// 0.67 (one-in-10¹⁰), two 0.8, three 0.89. Callers that back off a noisy
// series use it to raise the bar in the detector's own units. level must be
// in (0, 1).
func RaisedLevel(level float64, doublings int) float64 {
	if level >= 1 {
		return 1
	}
	return digitsScore(scoreDigits(level) * math.Ldexp(1, doublings))
}
