package signals

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkMetricsObserve measures the pipeline alone (validation, series
// lookup, detector, window) over batches of 1000 samples of 10 series.
func BenchmarkMetricsObserve(b *testing.B) {
	const series, perSeries = 10, 100
	m, err := NewMetrics("metrics", MetricsConfig{}, &fakeSink{})
	if err != nil {
		b.Fatal(err)
	}
	labels := make([]map[string]string, series)
	for s := range labels {
		labels[s] = map[string]string{"service": fmt.Sprint("svc-", s), "instance": fmt.Sprintf("10.0.0.%d:8080", s), "quantile": "0.99"}
	}
	batch := make([]Sample, series*perSeries)
	now := t0.Add(10 * 365 * 24 * time.Hour)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		for s := range series {
			for k := range perSeries {
				j := i*perSeries + k
				batch[s*perSeries+k] = Sample{Metric: "http_request_duration_seconds", Labels: labels[s], Time: t0.Add(time.Duration(j) * time.Minute), Value: 0.2 + float64((j*7919+s)%97)/1000}
			}
		}
		if _, err := m.Observe(batch, now); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkLogsObserve measures the pipeline alone (mining, the stream's
// detector) over batches of 1000 pre-parsed lines.
func BenchmarkLogsObserve(b *testing.B) {
	l := NewLogs("logs", LogsConfig{}, &fakeSink{})
	st := mustStream(b, map[string]string{"source": "checkout"})
	p, _ := NewLineParser("<Date> <Time> <Level> <Component>: <Content>")
	lines := make([]LogLine, 1000)
	for i := range lines {
		raw := fmt.Sprintf("2026-11-24 03:%02d:%02d INFO api.Handler: GET /api/items/%d 200 in %dms", i/60%60, i%60, i, i%37)
		if i%4 == 3 {
			raw = fmt.Sprintf("2026-11-24 03:%02d:%02d ERROR payments.Client: call to 10.0.%d.%d:443 failed after %dms", i/60%60, i%60, i%4, i%250, 1000+i)
		}
		msg, lvl := p.Parse(raw)
		lines[i] = LogLine{Stream: st, Time: t0.Add(time.Duration(i) * 50 * time.Millisecond), Level: lvl, Message: msg, Raw: raw}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Observe(lines, t0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(lines))/b.Elapsed().Seconds(), "lines/s")
}
