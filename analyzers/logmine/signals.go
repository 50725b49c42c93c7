package logmine

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"
)

// SignalKind names a kind of log anomaly.
type SignalKind string

const (
	// SignalNewTemplate: a template first seen after the warm-up.
	SignalNewTemplate SignalKind = "new_template"
	// SignalRateSurge: a template's count in an interval is improbably high
	// against its own baseline.
	SignalRateSurge SignalKind = "rate_surge"
	// SignalErrorBurst: the count of error-level lines in an interval is
	// improbably high against its baseline.
	SignalErrorBurst SignalKind = "error_burst"
)

// maxExamples is the number of example lines a signal carries.
const maxExamples = 5

// Observation is one mined log line as the Detector sees it.
type Observation struct {
	Time       time.Time
	TemplateID TemplateID
	// Template is the template's text, carried into signals.
	Template string
	// Level is the line's severity as logged ("ERROR", "E", "warn", ...).
	Level string
	// Line is the raw line, kept as an example if the line ends up in a
	// signal. It passes through DetectorConfig.Redact before it is kept.
	Line string
}

// Signal is a detected log anomaly over one interval [Start, End).
type Signal struct {
	Kind       SignalKind
	Start, End time.Time
	// TemplateID and Template name the template concerned. For an error
	// burst they name the template with the most error lines in the
	// interval.
	TemplateID TemplateID
	Template   string
	// Count is the number of lines in the interval (error lines for an
	// error burst).
	Count int64
	// Baseline is the expected count per interval before this one (the
	// EWMA), and PValue the probability of a count at least this high under
	// the count model; both are zero for new templates.
	Baseline float64
	PValue   float64
	// Examples holds up to five redacted lines of the interval, in arrival
	// order.
	Examples []string
}

// DetectorConfig configures a Detector. Zero fields take the defaults given.
type DetectorConfig struct {
	// Interval is the width of the counting intervals. Default 1m.
	Interval time.Duration
	// WarmUp is how long after the first observation templates count as
	// known rather than new. Default 1h.
	WarmUp time.Duration
	// Alpha is the EWMA weight of the latest interval in the baselines
	// (mean and variance of per-interval counts). Default 0.05, a memory of
	// about 20 intervals.
	Alpha float64
	// MinHistory is the number of intervals a baseline must have seen before
	// it can signal a surge. Default 30.
	MinHistory int
	// MinCount is the smallest interval count that can signal a surge or
	// burst, so that rare templates do not alert on a handful of lines.
	// Default 10.
	MinCount int64
	// PValue is the tail probability below which a count is a surge or
	// burst. Default 1e-6: with thousands of templates tested every interval,
	// a looser threshold would alert on chance alone.
	PValue float64
	// MaxTemplates caps the templates tracked; the least recently seen is
	// forgotten first (and is new again if it returns after the warm-up).
	// Default 10000.
	MaxTemplates int
	// IsError reports whether a level is an error level. Default IsErrorLevel.
	IsError func(level string) bool
	// Redact rewrites a line before it is kept as an example, e.g. to strip
	// secrets. Default: lines are kept as they are.
	Redact func(line string) string
}

func (c DetectorConfig) withDefaults() DetectorConfig {
	if c.Interval <= 0 {
		c.Interval = time.Minute
	}
	if c.WarmUp <= 0 {
		c.WarmUp = time.Hour
	}
	if c.Alpha <= 0 || c.Alpha > 1 {
		c.Alpha = 0.05
	}
	if c.MinHistory <= 0 {
		c.MinHistory = 30
	}
	if c.MinCount <= 0 {
		c.MinCount = 10
	}
	if c.PValue <= 0 {
		c.PValue = 1e-6
	}
	if c.MaxTemplates <= 0 {
		c.MaxTemplates = 10000
	}
	if c.IsError == nil {
		c.IsError = IsErrorLevel
	}
	if c.Redact == nil {
		c.Redact = func(s string) string { return s }
	}
	return c
}

// IsErrorLevel reports whether level names an error or worse in the common
// notations (syslog, log4j, Go, Python, Android's single letters), ignoring
// case.
func IsErrorLevel(level string) bool {
	switch strings.ToUpper(strings.TrimSpace(level)) {
	case "ERROR", "ERR", "E", "FATAL", "F", "CRITICAL", "CRIT", "SEVERE", "ALERT", "EMERG", "EMERGENCY", "PANIC":
		return true
	}
	return false
}

// baseline is an exponentially weighted mean and variance of per-interval
// counts.
type baseline struct {
	mean, variance float64
	intervals      int // intervals seen
}

