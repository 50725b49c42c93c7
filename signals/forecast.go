package signals

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/vigilops/vigil/analyzers/forecast"
	"github.com/vigilops/vigil/incident"
)

// ForecastRule selects series to forecast and the crossing to watch for.
type ForecastRule struct {
	// Match selects series by exact label values; the key "__name__"
	// matches the metric name. An empty Match selects every series.
	Match map[string]string
	// Threshold is the value to watch for; Rising says the series must rise
	// to it (usage reaching a limit), else fall to it (free space running
	// out).
	Threshold float64
	Rising    bool
	// Horizon is how far ahead a crossing counts: a predicted event is
	// raised when the early edge of the forecast's 95 % band reaches the
	// threshold within it, and resolved when it no longer does. Required.
	// A series already past the threshold raises nothing: that is for
	// alerting.
	Horizon time.Duration
	// Summary is a text/template over the series' labels (the metric is
	// .__name__) naming what happens at the crossing, e.g.
	// "disk {{.mountpoint}} on {{.instance}} fills". Default: the series
	// "reaches" or "falls to" the threshold.
	Summary string
	// Labels are added to predicted events, e.g. an alertname for runbooks
	// to match.
	Labels map[string]string
}

type forecastRule struct {
	ForecastRule
	summary *template.Template // nil for the default
}

func compileRule(r ForecastRule) (*forecastRule, error) {
	if r.Horizon <= 0 {
		return nil, errors.New("horizon must be positive")
	}
	if math.IsNaN(r.Threshold) || math.IsInf(r.Threshold, 0) {
		return nil, errors.New("threshold must be finite")
	}
	fr := &forecastRule{ForecastRule: r}
	if r.Summary != "" {
		t, err := template.New("summary").Option("missingkey=error").Parse(r.Summary)
		if err != nil {
			return nil, fmt.Errorf("summary: %w", err)
		}
		fr.summary = t
	}
	return fr, nil
}

func (r *forecastRule) matches(metric string, labels map[string]string) bool {
	for k, want := range r.Match {
		got, ok := labels[k]
		if k == "__name__" {
			got, ok = metric, true
		}
		if !ok || got != want {
			return false
		}
	}
	return true
}

// what names the crossing for a summary: the rule's Summary rendered over
// the series' labels, or a default. A template that fails on these labels
// (a missing one) falls back to the default, so a prediction is never lost
// to its wording.
func (r *forecastRule) what(s *series) string {
	if r.summary != nil {
		var b strings.Builder
		if err := r.summary.Execute(&b, s.eventLabels(nil)); err == nil {
			return b.String()
		}
	}
	verb := "falls to"
	if r.Rising {
		verb = "reaches"
	}
	return s.key + " " + verb + " " + formatValue(r.Threshold)
}

// forecastState follows the forecast of one series.
type forecastState struct {
	rule    *forecastRule
	hist    window
	fitted  bool  // lastFit is set
	lastFit int64 // unix ms of the last fit
	active  bool  // a predicted event is firing
	since   time.Time
}

// observe keeps the sample in the history if it is due, refits when due and
// returns a predicted event when the prediction starts or ends. Without emit
// it only keeps history.
func (f *forecastState) observe(m *Metrics, s *series, smp Sample, now time.Time, emit bool) (incident.Event, bool) {
	t := smp.Time.UnixMilli()
	if last, ok := f.hist.last(); !ok || t-last >= m.cfg.ForecastResolution.Milliseconds() {
		f.hist.push(t, smp.Value)
	}
	if !emit || f.fitted && t-f.lastFit < m.cfg.ForecastEvery.Milliseconds() {
		return incident.Event{}, false
	}
	f.fitted, f.lastFit = true, t
	times := make([]time.Time, f.hist.n)
	values := make([]float64, f.hist.n)
	for i := range f.hist.n {
		ms, v := f.hist.at(i)
		times[i], values[i] = time.UnixMilli(ms), v
	}
	past := smp.Value >= f.rule.Threshold
	if !f.rule.Rising {
		past = smp.Value <= f.rule.Threshold
	}
	// The search looks past the horizon so that a summary can say when the
	// crossing is expected even while only the band's early edge is within
	// the horizon.
	res, err := forecast.Forecast(times, values, f.rule.Threshold, etaSearch*f.rule.Horizon)
	if err != nil || past || res.Rising != f.rule.Rising {
		// Too little history, or the series is already past the threshold
		// (that is for alerting), or so is the fitted trend: the prediction
		// stays as it was.
		return incident.Event{}, false
	}
	reaches := res.Early <= f.rule.Horizon
	switch {
	case reaches && !f.active:
		f.active, f.since = true, smp.Time
		return f.event(m, s, res, incident.AlertFiring, smp.Time, now), true
	case !reaches && f.active:
		f.active = false
		return f.event(m, s, res, incident.AlertResolved, smp.Time, now), true
	}
	return incident.Event{}, false
}

