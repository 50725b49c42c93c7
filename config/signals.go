package config

import (
	"fmt"
	"maps"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/vigilops/vigil/analyzers/anomaly"
	"github.com/vigilops/vigil/analyzers/logmine"
)

// Metrics configures metric ingest: POST /api/v1/metrics and the Prometheus
// source.
type Metrics struct {
	// MaxSeries caps the series with detector state, per source (push and
	// Prometheus). At the cap a new series evicts the least recently updated
	// short-lived one (fewer than 8 samples), else the least recently updated
	// one. About 16 KB per series. Default 10000.
	MaxSeries int `yaml:"max_series"`
	// WindowPoints is how many recent points of a series an anomaly event
	// carries for its chart. Default 120.
	WindowPoints int `yaml:"window_points"`
	// Prometheus polls PromQL queries; off unless url is set.
	Prometheus Prometheus `yaml:"prometheus"`
}

// Prometheus configures the Prometheus source.
type Prometheus struct {
	// URL of the Prometheus server, e.g. http://prometheus:9090.
	URL string `yaml:"url"`
	// Interval is how often the queries are polled. Default 1m.
	Interval time.Duration `yaml:"interval"`
	// Step is the query_range resolution. Default: Interval.
	Step time.Duration `yaml:"step"`
	// Lookback is how much history the first poll loads to warm the
	// detectors; it raises no events. Default 3h.
	Lookback time.Duration `yaml:"lookback"`
	// Timeout bounds one query. Default 30s.
	Timeout time.Duration `yaml:"timeout"`
	// Queries are polled every interval.
	Queries []PromQuery `yaml:"queries"`
}

// PromQuery is one PromQL query.
type PromQuery struct {
	// Name is the metric name its series get in Vigil; unique.
	Name string `yaml:"name"`
	// Query is the PromQL expression.
	Query string `yaml:"query"`
	// Labels are added to its series (replacing theirs of the same name),
	// e.g. service, so events correlate.
	Labels map[string]string `yaml:"labels"`
	// Forecast, when set, watches the query's series for a threshold
	// crossing.
	Forecast *Forecast `yaml:"forecast"`
}

// Forecast says which threshold crossing to predict. Exactly one of Above and
// Below is set.
type Forecast struct {
	// Above predicts the series rising to this value; Below falling to it.
	Above *float64 `yaml:"above"`
	Below *float64 `yaml:"below"`
	// Horizon: a predicted event opens when the early edge of the
	// forecast's 95 % band crosses within it. Required.
	Horizon time.Duration `yaml:"horizon"`
	// Summary is a Go template over the series' labels naming what happens,
	// e.g. "disk {{.mountpoint}} on {{.instance}} fills"; the event reads
	// "… in ~3h10m ± 40m".
	Summary string `yaml:"summary"`
	// Labels are added to predicted events, e.g. an alertname that runbooks
	// match.
	Labels map[string]string `yaml:"labels"`
}

// ForecastRule selects pushed series to forecast.
type ForecastRule struct {
	// Match selects series by exact label values; __name__ is the metric.
	Match    map[string]string `yaml:"match"`
	Forecast `yaml:",inline"`
}

// Logs configures log ingest: POST /api/v1/logs and file tails.
type Logs struct {
	// MaxStreams caps the log streams with detector state, per source (push
	// and files), evicting like metrics.max_series. Default 1000.
	MaxStreams int `yaml:"max_streams"`
	// Interval is the width of the counting intervals of the log detectors.
	// Default 1m.
	Interval time.Duration `yaml:"interval"`
	// WarmUp is how long after a stream's first line its templates count as
	// known rather than new. Default 1h.
	WarmUp time.Duration `yaml:"warm_up"`
	// OpenIncidents lets a log anomaly open an incident when no open
	// incident concerns its service; otherwise it only joins one. Default
	// false.
	OpenIncidents bool `yaml:"open_incidents"`
	// Files are followed like tail -F; offsets are kept in the store.
	Files []LogFile `yaml:"files"`
}

