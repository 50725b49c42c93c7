package signals

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/vigilops/vigil/analyzers/anomaly"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/store"
)

// Sample is one metric sample. A series is identified by its metric name and
// labels.
type Sample struct {
	Metric string            // metric name in Prometheus syntax, e.g. http_latency_p99
	Labels map[string]string // the series' other labels
	Time   time.Time
	Value  float64
}

// MaxFuture is how far ahead of the receiver's clock a sample or log line may
// be stamped. Later times are refused: they would make every later sample of
// the series look out of order.
const MaxFuture = 10 * time.Minute

// MetricsConfig configures a Metrics pipeline. Zero fields take the defaults
// given.
type MetricsConfig struct {
	// Detector configures every series' detector. Default
	// anomaly.DefaultConfig(); its AlertLevel is the score that raises an
	// event.
	Detector anomaly.Config
	// Backoff quiets series that raise anomaly events too often; see
	// Backoff. Default: more than 3 events in 24 hours of series time.
	Backoff Backoff
	// MaxSeries caps the series with state; see the package documentation
	// for the eviction rule. Default 10000.
	MaxSeries int
	// WindowPoints is how many recent points of a series are kept: they are
	// the Series window of its anomaly events, and resent samples among them
	// are recognised as duplicates. Default 120.
	WindowPoints int
	// Forecasts select series to forecast; the first rule that matches a
	// series applies.
	Forecasts []ForecastRule
	// ForecastEvery is how much series time passes between two fits of a
	// series' forecast. Default 5m.
	ForecastEvery time.Duration
	// ForecastResolution is the least time between two history points a
	// forecast keeps; ForecastPoints caps them. Defaults 1m and 1000, which
	// keep the last 16.7 hours at one-minute samples.
	ForecastResolution time.Duration
	ForecastPoints     int
	// MaxPending caps the events waiting for the sink. Default 10000.
	MaxPending int
	// Notify is called after events were stored, e.g. to wake a dispatcher.
	Notify func()
	Logger *slog.Logger
}

// Backoff is the per-series "too noisy" rule. A series that has already
// raised Events anomaly events within the last Window of its own time is too
// noisy to page at the detector's alert level: its next event needs
// anomaly.RaisedLevel(AlertLevel, k), where k is how many events past the
// budget it has raised (at most maxBackoffDoublings), and weaker events are
// held back. Held-back events count too, so a series stays backed off while
// it stays noisy, and the bar falls again as its events age out of Window.
// An event let through says so in its summary and its backoff annotation.
type Backoff struct {
	// Events is the budget; negative turns the back-off off. Default 3.
	Events int
	// Window is the span of series time the budget covers. Default 24h.
	Window time.Duration
}

// maxBackoffDoublings caps how far a noisy series' bar rises: with alert
// level 0.5, to 0.89 (one-in-10⁴⁰), so that the noisiest series still pages
// for something far beyond its habit.
const maxBackoffDoublings = 3