// update folds in the count of one interval.
func (b *baseline) update(x, alpha float64) {
	if b.intervals == 0 {
		b.mean = x
	} else {
		diff := x - b.mean
		incr := alpha * diff
		b.mean += incr
		b.variance = (1 - alpha) * (b.variance + diff*incr)
	}
	b.intervals++
}

// tail returns P(X >= x) for the next interval's count. Counts are modelled
// as negative binomial with the baseline's mean and variance, which allows
// for the extra variability of bursty traffic, or as Poisson when the
// variance is no larger than the mean. The mean is floored so that a
// template that has been silent for a while still has a finite surprise.
func (b *baseline) tail(x int64) float64 {
	const minMean = 0.01
	mu := max(b.mean, minMean)
	if b.variance > mu*1.0001 {
		r := mu * mu / (b.variance - mu)
		return negBinomialTail(x, r, r/(r+mu))
	}
	return poissonTail(x, mu)
}

type templateState struct {
	id       TemplateID
	template string
	count    int64 // in the current interval
	errors   int64 // error lines in the current interval
	examples []string
	base     baseline
	isNew    bool // first seen in the current interval, after the warm-up
	lastSeen time.Time
}

// Detector turns a stream of mined lines into anomaly signals: new
// templates after a warm-up, per-template rate surges and error-level
// bursts. Counts are kept per interval of DetectorConfig.Interval; when an
// observation falls in a later interval, the current one is closed and its
// signals returned. Observations earlier than the current interval count in
// it. It is deterministic and does no I/O; it is not safe for concurrent use.
type Detector struct {
	cfg       DetectorConfig
	start     time.Time // first observation
	current   time.Time // start of the current interval; zero before any
	templates map[TemplateID]*templateState
	errors    baseline
	errCount  int64
	errFirst  []string
}

// NewDetector returns a Detector; zero fields of cfg take their defaults.
func NewDetector(cfg DetectorConfig) *Detector {
	return &Detector{cfg: cfg.withDefaults(), templates: make(map[TemplateID]*templateState)}
}

// Observe counts one line and returns the signals of any intervals its time
// closes.
func (d *Detector) Observe(o Observation) []Signal {
	var out []Signal
	if d.current.IsZero() {
		d.start = o.Time
		d.current = o.Time.Truncate(d.cfg.Interval)
	} else {
		out = d.Advance(o.Time)
	}
	t := d.templates[o.TemplateID]
	if t == nil {
		if len(d.templates) >= d.cfg.MaxTemplates {
			d.forgetOldest()
		}
		t = &templateState{id: o.TemplateID, isNew: o.Time.Sub(d.start) >= d.cfg.WarmUp}
		d.templates[o.TemplateID] = t
	}
	t.template = o.Template
	t.count++
	t.lastSeen = o.Time
	if len(t.examples) < maxExamples {
		t.examples = append(t.examples, d.cfg.Redact(o.Line))
	}
	if d.cfg.IsError(o.Level) {
		t.errors++
		d.errCount++
		if len(d.errFirst) < maxExamples {
			d.errFirst = append(d.errFirst, d.cfg.Redact(o.Line))
		}
	}
	return out
}

// Advance closes every interval that ends at or before now and returns
// their signals. Call it on a timer so that quiet periods close intervals
// too.
func (d *Detector) Advance(now time.Time) []Signal {
	if d.current.IsZero() || now.Before(d.current.Add(d.cfg.Interval)) {
		return nil
	}
	out := d.closeInterval()
	d.current = d.current.Add(d.cfg.Interval)
	// Intervals without lines teach the baselines that nothing happened.
	// Past maxQuiet of them the baselines have decayed anyway.
	const maxQuiet = 200
	quiet := int64(now.Sub(d.current) / d.cfg.Interval)
	for i := int64(0); i < min(quiet, maxQuiet); i++ {
		d.closeInterval()
	}
	d.current = d.current.Add(time.Duration(quiet) * d.cfg.Interval)
	return out
}