// etaSearch is how many horizons ahead a forecast looks for the crossing.
const etaSearch = 4

// maxForecastSeries caps the points of a predicted event's Series.
const maxForecastSeries = 300

func (f *forecastState) event(m *Metrics, s *series, res forecast.Result, status string, at, now time.Time) incident.Event {
	r := f.rule
	what := r.what(s)
	summary := what + " " + describeETA(res)
	starts := f.since
	if status == incident.AlertResolved {
		// A resolve is an event of its own: it starts when the prediction
		// cleared, so that stores keying events by fingerprint and start keep
		// it.
		summary = what + ": no longer forecast within " + humanDuration(r.Horizon)
		starts = at
	}
	ann := map[string]string{
		"eta":             durationOrBeyond(res.ETA),
		"early":           durationOrBeyond(res.Early),
		"late":            durationOrBeyond(res.Late),
		"threshold":       formatValue(r.Threshold),
		"horizon":         r.Horizon.String(),
		"slope_per_hour":  formatValue(res.Slope * 3600),
		"season":          res.Period.String(),
		"predicted_since": f.since.UTC().Format(time.RFC3339),
		"level":           formatValue(res.Level),
	}
	if res.ETA != forecast.Beyond {
		ann["crosses_at"] = at.Add(res.ETA).UTC().Format(time.RFC3339)
	}
	times, values := f.hist.tail(maxForecastSeries)
	return incident.Event{
		Source:      m.source,
		Kind:        incident.KindPredicted,
		Fingerprint: fingerprint(string(incident.KindPredicted), m.source, s.key, strconv.FormatFloat(r.Threshold, 'g', -1, 64)),
		Status:      status,
		Labels:      s.eventLabels(r.Labels),
		Annotations: ann,
		StartsAt:    starts,
		ReceivedAt:  now,
		Summary:     summary,
		Value:       urgency(res.Early, r.Horizon),
		Series:      &incident.Series{Name: s.metric, Labels: maps.Clone(s.labels), Times: times, Values: values},
	}
}

// urgency scores a prediction in [0, 1]: 1 when the band's early edge is
// now, 0 when it is at the horizon or beyond.
func urgency(early, horizon time.Duration) float64 {
	if early >= horizon {
		return 0
	}
	return 1 - float64(early)/float64(horizon)
}

// describeETA says when the crossing is expected: "in ~3h10m ± 40m". A
// margin under 1 % of the estimate is left out.
func describeETA(r forecast.Result) string {
	switch {
	case r.ETA == forecast.Beyond:
		return "possibly in " + humanDuration(r.Early) + " (early edge of the 95% band; the central forecast is beyond the horizon)"
	case r.Late == forecast.Beyond:
		return "in ~" + humanDuration(r.ETA) + ", as soon as " + humanDuration(r.Early)
	}
	margin := max(r.ETA-r.Early, r.Late-r.ETA)
	if margin*100 < r.ETA {
		return "in ~" + humanDuration(r.ETA)
	}
	return "in ~" + humanDuration(r.ETA) + " ± " + humanDuration(margin)
}

func durationOrBeyond(d time.Duration) string {
	if d == forecast.Beyond {
		return "beyond"
	}
	return d.Round(time.Second).String()
}

// humanDuration prints a duration the way people say it: 45s, 40m, 3h10m,
// 2d5h.
func humanDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d.Round(time.Second)/time.Second)) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Round(time.Minute)/time.Minute)) + "m"
	case d < 48*time.Hour:
		d = d.Round(time.Minute)
		h, m := d/time.Hour, (d%time.Hour)/time.Minute
		if m == 0 {
			return strconv.Itoa(int(h)) + "h"
		}
		return strconv.Itoa(int(h)) + "h" + strconv.Itoa(int(m)) + "m"
	}
	d = d.Round(time.Hour)
	days, h := d/(24*time.Hour), (d%(24*time.Hour))/time.Hour
	if h == 0 {
		return strconv.Itoa(int(days)) + "d"
	}
	return strconv.Itoa(int(days)) + "d" + strconv.Itoa(int(h)) + "h"
}
