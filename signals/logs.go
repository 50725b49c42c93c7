package signals

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigilops/vigil/analyzers/logmine"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/store"
)

// Stream identifies a log stream by its labels, e.g. {source="checkout"}.
// Build it once with NewStream and share it between the lines of the stream.
type Stream struct {
	key    string
	labels map[string]string
}

// NewStream checks the labels of a stream: at least one, with names in
// Prometheus syntax that do not start with "__", and UTF-8 values.
func NewStream(labels map[string]string) (Stream, error) {
	if len(labels) == 0 {
		return Stream{}, fmt.Errorf("a log stream needs at least one label (e.g. source)")
	}
	for _, name := range slices.Sorted(maps.Keys(labels)) {
		if p := labelProblem(name, labels[name]); p != "" {
			return Stream{}, errors.New(p)
		}
	}
	return Stream{key: seriesKey("", labels), labels: maps.Clone(labels)}, nil
}

// String returns the stream as {a="1",b="2"}.
func (s Stream) String() string { return s.key }

// LogLine is one log line of a stream.
type LogLine struct {
	Stream Stream
	// Time is when the line was logged; zero means when it is observed.
	Time time.Time
	// Level is the severity as logged ("ERROR", "E", "warn"), or "".
	Level string
	// Message is what is mined: the line without its header.
	Message string
	// Raw is the whole line, kept (redacted) as an example.
	Raw string
}

// LogsConfig configures a Logs pipeline. Zero fields take the defaults
// given.
type LogsConfig struct {
	// Miner bounds the template miner shared by the pipeline's streams.
	// Default logmine.DefaultConfig().
	Miner logmine.Config
	// Detector configures each stream's detector (interval, warm-up,
	// thresholds); zero fields take logmine's defaults, except that
	// MaxTemplates defaults to MaxTemplatesPerStream and Redact to Redact.
	// Whatever Redact returns is copied.
	Detector logmine.DetectorConfig
	// MaxTemplatesPerStream caps the templates a stream's detector counts.
	// Default 1000.
	MaxTemplatesPerStream int
	// MaxStreams caps the streams with state; see the package
	// documentation for the eviction rule. Default 1000.
	MaxStreams int
	// MaxPending caps the events waiting for the sink. Default 10000.
	MaxPending int
	// Notify is called after events were stored, e.g. to wake a dispatcher.
	Notify func()
	Logger *slog.Logger
}