// LogFile is one followed log file.
type LogFile struct {
	// Path of the file; it may not exist yet.
	Path string `yaml:"path"`
	// Format is the line header format in Loghub's notation, e.g.
	// "<Date> <Time> <Level> <Component>: <Content>"; empty takes the whole
	// line as the message.
	Format string `yaml:"format"`
	// Labels name the stream; source defaults to the path.
	Labels map[string]string `yaml:"labels"`
}

// Anomaly configures the metric anomaly detectors.
type Anomaly struct {
	// AlertLevel is the anomaly score in (0, 1] at which a point raises a
	// metric_anomaly event. Default 0.5: of the levels compared on NAB
	// (go run ./bench/nab --alert-levels …), the one with the best
	// reward-low-FP score, the profile that weighs false pages double.
	AlertLevel float64 `yaml:"alert_level"`
	// NoisyEvents is the per-series event budget: a series that has
	// already raised this many events within NoisyWindow is too noisy to
	// page at AlertLevel, and its next events need a raised score (each one
	// past the budget doubles the surprise asked for, up to three times);
	// the events let through say so in the thread. Default 3; 0 turns the
	// back-off off.
	NoisyEvents int `yaml:"noisy_events"`
	// NoisyWindow is the span of series time NoisyEvents covers. Default
	// 24h.
	NoisyWindow time.Duration `yaml:"noisy_window"`
	// OpenIncidents lets a metric anomaly open an incident when no open
	// incident concerns its service; otherwise it only joins one. Default
	// false. Predictions always may: that is what they are for.
	OpenIncidents bool `yaml:"open_incidents"`
}

// ForecastSettings configures capacity forecasts of pushed metrics.
type ForecastSettings struct {
	// Every is how much series time passes between two forecasts of a
	// series. Default 5m.
	Every time.Duration `yaml:"every"`
	// Rules select pushed series to forecast; the first match applies.
	Rules []ForecastRule `yaml:"rules"`
}

func defaultMetrics() Metrics {
	return Metrics{MaxSeries: 10000, WindowPoints: 120,
		Prometheus: Prometheus{Interval: time.Minute, Lookback: 3 * time.Hour, Timeout: 30 * time.Second}}
}

func defaultAnomaly() Anomaly {
	return Anomaly{AlertLevel: anomaly.DefaultConfig().AlertLevel, NoisyEvents: 3, NoisyWindow: 24 * time.Hour}
}

func defaultLogs() Logs { return Logs{MaxStreams: 1000, Interval: time.Minute, WarmUp: time.Hour} }

