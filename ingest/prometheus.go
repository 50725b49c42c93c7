package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/vigilops/vigil/signals"
)

// RangeQuerier is the part of the Prometheus HTTP API the source uses; a
// promv1.API is one.
type RangeQuerier interface {
	QueryRange(ctx context.Context, query string, r promv1.Range, opts ...promv1.Option) (model.Value, promv1.Warnings, error)
}

// NewPrometheusAPI returns a client of the Prometheus HTTP API at url.
func NewPrometheusAPI(url string) (RangeQuerier, error) {
	c, err := api.NewClient(api.Config{Address: url})
	if err != nil {
		return nil, fmt.Errorf("prometheus %s: %w", url, err)
	}
	return promv1.NewAPI(c), nil
}

// WarmingPipeline is a MetricsPipeline that can also learn history without
// raising events: signals.Metrics.
type WarmingPipeline interface {
	MetricsPipeline
	Warm(samples []signals.Sample, now time.Time) (signals.Observed, error)
}

// PromQuery is one PromQL query the source polls.
type PromQuery struct {
	// Name is the metric name the query's series get in Vigil.
	Name  string
	Query string
	// Labels are added to every series of the query, replacing the query's
	// own labels of the same name.
	Labels map[string]string
}

// Prometheus polls PromQL queries through the Prometheus HTTP API
// (query_range) and feeds the series to a metrics pipeline. Each poll asks
// for the steps since the last one it got, so nothing is asked twice and a
// Prometheus outage leaves no gap up to MaxRange. The first poll of a query
// looks back Lookback to warm the detectors and raises no events for that
// history. Samples that are not finite (stale markers, divisions by zero)
// are skipped, as the detectors would treat them as missing anyway.
type Prometheus struct {
	API      RangeQuerier
	Queries  []PromQuery
	Pipeline WarmingPipeline
	// Interval is how often to poll; Step the query resolution. Lookback is
	// the history of a first poll. Timeout bounds one query.
	Interval, Step, Lookback, Timeout time.Duration
	Now                               func() time.Time
	Logger                            *slog.Logger

	last map[string]time.Time // per query name: the last step received
}

// maxSteps is the most steps one query_range asks for: Prometheus refuses
// more than 11,000 points per series.
const maxSteps = 10000

// Run polls at once and then every Interval until ctx is done.
func (p *Prometheus) Run(ctx context.Context) {
	t := time.NewTicker(p.Interval)
	defer t.Stop()
	for {
		if err := p.Poll(ctx); err != nil && ctx.Err() == nil {
			p.Logger.Warn("prometheus: poll failed; the next poll asks for the missed steps too", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Poll runs every query once and returns what went wrong, query by query.
// A query whose samples could not be applied is asked again next time; one
// whose events could not be stored is not (its events wait in the pipeline).
func (p *Prometheus) Poll(ctx context.Context) error {
	if p.last == nil {
		p.last = make(map[string]time.Time, len(p.Queries))
	}
	var errs []error
	for _, q := range p.Queries {
		if err := p.poll(ctx, q); err != nil {
			errs = append(errs, fmt.Errorf("query %s: %w", q.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (p *Prometheus) poll(ctx context.Context, q PromQuery) error {
	now := p.Now()
	end := now.Truncate(p.Step)
	last, seen := p.last[q.Name]
	start := end.Add(-p.Lookback)
	if seen {
		start = last.Add(p.Step)
	}
	if earliest := end.Add(-maxSteps * p.Step); start.Before(earliest) {
		p.Logger.Warn("prometheus: too many steps missed; asking for the latest only", "query", q.Name, "skipped_from", start, "to", earliest)
		start = earliest
	}
	if start.After(end) {
		return nil
	}
	qctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	val, warnings, err := p.API.QueryRange(qctx, q.Query, promv1.Range{Start: start, End: end, Step: p.Step})
	if err != nil {
		return fmt.Errorf("query_range %s..%s: %w", start.Format(time.RFC3339), end.Format(time.RFC3339), err)
	}
	for _, w := range warnings {
		p.Logger.Warn("prometheus: query warning", "query", q.Name, "warning", w)
	}
	matrix, ok := val.(model.Matrix)
	if !ok {
		return fmt.Errorf("query_range returned a %s, want a range vector (matrix)", val.Type())
	}
	samples, skipped := p.samples(q, matrix)
	if skipped > 0 {
		p.Logger.Debug("prometheus: skipped samples that are not finite", "query", q.Name, "skipped", skipped)
	}
	apply := p.Pipeline.Observe
	if !seen {
		apply = p.Pipeline.Warm
	}
	if _, err := apply(samples, now); err != nil {
		var inv *signals.InvalidError
		if errors.As(err, &inv) {
			// The same answer would fail again: move on.
			p.last[q.Name] = end
		}
		return err
	}
	p.last[q.Name] = end
	if _, err := p.Pipeline.Flush(ctx, now); err != nil {
		return err
	}
	return nil
}

// samples converts a range vector: the series get the query's name as their
// metric and its labels on top of their own.
func (p *Prometheus) samples(q PromQuery, m model.Matrix) ([]signals.Sample, int) {
	var out []signals.Sample
	skipped := 0
	for _, ss := range m {
		labels := make(map[string]string, len(ss.Metric)+len(q.Labels))
		for k, v := range ss.Metric {
			if k != model.MetricNameLabel {
				labels[string(k)] = string(v)
			}
		}
		maps.Copy(labels, q.Labels)
		for _, v := range ss.Values {
			f := float64(v.Value)
			if math.IsNaN(f) || math.IsInf(f, 0) {
				skipped++
				continue
			}
			out = append(out, signals.Sample{Metric: q.Name, Labels: labels, Time: v.Timestamp.Time(), Value: f})
		}
	}
	return out, skipped
}
