package anomaly

import "math"

// The pattern sub-detector, after ARTime's adaptive resonance over windows:
// it keeps a bounded memory of the short shapes the series has shown and
// scores a window that resembles none of them. It sees what the point-wise
// z-score cannot: a changed rhythm, a flat line where there were waves, a
// burst of a new form, all at values the series has shown before.
//
// Every patternBlock points make one block value: whichever of the block's
// minimum and maximum lies further from a moving average, so a one-point
// spike survives. Block values are normalised by the series' range over the
// last rangePoints points. The feature of a window of patternWidth blocks is
// its normalised values (its level) followed by its shape (the same values
// rescaled to [0, 1] within the window), the shape weighted by shapeWeight.
// The nearest prototype in mean absolute distance either resonates (distance
// ≤ vigilance: the prototype moves learnRate of the way to the window) or no
// prototype does and the window becomes one, replacing the least recently
// resonating when the memory is full. The novelty is the nearest distance in
// units of vigilance. A novel window scores only if its distance is also
// more than patternDeviates standard deviations above the series' usual
// nearest distance (noise too rich for the memory is not novel), and then
// digitsScore(tailScale·novelty/patternMargin): AlertLevel 0.5 at 10 % past
// vigilance, 0.67 at twice that distance.
const (
	patternBlock  = 2
	patternWidth  = 6
	patternDim    = 2 * patternWidth
	patternProtos = 64
	vigilance     = 0.15
	learnRate     = 0.1
	shapeWeight   = 0.5
	// shapeFloor is the least window range, as a fraction of the series'
	// range, that the shape is rescaled by, so that noise on a plateau does
	// not pass for a shape.
	shapeFloor = 0.3
	// patternDeviates and patternMargin: see above.
	patternDeviates = 2
	patternMargin   = 1.1
	// patternQuiet is how many blocks before a novel window must all have
	// been recognised for its novelty to count. A series that keeps making
	// new shapes (noise too rich for the memory) is not surprising when it
	// makes one more; ARTime masks new categories the same way.
	patternQuiet = 12
	// Prototypes learnt while the range was narrower are in other units, so
	// novelty does not count for widenQuiet blocks after the range widened
	// by more than widenFactor (new extremes are the spike and shift
	// detectors' business).
	widenFactor = 0.1
	widenQuiet  = 50
	// patternWarmup is how many points the memory learns from before its
	// novelty counts: early on every window is new.
	patternWarmup = 300
	// rangePoints is the horizon of the range that normalises values.
	rangePoints = 8000
)

type patternMemory struct {
	// the block being filled
	sum, lo, hi float64
	n           int
	ma          float64 // moving average of block means
	blocks      int     // blocks completed
	rangeHi     recordMax
	rangeLo     recordMax // of −value
	window      [patternWidth]float64
	protos      [patternProtos][patternDim]float64
	lastUse     [patternProtos]int32 // block count of the last resonance
	nProtos     int
	lastNew     int // block count when a window last became a prototype
	widened     int // block count when the range last widened by widenFactor
	// history of the nearest distances, to judge a novel window's
	// distance against
	mean, sq ewma
}

func newPatternMemory() patternMemory {
	return patternMemory{rangeHi: newRecordMax(rangePoints), rangeLo: newRecordMax(rangePoints),
		mean: newEWMA(likelihoodHalfLife), sq: newEWMA(likelihoodHalfLife)}
}

func (p *patternMemory) reset() {
	*p = newPatternMemory()
}

// update folds in the next point. When the point completes a window that no
// prototype recognises, after patternQuiet recognised ones, it returns the
// window's novelty (nearest distance in units of vigilance, > 1) and the
// deviate of that distance from the history of nearest distances; else
// zeros.
func (p *patternMemory) update(x float64) (novelty, dev float64) {
	if p.n == 0 {
		p.lo, p.hi, p.sum = x, x, 0
	}
	p.sum += x
	p.lo, p.hi = min(p.lo, x), max(p.hi, x)
	p.n++
	span := p.rangeHi.max() + p.rangeLo.max()
	p.rangeHi.add(x)
	p.rangeLo.add(-x)
	if grown := p.rangeHi.max() + p.rangeLo.max(); grown > (1+widenFactor)*span {
		p.widened = p.blocks
	}
	if p.n < patternBlock {
		return 0, 0
	}
	mean := p.sum / float64(p.n)
	p.n = 0
	if p.blocks == 0 {
		p.ma = mean
	}
	p.ma = (p.ma + mean) / 2
	v := p.hi
	if math.Abs(p.lo-p.ma) > math.Abs(p.hi-p.ma) {
		v = p.lo
	}
	top, bottom := p.rangeHi.max(), -p.rangeLo.max()
	norm := 0.0
	if top > bottom {
		norm = (v - bottom) / (top - bottom)
	}
	copy(p.window[:], p.window[1:])
	p.window[patternWidth-1] = norm
	p.blocks++
	if p.blocks < patternWidth {
		return 0, 0
	}
	var f [patternDim]float64
	wLo, wHi := p.window[0], p.window[0]
	for _, w := range p.window {
		wLo, wHi = min(wLo, w), max(wHi, w)
	}
	for i, w := range p.window {
		f[i] = w
		f[patternWidth+i] = shapeWeight * (w - wLo) / max(wHi-wLo, shapeFloor)
	}
	best, at := math.Inf(1), -1
	for i := range p.nProtos {
		// Most prototypes are far; the first half of the distance (the
		// level) usually rules them out.
		c := &p.protos[i]
		d := 0.0
		for k := range patternWidth {
			d += math.Abs(c[k] - f[k])
		}
		if d >= best {
			continue
		}
		for k := patternWidth; k < patternDim; k++ {
			d += math.Abs(c[k] - f[k])
		}
		if d < best {
			best, at = d, i
		}
	}
	best /= patternDim * vigilance
	if at >= 0 {
		mu := p.mean.mean
		dev = (best - mu) / math.Sqrt(max(p.sq.mean-mu*mu, 1e-12))
		p.mean.add(best)
		p.sq.add(best * best)
	}
	stamp := int32(min(p.blocks, math.MaxInt32))
	if at >= 0 && best <= 1 {
		for k := range f {
			p.protos[at][k] += learnRate * (f[k] - p.protos[at][k])
		}
		p.lastUse[at] = stamp
		return 0, 0
	}
	slot := p.nProtos
	if slot < patternProtos {
		p.nProtos++
	} else {
		slot = 0
		for i, u := range p.lastUse {
			if u < p.lastUse[slot] {
				slot = i
			}
		}
	}
	p.protos[slot], p.lastUse[slot] = f, stamp
	quiet := p.blocks - p.lastNew
	p.lastNew = p.blocks
	if at < 0 || quiet <= patternQuiet || p.blocks-p.widened <= widenQuiet {
		return 0, 0
	}
	return best, dev
}