func (c MetricsConfig) withDefaults() MetricsConfig {
	if c.Detector == (anomaly.Config{}) {
		c.Detector = anomaly.DefaultConfig()
	}
	if c.Backoff == (Backoff{}) {
		c.Backoff = Backoff{Events: 3, Window: 24 * time.Hour}
	}
	if c.MaxSeries <= 0 {
		c.MaxSeries = 10000
	}
	if c.WindowPoints <= 0 {
		c.WindowPoints = 120
	}
	if c.ForecastEvery <= 0 {
		c.ForecastEvery = 5 * time.Minute
	}
	if c.ForecastResolution <= 0 {
		c.ForecastResolution = time.Minute
	}
	if c.ForecastPoints <= 0 {
		c.ForecastPoints = 1000
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Metrics runs every series of one source through its anomaly detector and,
// where a rule asks for one, a forecast. It is safe for concurrent use.
type Metrics struct {
	source string
	cfg    MetricsConfig
	rules  []*forecastRule
	out    *outbox

	mu     sync.Mutex
	series *bounded[*series]
}

// series is the state of one metric series.
type series struct {
	key    string // metric{labels}, as summaries show it
	metric string
	labels map[string]string
	det    *anomaly.Detector
	win    window
	fc     *forecastState // nil unless a forecast rule selects the series
	noise  noise          // recent events, for the back-off
	// recent are the last batches the series accepted, to recognise one
	// sent again; nextSeg is where the next goes.
	recent  [recentSegments]segment
	nextSeg int
}

// NewMetrics returns a pipeline whose events go to sink as coming from source.
func NewMetrics(source string, cfg MetricsConfig, sink EventSink) (*Metrics, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Detector.Validate(); err != nil {
		return nil, fmt.Errorf("signals: metrics %s: %w", source, err)
	}
	if cfg.Backoff.Events >= 0 && cfg.Backoff.Window <= 0 {
		return nil, fmt.Errorf("signals: metrics %s: backoff window %s: want > 0", source, cfg.Backoff.Window)
	}
	m := &Metrics{source: source, cfg: cfg, series: newBounded[*series](cfg.MaxSeries),
		out: newOutbox(sink, source, cfg.MaxPending, cfg.Notify)}
	for i, r := range cfg.Forecasts {
		fr, err := compileRule(r)
		if err != nil {
			return nil, fmt.Errorf("signals: metrics %s: forecast rule %d: %w", source, i, err)
		}
		m.rules = append(m.rules, fr)
	}
	return m, nil
}

// Observed says what Observe did with a batch.
type Observed struct {
	Accepted   int // samples (or lines) applied
	Duplicates int // resent samples already applied before, skipped
	Events     int // events the batch produced, now waiting for Flush
	Evicted    int // series or streams evicted to make room
}

// Problem is one thing wrong with an input item.
type Problem struct {
	Index   int    // the item's position in the input, from 0
	Field   string // the offending field, or "" for the item as a whole
	Message string
}

// InvalidError rejects an input whose items have problems; none of the input
// was applied. It lists the first 20 problems and counts the rest in More.
type InvalidError struct {
	Problems []Problem
	More     int
}

func (e *InvalidError) add(i int, field, format string, args ...any) {
	if len(e.Problems) == maxProblems {
		e.More++
		return
	}
	e.Problems = append(e.Problems, Problem{Index: i, Field: field, Message: fmt.Sprintf(format, args...)})
}

func (e *InvalidError) len() int { return len(e.Problems) + e.More }

func (e *InvalidError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = fmt.Sprintf("item %d", p.Index)
		if p.Field != "" {
			msgs[i] += "." + p.Field
		}
		msgs[i] += ": " + p.Message
	}
	if e.More > 0 {
		msgs = append(msgs, fmt.Sprintf("and %d more", e.More))
	}
	return "signals: invalid input: " + strings.Join(msgs, "; ")
}

// validName reports whether name is a Prometheus metric name
// ([a-zA-Z_:][a-zA-Z0-9_:]*), or with colon false a label name
// ([a-zA-Z_][a-zA-Z0-9_]*).
func validName(name string, colon bool) bool {
	if name == "" {
		return false
	}
	for i := range len(name) {
		c := name[i]
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || colon && c == ':' || i > 0 && '0' <= c && c <= '9'
		if !ok {
			return false
		}
	}
	return true
}

// labelProblem says what is wrong with a label, or "".
func labelProblem(name, value string) string {
	switch {
	case !validName(name, false):
		return fmt.Sprintf("%q is not a label name (letters, digits and '_', not starting with a digit)", name)
	case strings.HasPrefix(name, "__"):
		return fmt.Sprintf("label names starting with \"__\" are reserved, got %q", name)
	case !utf8.ValidString(value):
		return fmt.Sprintf("label %s: value is not valid UTF-8", name)
	}
	return ""
}

// Observe applies a batch of samples. The batch is checked whole first: a
// non-finite value, a bad name, a time more than MaxFuture ahead of now, or
// a series whose samples are not in strictly increasing time order fails it
// with an *InvalidError and nothing is applied. A sample at or before the
// last one its series has accepted is a duplicate (skipped) if the series
// accepted exactly the same samples in one of its last four batches, or if
// its window of recent points holds the same point; else it is a problem.
// Events the batch produces wait for Flush. When too many events already
// wait, Observe returns ErrBacklog and applies nothing.
func (m *Metrics) Observe(samples []Sample, now time.Time) (Observed, error) {
	return m.observe(samples, now, true)
}

// Warm applies a batch like Observe but raises no events: it teaches the
// detectors history, e.g. a poller's first look back.
func (m *Metrics) Warm(samples []Sample, now time.Time) (Observed, error) {
	return m.observe(samples, now, false)
}

// Flush hands the waiting events to the sink; see EventSink. A nil error
// means every event produced so far is durable.
func (m *Metrics) Flush(ctx context.Context, now time.Time) (store.IngestResult, error) {
	return m.out.flush(ctx, now)
}

// Run retries flushing waiting events every interval until ctx is done, for
// events whose first flush failed.
func (m *Metrics) Run(ctx context.Context, every time.Duration) {
	m.out.runFlusher(ctx, every, time.Now, nil, func(err error) {
		m.cfg.Logger.Warn("signals: events wait for the store", "source", m.source, "waiting", m.out.waiting(), "err", err)
	})
}

// Series returns the number of series with state.
func (m *Metrics) Series() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.series.len()
}

