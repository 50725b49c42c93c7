package app

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"sync"
	"time"

	"github.com/vigilops/vigil/analyzers/anomaly"
	"github.com/vigilops/vigil/analyzers/logmine"
	"github.com/vigilops/vigil/config"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/ingest"
	"github.com/vigilops/vigil/internal/httpx"
	"github.com/vigilops/vigil/signals"
)

// flushEvery is how often the signal pipelines retry storing waiting events
// and close the log detectors' intervals.
const flushEvery = 5 * time.Second

// wireSignals registers the metrics and logs receivers on mux, their
// pipelines running on this replica (ingest role), and adds the Prometheus
// source and the file tails as singletons (worker role): a query or a file is
// read by one replica. Their events go to sink, tail offsets to offsets, so a
// tail that moves to another replica resumes where it stopped.
func wireSignals(r *runs, roles Roles, cfg config.Config, sink signals.EventSink, offsets ingest.OffsetStore, mux *http.ServeMux, tokens []string, notify func(), logger *slog.Logger) error {
	det := anomaly.DefaultConfig()
	det.AlertLevel = cfg.Anomaly.AlertLevel
	backoff := signals.Backoff{Events: cfg.Anomaly.NoisyEvents, Window: cfg.Anomaly.NoisyWindow}
	if backoff.Events == 0 {
		backoff.Events = -1 // off
	}
	metricsCfg := func(rules []signals.ForecastRule, l *slog.Logger) signals.MetricsConfig {
		return signals.MetricsConfig{Detector: det, Backoff: backoff, MaxSeries: cfg.Metrics.MaxSeries, WindowPoints: cfg.Metrics.WindowPoints,
			Forecasts: rules, ForecastEvery: cfg.Forecast.Every, Notify: notify, Logger: l}
	}
	logsCfg := func(l *slog.Logger) signals.LogsConfig {
		return signals.LogsConfig{Detector: logmine.DetectorConfig{Interval: cfg.Logs.Interval, WarmUp: cfg.Logs.WarmUp},
			MaxStreams: cfg.Logs.MaxStreams, Notify: notify, Logger: l}
	}

	if roles.Has(RoleIngest) {
		var rules []signals.ForecastRule
		for _, r := range cfg.Forecast.Rules {
			rules = append(rules, forecastRule(r.Match, r.Forecast))
		}
		ml := logger.With("component", "metrics")
		push, err := signals.NewMetrics("metrics", metricsCfg(rules, ml), sink)
		if err != nil {
			return err
		}
		mux.Handle("POST /api/v1/metrics", httpx.RequireBearer(tokens, &ingest.Metrics{Pipeline: push, Logger: ml}))
		r.loop(func(ctx context.Context) { push.Run(ctx, flushEvery) })

		ll := logger.With("component", "logs")
		pushLogs := signals.NewLogs("logs", logsCfg(ll), sink)
		mux.Handle("POST /api/v1/logs", httpx.RequireBearer(tokens, &ingest.Logs{Pipeline: pushLogs, Logger: ll}))
		r.loop(func(ctx context.Context) { pushLogs.Run(ctx, flushEvery) })
	}
	if !roles.Has(RoleWorker) {
		return nil
	}

	if p := cfg.Metrics.Prometheus; p.URL != "" {
		pl := logger.With("component", "prometheus")
		var promRules []signals.ForecastRule
		queries := make([]ingest.PromQuery, len(p.Queries))
		for i, q := range p.Queries {
			queries[i] = ingest.PromQuery{Name: q.Name, Query: q.Query, Labels: q.Labels}
			if q.Forecast != nil {
				promRules = append(promRules, forecastRule(map[string]string{"__name__": q.Name}, *q.Forecast))
			}
		}
		prom, err := signals.NewMetrics("prometheus", metricsCfg(promRules, pl), sink)
		if err != nil {
			return err
		}
		api, err := ingest.NewPrometheusAPI(p.URL)
		if err != nil {
			return err
		}
		step := p.Step
		if step == 0 {
			step = p.Interval
		}
		src := &ingest.Prometheus{API: api, Queries: queries, Pipeline: prom, Interval: p.Interval, Step: step,
			Lookback: p.Lookback, Timeout: p.Timeout, Now: time.Now, Logger: pl}
		run := all(src.Run, func(ctx context.Context) { prom.Run(ctx, flushEvery) })
		r.singleton("prometheus", func(ctx context.Context) {
			pl.Info("polling Prometheus", "url", p.URL, "queries", len(queries), "interval", p.Interval)
			run(ctx)
		})
	}

	if len(cfg.Logs.Files) > 0 {
		tl := logger.With("component", "tail")
		tails := signals.NewLogs("tail", logsCfg(tl), sink)
		fs := []func(context.Context){func(ctx context.Context) { tails.Run(ctx, flushEvery) }}
		for _, f := range cfg.Logs.Files {
			labels := maps.Clone(f.Labels)
			if labels == nil {
				labels = map[string]string{}
			}
			if labels["source"] == "" {
				labels["source"] = f.Path
			}
			stream, err := signals.NewStream(labels)
			if err != nil {
				return fmt.Errorf("logs.files %s: %w", f.Path, err)
			}
			parser, err := signals.NewLineParser(f.Format)
			if err != nil {
				return fmt.Errorf("logs.files %s: %w", f.Path, err)
			}
			t := &ingest.Tail{Path: f.Path, Stream: stream, Parser: parser, Pipeline: tails, Offsets: offsets,
				RotateGrace: 5 * time.Second, Now: time.Now, Logger: tl.With("path", f.Path)}
			fs = append(fs, func(ctx context.Context) {
				if err := t.Run(ctx); err != nil {
					tl.Error("tail stopped", "path", f.Path, "err", err)
				}
			})
		}
		run := all(fs...)
		r.singleton("log-tail", func(ctx context.Context) {
			tl.Info("following log files", "files", len(cfg.Logs.Files))
			run(ctx)
		})
	}
	return nil
}

// all runs fs at once and returns when every one has returned.
func all(fs ...func(context.Context)) func(context.Context) {
	return func(ctx context.Context) {
		var wg sync.WaitGroup
		for _, f := range fs {
			wg.Go(func() { f(ctx) })
		}
		wg.Wait()
	}
}

// signalSink routes the signal pipelines' events into the store, grouped like
// alerts; predictions may open incidents, anomalies when configured to.
func signalSink(cfg config.Config, st ingest.SignalStore) *ingest.SignalSink {
	return &ingest.SignalSink{Store: st, GroupBy: cfg.Ingest.GroupBy, Open: map[incident.EventKind]bool{
		incident.KindPredicted:     true,
		incident.KindMetricAnomaly: cfg.Anomaly.OpenIncidents,
		incident.KindLogAnomaly:    cfg.Logs.OpenIncidents,
	}}
}

// forecastRule turns a configured forecast into a pipeline rule.
func forecastRule(match map[string]string, f config.Forecast) signals.ForecastRule {
	r := signals.ForecastRule{Match: match, Horizon: f.Horizon, Summary: f.Summary, Labels: f.Labels}
	if f.Above != nil {
		r.Threshold, r.Rising = *f.Above, true
	} else {
		r.Threshold = *f.Below
	}
	return r
}
