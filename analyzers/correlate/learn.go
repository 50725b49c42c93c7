package correlate

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"
)

// LearnConfig sets how the Learner learns which services alert together.
type LearnConfig struct {
	// Window is the co-occurrence window: services that alert in the same
	// window (aligned to the Unix epoch) alerted together. Default 5m.
	Window time.Duration
	// HalfLife is how fast history fades: a window's counts halve every
	// HalfLife, so an architecture change is unlearned in a few half-lives.
	// Default 7 days.
	HalfLife time.Duration
	// An edge between a and b is learned when all three hold, counting
	// windows with decay:
	//   support    = windows with both                          ≥ MinSupport
	//   confidence = support / min(windows with a, with b)      ≥ MinConfidence
	//   lift       = support × windows with any alert
	//                / (windows with a × windows with b)         ≥ MinLift
	// A window counts 1 when it closes and halves every HalfLife, so the
	// default support of 2.5 asks for three windows together within the last
	// few days, or more further back. Support keeps a coincidence from making
	// an edge; confidence asks that one of the two rarely alerts without the
	// other; lift discounts a service that alerts all the time and so
	// "co-occurs" with everything. Defaults 2.5, 0.5 and 2.
	MinSupport    float64
	MinConfidence float64
	MinLift       float64
	// MaxWindowServices: a window in which more services alert counts for
	// each service but not for pairs. A storm that touches everything says
	// little about which services depend on each other, and its pairs would
	// cost the square of its size. Default 50.
	MaxWindowServices int
}

// DefaultLearnConfig returns the defaults documented on LearnConfig.
func DefaultLearnConfig() LearnConfig {
	return LearnConfig{Window: 5 * time.Minute, HalfLife: 7 * 24 * time.Hour, MinSupport: 2.5, MinConfidence: 0.5, MinLift: 2, MaxWindowServices: 50}
}

// Validate checks that every setting is usable.
func (c LearnConfig) Validate() error {
	var errs []error
	if c.Window <= 0 {
		errs = append(errs, fmt.Errorf("window must be positive, got %s", c.Window))
	}
	if c.HalfLife <= 0 {
		errs = append(errs, fmt.Errorf("half-life must be positive, got %s", c.HalfLife))
	}
	if c.MinSupport <= 0 || c.MinConfidence <= 0 || c.MinConfidence > 1 || c.MinLift <= 0 {
		errs = append(errs, errors.New("thresholds must be positive, and min confidence at most 1"))
	}
	if c.MaxWindowServices < 2 {
		errs = append(errs, fmt.Errorf("max window services must be at least 2, got %d", c.MaxWindowServices))
	}
	return errors.Join(errs...)
}

// EdgeStats are the decayed co-occurrence counts behind a pair of services.
type EdgeStats struct {
	A, B       string // A < B
	Support    float64
	Confidence float64
	Lift       float64
}

// Learner learns a service graph from which services alert in the same
// window. Observations come in time order; a late one counts in the window
// that is open. Counts change only when a window closes, which happens when a
// later window is observed or Advance passes it, so what the Learner answers
// depends only on its inputs.
type Learner struct {
	cfg      LearnConfig
	window   int64           // index of the open window, valid when open != nil
	open     map[string]bool // services that alerted in the open window
	asOf     time.Time       // when the counts were last decayed to
	windows  float64         // windows with any alert
	count    map[string]float64
	pairs    map[[2]string]float64      // by [a, b] with a < b
	partners map[string]map[string]bool // services that ever alerted together
}

// NewLearner returns a learner with no history.
func NewLearner(cfg LearnConfig) (*Learner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("correlate: learner: %w", err)
	}
	return &Learner{cfg: cfg, count: map[string]float64{}, pairs: map[[2]string]float64{}, partners: map[string]map[string]bool{}}, nil
}

// Observe records that service alerted at t.
func (l *Learner) Observe(service string, at time.Time) {
	if service == "" {
		return
	}
	l.Advance(at)
	if l.open == nil {
		l.window, l.open = l.index(at), map[string]bool{}
	}
	l.open[service] = true
}

// Advance closes the open window if t is past it.
func (l *Learner) Advance(t time.Time) {
	if l.open != nil && l.index(t) > l.window {
		l.close()
	}
}

func (l *Learner) index(t time.Time) int64 {
	w := int64(l.cfg.Window)
	n := t.UnixNano()
	if n < 0 && n%w != 0 {
		return n/w - 1
	}
	return n / w
}

func (l *Learner) close() {
	at := time.Unix(0, l.window*int64(l.cfg.Window))
	if !l.asOf.IsZero() {
		f := math.Exp2(-float64(at.Sub(l.asOf)) / float64(l.cfg.HalfLife))
		l.windows *= f
		for k := range l.count {
			l.count[k] *= f
		}
		for k := range l.pairs {
			l.pairs[k] *= f
		}
	}
	l.asOf = at
	l.windows++
	services := slices.Sorted(maps.Keys(l.open))
	for _, s := range services {
		l.count[s]++
	}
	if len(services) <= l.cfg.MaxWindowServices {
		for i, a := range services {
			for _, b := range services[i+1:] {
				l.pairs[[2]string{a, b}]++
				l.partner(a, b)
				l.partner(b, a)
			}
		}
	}
	l.open = nil
}

func (l *Learner) partner(a, b string) {
	if l.partners[a] == nil {
		l.partners[a] = map[string]bool{}
	}
	l.partners[a][b] = true
}

// Stats returns the counts behind a pair, whether or not they make an edge.
func (l *Learner) Stats(a, b string) EdgeStats {
	if b < a {
		a, b = b, a
	}
	st := EdgeStats{A: a, B: b}
	if l == nil {
		return st
	}
	st.Support = l.pairs[[2]string{a, b}]
	if st.Support == 0 {
		return st
	}
	na, nb := l.count[a], l.count[b]
	st.Confidence = st.Support / min(na, nb)
	st.Lift = st.Support * l.windows / (na * nb)
	return st
}

// Edge returns the pair's counts and whether they pass the thresholds.
func (l *Learner) Edge(a, b string) (EdgeStats, bool) {
	st := l.Stats(a, b)
	if l == nil || st.Support == 0 {
		return st, false
	}
	return st, st.Support >= l.cfg.MinSupport && st.Confidence >= l.cfg.MinConfidence && st.Lift >= l.cfg.MinLift
}

// Edges returns every learned edge, sorted by A then B.
func (l *Learner) Edges() []EdgeStats {
	if l == nil {
		return nil
	}
	var out []EdgeStats
	byName := func(x, y [2]string) int { return cmp.Or(cmp.Compare(x[0], y[0]), cmp.Compare(x[1], y[1])) }
	for _, k := range slices.SortedFunc(maps.Keys(l.pairs), byName) {
		if st, ok := l.Edge(k[0], k[1]); ok {
			out = append(out, st)
		}
	}
	return out
}

// neighbors returns the services s has a learned edge with, sorted.
func (l *Learner) neighbors(s string) []string {
	if l == nil {
		return nil
	}
	var out []string
	for _, p := range slices.Sorted(maps.Keys(l.partners[s])) {
		if _, ok := l.Edge(s, p); ok {
			out = append(out, p)
		}
	}
	return out
}