// batchSeries is the part of a batch that belongs to one series.
type batchSeries struct {
	key    string
	metric string
	labels map[string]string
	all    []int // every sample of the series in the batch, in time order
	idx    []int // those to apply: all but the duplicates
	seg    segment
}

// segment identifies the samples one batch held for a series, so that a
// batch sent again (after a failed flush, say) is recognised whole.
type segment struct {
	first, last int64 // unix ms
	n           int
	hash        uint64
}

// recentSegments is how many batches per series are remembered.
const recentSegments = 4

// maxProblems caps the problems an InvalidError lists.
const maxProblems = 20

func (m *Metrics) observe(samples []Sample, now time.Time, emit bool) (Observed, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.out.full() {
		return Observed{}, ErrBacklog
	}
	groups, dups, err := m.check(samples, now)
	if err != nil {
		return Observed{}, err
	}
	res := Observed{Duplicates: dups}
	var events []incident.Event
	for _, g := range groups {
		if len(g.idx) == 0 {
			continue
		}
		s, evicted := m.series.use(g.key, len(g.idx), func() *series { return m.newSeries(g) })
		if evicted {
			res.Evicted++
		}
		for _, i := range g.idx {
			events = m.apply(s, samples[i], now, emit, events)
		}
		s.recent[s.nextSeg] = g.seg
		s.nextSeg = (s.nextSeg + 1) % recentSegments
		res.Accepted += len(g.idx)
	}
	if res.Evicted > 0 {
		m.cfg.Logger.Warn("signals: series cap reached; evicted the least recently updated series", "source", m.source, "max_series", m.cfg.MaxSeries, "evicted", res.Evicted)
	}
	m.out.add(events...)
	res.Events = len(events)
	return res, nil
}

// check validates a batch and groups it by series, in order of first
// appearance, leaving out duplicates. It changes nothing.
func (m *Metrics) check(samples []Sample, now time.Time) ([]*batchSeries, int, error) {
	inv := &InvalidError{}
	byKey := map[string]*batchSeries{}
	var groups []*batchSeries
	// Samples of one series usually come together: the previous sample's
	// series is checked and named once.
	var prev *batchSeries
	for i, s := range samples {
		n := inv.len()
		same := prev != nil && s.Metric == prev.metric && maps.Equal(s.Labels, prev.labels)
		if !same {
			if !validName(s.Metric, true) {
				inv.add(i, "metric", "%q is not a metric name (letters, digits, '_' and ':', not starting with a digit)", s.Metric)
			}
			for name, v := range s.Labels {
				if labelProblem(name, v) != "" {
					// Report in name order, so messages do not depend on map order.
					for _, name := range slices.Sorted(maps.Keys(s.Labels)) {
						if p := labelProblem(name, s.Labels[name]); p != "" {
							inv.add(i, "labels", "%s", p)
						}
					}
					break
				}
			}
		}
		if math.IsNaN(s.Value) || math.IsInf(s.Value, 0) {
			inv.add(i, "value", "must be a finite number, got %v", s.Value)
		}
		switch {
		case s.Time.IsZero():
			inv.add(i, "timestamp", "is required")
		case s.Time.After(now.Add(MaxFuture)):
			inv.add(i, "timestamp", "%s is %s ahead of this server's clock (at most %s is allowed)", s.Time.UTC().Format(time.RFC3339Nano), s.Time.Sub(now).Round(time.Second), MaxFuture)
		}
		if inv.len() > n {
			continue
		}
		g := prev
		if !same {
			key := seriesKey(s.Metric, s.Labels)
			if g = byKey[key]; g == nil {
				g = &batchSeries{key: key, metric: s.Metric, labels: s.Labels}
				byKey[key] = g
				groups = append(groups, g)
			}
			prev = g
		}
		if k := len(g.all); k > 0 {
			last := g.all[k-1]
			if t, lt := s.Time.UnixMilli(), samples[last].Time.UnixMilli(); t <= lt {
				what := "out of order: it is before"
				if t == lt {
					what = "duplicate timestamp: it is the time of"
				}
				inv.add(i, "timestamp", "%s item %d of the same series %s; send each series' samples once, oldest first", what, last, g.key)
				continue
			}
		}
		g.all = append(g.all, i)
	}
	dups := 0
	for _, g := range groups {
		g.seg = segmentOf(samples, g.all)
		st, ok := m.series.peek(g.key)
		if ok && slices.Contains(st.recent[:], g.seg) {
			dups += len(g.all)
			continue
		}
		last, ok := int64(0), false
		if st != nil {
			last, ok = st.win.last()
		}
		for _, i := range g.all {
			s := samples[i]
			t := s.Time.UnixMilli()
			if !ok || t > last {
				g.idx = append(g.idx, i)
				continue
			}
			if v, found := st.win.find(t); found && v == s.Value {
				dups++
				continue
			}
			inv.add(i, "timestamp", "%s is not after the last accepted sample of %s at %s, and is not a resend of a recent sample (out of order or a conflicting duplicate)",
				s.Time.UTC().Format(time.RFC3339Nano), g.key, time.UnixMilli(last).UTC().Format(time.RFC3339Nano))
		}
	}
	if inv.len() > 0 {
		return nil, 0, inv
	}
	return groups, dups, nil
}