// closeInterval tests and folds the current interval's counts into the
// baselines, and resets them.
func (d *Detector) closeInterval() []Signal {
	start, end := d.current, d.current.Add(d.cfg.Interval)
	var out []Signal
	// The template with the most error lines; ties go to the lowest ID so
	// that the result does not depend on map order.
	var top struct {
		id       TemplateID
		template string
		errors   int64
	}
	for _, t := range d.templates {
		if t.isNew {
			out = append(out, Signal{
				Kind: SignalNewTemplate, Start: start, End: end, TemplateID: t.id,
				Template: t.template, Count: t.count, Examples: t.examples,
			})
			t.isNew = false
		} else if t.count >= d.cfg.MinCount && t.base.intervals >= d.cfg.MinHistory {
			if p := t.base.tail(t.count); p < d.cfg.PValue {
				out = append(out, Signal{
					Kind: SignalRateSurge, Start: start, End: end, TemplateID: t.id,
					Template: t.template, Count: t.count, Baseline: t.base.mean, PValue: p,
					Examples: t.examples,
				})
			}
		}
		if t.errors > top.errors || t.errors == top.errors && t.errors > 0 && t.id < top.id {
			top.id, top.template, top.errors = t.id, t.template, t.errors
		}
		t.base.update(float64(t.count), d.cfg.Alpha)
		t.count, t.errors, t.examples = 0, 0, nil
	}
	if d.errCount >= d.cfg.MinCount && d.errors.intervals >= d.cfg.MinHistory {
		if p := d.errors.tail(d.errCount); p < d.cfg.PValue {
			out = append(out, Signal{
				Kind: SignalErrorBurst, Start: start, End: end, TemplateID: top.id,
				Template: top.template, Count: d.errCount, Baseline: d.errors.mean, PValue: p,
				Examples: d.errFirst,
			})
		}
	}
	d.errors.update(float64(d.errCount), d.cfg.Alpha)
	d.errCount, d.errFirst = 0, nil
	slices.SortFunc(out, func(a, b Signal) int {
		if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		return cmp.Compare(a.TemplateID, b.TemplateID)
	})
	return out
}

// forgetOldest drops the least recently seen template.
func (d *Detector) forgetOldest() {
	var oldest *templateState
	for _, t := range d.templates {
		if oldest == nil || t.lastSeen.Before(oldest.lastSeen) || t.lastSeen.Equal(oldest.lastSeen) && t.id < oldest.id {
			oldest = t
		}
	}
	delete(d.templates, oldest.id)
}

// poissonTail returns P(X >= x) for X ~ Poisson(mu): the regularised lower
// incomplete gamma function P(x, mu).
func poissonTail(x int64, mu float64) float64 {
	if x <= 0 {
		return 1
	}
	return gammaP(float64(x), mu)
}

// negBinomialTail returns P(X >= x) for X counting failures before the r-th
// success with success probability p (mean r(1-p)/p): the regularised
// incomplete beta function I_{1-p}(x, r).
func negBinomialTail(x int64, r, p float64) float64 {
	if x <= 0 {
		return 1
	}
	return betaI(float64(x), r, 1-p)
}

// gammaP is the regularised lower incomplete gamma function P(a, x), by its
// series for x < a+1 and by a continued fraction for its complement
// otherwise (Numerical Recipes, 6.2).
func gammaP(a, x float64) float64 {
	if x <= 0 {
		return 0
	}
	lg, _ := math.Lgamma(a)
	if x < a+1 {
		sum, term := 1/a, 1/a
		for n := 1; n < 1000; n++ {
			term *= x / (a + float64(n))
			sum += term
			if term < sum*1e-15 {
				break
			}
		}
		return min(1, sum*math.Exp(-x+a*math.Log(x)-lg))
	}
	const tiny = 1e-300
	b := x + 1 - a
	c, dd := 1/tiny, 1/b
	h := dd
	for i := 1; i < 1000; i++ {
		an := -float64(i) * (float64(i) - a)
		b += 2
		dd = an*dd + b
		if math.Abs(dd) < tiny {
			dd = tiny
		}
		c = b + an/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		dd = 1 / dd
		del := dd * c
		h *= del
		if math.Abs(del-1) < 1e-15 {
			break
		}
	}
	return max(0, 1-math.Exp(-x+a*math.Log(x)-lg)*h)
}

// betaI is the regularised incomplete beta function I_x(a, b) (Numerical
// Recipes, 6.4).
func betaI(a, b, x float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	front := math.Exp(lab - la - lb + a*math.Log(x) + b*math.Log1p(-x))
	if x < (a+1)/(a+b+2) {
		return front * betaCF(a, b, x) / a
	}
	return 1 - front*betaCF(b, a, 1-x)/b
}

// betaCF evaluates the continued fraction of the incomplete beta function
// by the modified Lentz method.
func betaCF(a, b, x float64) float64 {
	const tiny = 1e-300
	qab, qap, qam := a+b, a+1, a-1
	c, d := 1.0, 1-qab*x/qap
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	h := d
	for m := 1; m < 1000; m++ {
		fm := float64(m)
		m2 := 2 * fm
		aa := fm * (b - fm) * x / ((qam + m2) * (a + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		h *= d * c
		aa = -(a + fm) * (qab + fm) * x / ((a + m2) * (qap + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < 1e-15 {
			break
		}
	}
	return h
}
