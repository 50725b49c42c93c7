// Package signals turns raw telemetry into incident events as it streams in.
//
// Metrics feeds metric samples to one streaming anomaly detector per series
// (analyzers/anomaly) and, for series a forecast rule selects, to a capacity
// forecast (analyzers/forecast). Logs mines log lines into templates
// (analyzers/logmine) and watches each log stream for new templates, rate
// surges and error bursts. Both hand the events they produce to an EventSink,
// which stores them; a pipeline reports success only once the sink has
// accepted every event its input produced, so a caller may acknowledge its
// input only then.
//
// # Events
//
// metric_anomaly: a point that opened an anomaly event of its series' detector.
// Labels are the series' labels plus __name__ (the metric); Fingerprint
// identifies the series (kind, source, series); StartsAt is the point's time;
// Value is its anomaly score in [0, 1]; Series is the window of the last
// MetricsConfig.WindowPoints points up to and including it; Annotations hold
// value, baseline, scale, z, score, signal (spike, level shift or new
// pattern), the window that sub-detector read, season, and record (spikes:
// the largest recent |z| they were judged against) or novelty (patterns).
// A series that already raised MetricsConfig.Backoff.Events events within
// Backoff.Window is too noisy to page at the alert level: its next events
// need a raised score (anomaly.RaisedLevel), weaker ones are held back, and
// one let through carries a backoff annotation and a summary that say so.
//
// predicted: a forecast whose 95 % band reaches a rule's threshold within its
// horizon. Status is firing when the prediction starts (StartsAt) and
// resolved, in an event of its own starting when it cleared, once a later
// forecast no longer reaches the threshold within the horizon; both carry the
// same Fingerprint (kind, source, series, threshold), and both name the
// start in the predicted_since annotation. Labels are the
// series' labels, __name__ and the rule's Labels (so runbooks can match
// them); Summary reads like "disk /var on db-1 fills in ~3h10m ± 40m";
// Value is the urgency in [0, 1], 1 − early/horizon; Series is the history
// the forecast was fitted on (at most 300 points); Annotations hold eta,
// early, late (Go durations, or "beyond"), crosses_at, threshold, horizon,
// level (fitted, at the last sample), slope_per_hour and season.
//
// log_anomaly: one logmine signal of a log stream. Labels are the stream's
// labels plus log_signal (new_template, rate_surge or error_burst);
// Fingerprint identifies the stream, signal kind and template text (for an
// error burst, the stream alone); StartsAt and EndsAt bound the counting
// interval; Value scores the signal in [0, 1] as −log10(p)/10 (0.5 for a
// new template); Examples hold up to five lines of the interval, redacted by
// Redact; Annotations hold template, count (lines in the interval, error
// lines for a burst), baseline, p_value and interval.
//
// Value is thus a strength in [0, 1] for every kind, comparable across kinds.
//
// Every event is fully determined by the input that produced it, and no two
// events share Kind, Fingerprint and StartsAt, so a sink that sees an event
// again (because an earlier IngestEvents failed after storing it) can treat
// it as a duplicate by those three.
//
// # Bounded memory
//
// Per-series and per-stream state is kept in a map with a cap
// (MetricsConfig.MaxSeries, LogsConfig.MaxStreams). A new series or stream
// starts on probation and becomes established once it has received
// promoteAfter (8) samples or lines. When the cap is reached and a new key
// arrives, the least recently updated key on probation is evicted, or, if
// none is on probation, the least recently updated established key. So a
// flood of short-lived, high-cardinality series churns among themselves and
// does not push out the series that report steadily. An evicted series or
// stream loses what it learnt and warms up again if it returns.
//
// With the default detector a metric series costs about 16 KB (13,040 bytes
// of detector, 16 bytes per window point, labels and bookkeeping; 16,024 bytes
// measured with three labels), so the default cap of 10,000 series bounds
// metric state at about 160 MB per pipeline; a forecast series adds 16 bytes
// per kept history point (at most 16 KB). A log stream
// costs its detector's per-template counts (at most
// LogsConfig.MaxTemplatesPerStream templates); the template miner is shared by
// the streams of a pipeline and bounded by logmine.Config.
//
// Events waiting for the sink are bounded too: past MaxPending of them, input
// is refused with ErrBacklog, before any state changes, until the sink catches
// up.
package signals