// segmentOf summarises the samples idx of one series.
func segmentOf(samples []Sample, idx []int) segment {
	h := fnv.New64a()
	var b [16]byte
	for _, i := range idx {
		binary.LittleEndian.PutUint64(b[:8], uint64(samples[i].Time.UnixMilli()))
		binary.LittleEndian.PutUint64(b[8:], math.Float64bits(samples[i].Value))
		h.Write(b[:])
	}
	return segment{first: samples[idx[0]].Time.UnixMilli(), last: samples[idx[len(idx)-1]].Time.UnixMilli(), n: len(idx), hash: h.Sum64()}
}

// seriesKey names a series the way Prometheus prints it:
// metric{a="1",b="2"} with labels sorted.
func seriesKey(metric string, labels map[string]string) string {
	if len(labels) == 0 {
		return metric
	}
	names := make([]string, 0, len(labels))
	for k := range labels {
		names = append(names, k)
	}
	slices.Sort(names)
	b := make([]byte, 0, len(metric)+2+16*len(labels))
	b = append(b, metric...)
	b = append(b, '{')
	for i, k := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, k...)
		b = append(b, '=')
		b = strconv.AppendQuote(b, labels[k])
	}
	return string(append(b, '}'))
}

func (m *Metrics) newSeries(g *batchSeries) *series {
	det, _ := anomaly.New(m.cfg.Detector) // the configuration was validated by NewMetrics
	s := &series{key: g.key, metric: g.metric, labels: maps.Clone(g.labels), det: det, win: newWindow(m.cfg.WindowPoints),
		noise: newNoise(m.cfg.Backoff)}
	for _, r := range m.rules {
		if r.matches(g.metric, g.labels) {
			s.fc = &forecastState{rule: r, hist: newWindow(m.cfg.ForecastPoints)}
			break
		}
	}
	return s
}

// apply feeds one sample to its series and appends the events it raises.
func (m *Metrics) apply(s *series, smp Sample, now time.Time, emit bool, events []incident.Event) []incident.Event {
	score := s.det.Update(smp.Time.Unix(), smp.Value)
	ms := smp.Time.UnixMilli()
	s.win.push(ms, smp.Value)
	if score >= m.cfg.Detector.AlertLevel {
		if ex := s.det.Explain(); ex.Event {
			// Replayed history teaches the back-off as it teaches the
			// detector, so a restart does not forget a noisy series.
			bo := s.noise.judge(ms, ex.Score, m.cfg.Detector.AlertLevel)
			switch {
			case !emit:
			case bo.held:
				m.cfg.Logger.Debug("signals: anomaly held back on a noisy series", "source", m.source, "series", s.key,
					"score", ex.Score, "needs", bo.level, "recent_events", bo.recent)
			default:
				events = append(events, m.anomalyEvent(s, smp, ex, bo, now))
			}
		}
	}
	if s.fc != nil {
		if ev, ok := s.fc.observe(m, s, smp, now, emit); ok {
			events = append(events, ev)
		}
	}
	return events
}

// eventLabels returns the series' labels with __name__, plus extra.
func (s *series) eventLabels(extra map[string]string) map[string]string {
	l := make(map[string]string, len(s.labels)+1+len(extra))
	maps.Copy(l, s.labels)
	l["__name__"] = s.metric
	maps.Copy(l, extra)
	return l
}