var (
	metricNameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelNameRE  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// validateSignals checks the metrics, logs, anomaly and forecast sections.
func (c *Config) validateSignals() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, args...)...))
	}
	m := c.Metrics
	if m.MaxSeries < 1 {
		bad("metrics.max_series", "must be at least 1, got %d (default 10000)", m.MaxSeries)
	}
	if m.WindowPoints < 2 {
		bad("metrics.window_points", "must be at least 2, got %d (default 120)", m.WindowPoints)
	}
	p := m.Prometheus
	if p.URL != "" {
		if u, err := url.Parse(p.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("metrics.prometheus.url", "%q is not an http:// or https:// URL (e.g. http://prometheus:9090)", p.URL)
		}
		if len(p.Queries) == 0 {
			bad("metrics.prometheus.queries", "lists no query; a Prometheus source needs at least one")
		}
	} else if len(p.Queries) > 0 {
		bad("metrics.prometheus.url", "is required when queries are listed")
	}
	if p.Interval < time.Second {
		bad("metrics.prometheus.interval", "must be at least 1s, got %s (default 1m)", p.Interval)
	}
	if p.Step != 0 && p.Step < time.Second {
		bad("metrics.prometheus.step", "must be at least 1s, got %s (default: the interval)", p.Step)
	}
	if p.Lookback < 0 {
		bad("metrics.prometheus.lookback", "must not be negative")
	}
	if p.Timeout <= 0 {
		bad("metrics.prometheus.timeout", "must be positive, got %s (default 30s)", p.Timeout)
	}
	names := map[string]bool{}
	for i, q := range p.Queries {
		field := fmt.Sprintf("metrics.prometheus.queries[%d]", i)
		switch {
		case !metricNameRE.MatchString(q.Name):
			bad(field+".name", "%q must be a metric name (letters, digits, '_' and ':'); its series get it", q.Name)
		case names[q.Name]:
			bad(field+".name", "%q is used by another query", q.Name)
		}
		names[q.Name] = true
		if strings.TrimSpace(q.Query) == "" {
			bad(field+".query", "is required: a PromQL expression")
		}
		errs = append(errs, validLabels(field+".labels", q.Labels)...)
		if q.Forecast != nil {
			errs = append(errs, q.Forecast.validate(field+".forecast")...)
		}
	}
	l := c.Logs
	if l.MaxStreams < 1 {
		bad("logs.max_streams", "must be at least 1, got %d (default 1000)", l.MaxStreams)
	}
	if l.Interval < time.Second {
		bad("logs.interval", "must be at least 1s, got %s (default 1m)", l.Interval)
	}
	if l.WarmUp < 0 {
		bad("logs.warm_up", "must not be negative")
	}
	paths := map[string]bool{}
	for i, f := range l.Files {
		field := fmt.Sprintf("logs.files[%d]", i)
		switch {
		case f.Path == "":
			bad(field+".path", "is required")
		case paths[f.Path]:
			bad(field+".path", "%q is listed twice", f.Path)
		}
		paths[f.Path] = true
		if f.Format != "" {
			if _, err := logmine.ParseFormat(f.Format); err != nil {
				bad(field+".format", "%q: %v", f.Format, err)
			}
		}
		errs = append(errs, validLabels(field+".labels", f.Labels)...)
	}
	if a := c.Anomaly.AlertLevel; !(a > 0 && a <= 1) {
		bad("anomaly.alert_level", "must be in (0, 1], got %v (default %v)", a, anomaly.DefaultConfig().AlertLevel)
	}
	if n := c.Anomaly.NoisyEvents; n < 0 {
		bad("anomaly.noisy_events", "must be ≥ 0 (0 turns the back-off off), got %d (default 3)", n)
	}
	if w := c.Anomaly.NoisyWindow; c.Anomaly.NoisyEvents > 0 && w < time.Minute {
		bad("anomaly.noisy_window", "must be at least 1m, got %s (default 24h)", w)
	}
	if c.Forecast.Every < time.Second {
		bad("forecast.every", "must be at least 1s, got %s (default 5m)", c.Forecast.Every)
	}
	for i, r := range c.Forecast.Rules {
		field := fmt.Sprintf("forecast.rules[%d]", i)
		for _, k := range slices.Sorted(maps.Keys(r.Match)) {
			if k != "__name__" && !labelNameRE.MatchString(k) {
				bad(field+".match", "%q is not a label name", k)
			}
		}
		errs = append(errs, r.validate(field)...)
	}
	return errs
}

func (f *Forecast) validate(field string) []error {
	var errs []error
	bad := func(sub, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s%s: "+format, append([]any{field, sub}, args...)...))
	}
	switch {
	case (f.Above == nil) == (f.Below == nil):
		bad("", "set exactly one of above (the series rises to it) and below (it falls to it)")
	case f.Above != nil && (math.IsNaN(*f.Above) || math.IsInf(*f.Above, 0)),
		f.Below != nil && (math.IsNaN(*f.Below) || math.IsInf(*f.Below, 0)):
		bad("", "the threshold must be a finite number")
	}
	if f.Horizon <= 0 {
		bad(".horizon", "is required: how far ahead a crossing counts (e.g. 6h)")
	}
	if f.Summary != "" {
		if _, err := template.New("summary").Parse(f.Summary); err != nil {
			bad(".summary", "%v", err)
		}
	}
	return append(errs, validLabels(field+".labels", f.Labels)...)
}

func validLabels(field string, labels map[string]string) []error {
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if !labelNameRE.MatchString(k) || strings.HasPrefix(k, "__") {
			errs = append(errs, fmt.Errorf("%s: %q is not a label name (letters, digits and '_', not starting with a digit or \"__\")", field, k))
		}
	}
	return errs
}