func (c LogsConfig) withDefaults() LogsConfig {
	if c.MaxTemplatesPerStream <= 0 {
		c.MaxTemplatesPerStream = 1000
	}
	if c.Detector.MaxTemplates <= 0 {
		c.Detector.MaxTemplates = c.MaxTemplatesPerStream
	}
	redact := c.Detector.Redact
	if redact == nil {
		redact = Redact
	}
	// Examples outlive the input they came from: a copy keeps a line from
	// pinning its whole request body in memory.
	c.Detector.Redact = func(line string) string { return strings.Clone(redact(line)) }
	if c.MaxStreams <= 0 {
		c.MaxStreams = 1000
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Logs mines the lines of one source's log streams into templates and
// watches every stream for new templates, rate surges and error bursts. It
// is safe for concurrent use.
type Logs struct {
	source string
	cfg    LogsConfig
	out    *outbox

	mu      sync.Mutex
	miner   *logmine.Miner
	streams *bounded[*logStream]
}

type logStream struct {
	Stream
	det *logmine.Detector
}

// NewLogs returns a pipeline whose events go to sink as coming from source.
func NewLogs(source string, cfg LogsConfig, sink EventSink) *Logs {
	cfg = cfg.withDefaults()
	return &Logs{source: source, cfg: cfg, out: newOutbox(sink, source, cfg.MaxPending, cfg.Notify),
		miner: logmine.New(cfg.Miner), streams: newBounded[*logStream](cfg.MaxStreams)}
}

// Observe mines a batch of lines. The batch is checked whole first: a line
// without a stream, or stamped more than MaxFuture ahead of now, fails it
// with an *InvalidError and nothing is applied. Blank messages are accepted
// and not mined. Events that the lines close wait for Flush. When too many
// events already wait, Observe returns ErrBacklog and applies nothing.
func (l *Logs) Observe(lines []LogLine, now time.Time) (Observed, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.out.full() {
		return Observed{}, ErrBacklog
	}
	var problems []Problem
	for i, ln := range lines {
		switch {
		case ln.Stream.key == "":
			problems = append(problems, Problem{Index: i, Message: "has no stream"})
		case ln.Time.After(now.Add(MaxFuture)):
			problems = append(problems, Problem{Index: i, Field: "timestamp", Message: fmt.Sprintf("%s is %s ahead of this server's clock (at most %s is allowed)",
				ln.Time.UTC().Format(time.RFC3339Nano), ln.Time.Sub(now).Round(time.Second), MaxFuture)})
		}
	}
	if len(problems) > 0 {
		return Observed{}, &InvalidError{Problems: problems}
	}
	res := Observed{Accepted: len(lines)}
	var events []incident.Event
	// Lines come in runs of one stream; each run is one lookup.
	for i := 0; i < len(lines); {
		j := i + 1
		for j < len(lines) && lines[j].Stream.key == lines[i].Stream.key {
			j++
		}
		st, evicted := l.streams.use(lines[i].Stream.key, j-i, func() *logStream {
			return &logStream{Stream: lines[i].Stream, det: logmine.NewDetector(l.cfg.Detector)}
		})
		if evicted {
			res.Evicted++
		}
		for _, ln := range lines[i:j] {
			if strings.TrimSpace(ln.Message) == "" {
				continue
			}
			t := ln.Time
			if t.IsZero() {
				t = now
			}
			r := l.miner.Add(ln.Message)
			for _, sig := range st.det.Observe(logmine.Observation{Time: t, TemplateID: r.TemplateID, Template: r.Template, Level: ln.Level, Line: ln.Raw}) {
				events = append(events, l.event(st, sig, now))
			}
		}
		i = j
	}
	if res.Evicted > 0 {
		l.cfg.Logger.Warn("signals: log stream cap reached; evicted the least recently updated streams", "source", l.source, "max_streams", l.cfg.MaxStreams, "evicted", res.Evicted)
	}
	l.out.add(events...)
	res.Events = len(events)
	return res, nil
}

// Tick closes the counting intervals that ended by now in every stream, so
// that quiet streams raise their signals too, and queues their events.
func (l *Logs) Tick(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var events []incident.Event
	l.streams.each(func(st *logStream) {
		for _, sig := range st.det.Advance(now) {
			events = append(events, l.event(st, sig, now))
		}
	})
	slices.SortFunc(events, func(a, b incident.Event) int { return strings.Compare(a.Fingerprint, b.Fingerprint) })
	l.out.add(events...)
}

// Flush hands the waiting events to the sink; see EventSink. A nil error
// means every event produced so far is durable.
func (l *Logs) Flush(ctx context.Context, now time.Time) (store.IngestResult, error) {
	return l.out.flush(ctx, now)
}

// Run ticks and flushes every interval until ctx is done.
func (l *Logs) Run(ctx context.Context, every time.Duration) {
	l.out.runFlusher(ctx, every, time.Now, l.Tick, func(err error) {
		l.cfg.Logger.Warn("signals: events wait for the store", "source", l.source, "waiting", l.out.waiting(), "err", err)
	})
}

// logStrength scores a log signal in [0, 1] like the metric detectors score
// points: −log10(p)/10, so 0.5 is one-in-10⁵ and 1 is one-in-10¹⁰. A new
// template, which has no p-value, scores 0.5.
func logStrength(sig logmine.Signal) float64 {
	if sig.Kind == logmine.SignalNewTemplate {
		return 0.5
	}
	if sig.PValue <= 0 {
		return 1
	}
	return min(1, max(0, -math.Log10(sig.PValue)/10))
}

// pText prints a p-value for a summary.
func pText(p float64) string {
	if p < 1e-99 {
		return "p < 1e-99"
	}
	return fmt.Sprintf("p %.1e", p)
}

// maxTemplateText caps the template text in summaries.
const maxTemplateText = 200

func (l *Logs) event(st *logStream, sig logmine.Signal, now time.Time) incident.Event {
	labels := maps.Clone(st.labels)
	labels["log_signal"] = string(sig.Kind)
	interval := sig.End.Sub(sig.Start)
	tpl := sig.Template
	if len(tpl) > maxTemplateText {
		tpl = strings.ToValidUTF8(tpl[:maxTemplateText], "") + "…"
	}
	fp := fingerprint(string(incident.KindLogAnomaly), l.source, st.key, string(sig.Kind), sig.Template)
	var summary string
	switch sig.Kind {
	case logmine.SignalNewTemplate:
		summary = fmt.Sprintf("new log template in %s: %q (%d lines in %s)", st.key, tpl, sig.Count, interval)
	case logmine.SignalRateSurge:
		summary = fmt.Sprintf("log template surged in %s: %q, %d lines in %s against a baseline of %.1f (%s)", st.key, tpl, sig.Count, interval, sig.Baseline, pText(sig.PValue))
	default:
		fp = fingerprint(string(incident.KindLogAnomaly), l.source, st.key, string(sig.Kind))
		summary = fmt.Sprintf("error burst in %s: %d error lines in %s against a baseline of %.1f (%s), most of them %q", st.key, sig.Count, interval, sig.Baseline, pText(sig.PValue), tpl)
	}
	return incident.Event{
		Source:      l.source,
		Kind:        incident.KindLogAnomaly,
		Fingerprint: fp,
		Status:      incident.AlertFiring,
		Labels:      labels,
		Annotations: map[string]string{
			"template": sig.Template,
			"count":    strconv.FormatInt(sig.Count, 10),
			"baseline": strconv.FormatFloat(sig.Baseline, 'f', 2, 64),
			"p_value":  strconv.FormatFloat(sig.PValue, 'g', 3, 64),
			"interval": interval.String(),
		},
		StartsAt:   sig.Start,
		EndsAt:     sig.End,
		ReceivedAt: now,
		Summary:    summary,
		Value:      logStrength(sig),
		Examples:   slices.Clone(sig.Examples),
	}
}