func (m *Metrics) anomalyEvent(s *series, smp Sample, ex anomaly.Explanation, bo backoffVerdict, now time.Time) incident.Event {
	times, values := s.win.tail(0)
	ann := map[string]string{
		"value":    formatValue(ex.Value),
		"baseline": formatValue(ex.Baseline),
		"scale":    formatValue(ex.Scale),
		"z":        strconv.FormatFloat(ex.Z, 'f', 2, 64),
		"score":    strconv.FormatFloat(ex.Score, 'f', 4, 64),
		"signal":   ex.Signal.String(),
		"season":   ex.Season.String(),
		"window":   signalWindow(ex.Signal),
	}
	why := fmt.Sprintf("z %+.1f", ex.Z)
	switch ex.Signal {
	case anomaly.Spike:
		ann["record"] = strconv.FormatFloat(ex.Record, 'f', 1, 64)
		why += fmt.Sprintf(", recent record |z| %.1f", ex.Record)
	case anomaly.Pattern:
		ann["novelty"] = strconv.FormatFloat(ex.Novelty, 'f', 2, 64)
		why = fmt.Sprintf("a shape %.2f× vigilance from any seen", ex.Novelty)
	}
	summary := fmt.Sprintf("%s is %s, expected %s ± %s (%s: %s over %s, %s baseline)",
		s.key, formatValue(ex.Value), formatValue(ex.Baseline), formatValue(ex.Scale), ex.Signal, why, signalWindow(ex.Signal), ex.Season)
	if bo.level > m.cfg.Detector.AlertLevel {
		ann["backoff"] = fmt.Sprintf("%d earlier anomaly events in the last %s (budget %d): this series is too noisy to page at %v, so events need a score of %.2f; %d weaker ones were held back",
			bo.recent, m.cfg.Backoff.Window, m.cfg.Backoff.Events, m.cfg.Detector.AlertLevel, bo.level, bo.heldBack)
		summary += fmt.Sprintf("; noisy series: %d earlier events in %s, needed score %.2f, got %.2f", bo.recent, m.cfg.Backoff.Window, bo.level, ex.Score)
	}
	return incident.Event{
		Source:      m.source,
		Kind:        incident.KindMetricAnomaly,
		Fingerprint: fingerprint(string(incident.KindMetricAnomaly), m.source, s.key),
		Status:      incident.AlertFiring,
		Labels:      s.eventLabels(nil),
		Annotations: ann,
		StartsAt:    smp.Time,
		ReceivedAt:  now,
		Summary:     summary,
		Value:       ex.Score,
		Series:      &incident.Series{Name: s.metric, Labels: maps.Clone(s.labels), Times: times, Values: values},
	}
}

// formatValue prints a metric value with four significant digits.
func formatValue(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

// signalWindow names the points a sub-detector looks at.
func signalWindow(sig anomaly.Signal) string {
	switch sig {
	case anomaly.Spike:
		return "the last 2 points"
	case anomaly.LevelShift:
		return "the last 10 points"
	case anomaly.Pattern:
		return "the last 12 points"
	}
	return "this point"
}

// noise remembers a series' recent anomaly events for the back-off: the
// times (unix ms) of the last len(at) of them, a ring.
type noise struct {
	at       []int64
	next, n  int
	heldBack int // events held back since the last one let through
	window   int64
	budget   int
}

func newNoise(b Backoff) noise {
	if b.Events < 0 {
		return noise{budget: -1}
	}
	return noise{at: make([]int64, b.Events+maxBackoffDoublings), window: b.Window.Milliseconds(), budget: b.Events}
}

// backoffVerdict is what the back-off made of one event.
type backoffVerdict struct {
	recent   int     // events of the series within the window before this one
	level    float64 // score the event needed
	held     bool    // the event was held back
	heldBack int     // events held back before this one was let through
}

// judge records an event at ms with score and says whether it pages.
func (z *noise) judge(ms int64, score, alertLevel float64) backoffVerdict {
	v := backoffVerdict{level: alertLevel}
	if z.budget < 0 {
		return v
	}
	for i := range z.n {
		if t := z.at[(z.next-1-i+len(z.at))%len(z.at)]; ms-t < z.window {
			v.recent++
		}
	}
	if over := v.recent - z.budget; over >= 0 {
		v.level = anomaly.RaisedLevel(alertLevel, min(over+1, maxBackoffDoublings))
	}
	z.at[z.next] = ms
	z.next = (z.next + 1) % len(z.at)
	z.n = min(z.n+1, len(z.at))
	if score < v.level {
		v.held = true
		z.heldBack++
		return v
	}
	v.heldBack, z.heldBack = z.heldBack, 0
	return v
}
