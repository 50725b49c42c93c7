package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/signals"
	"github.com/vigilops/vigil/store"
)

// BenchmarkMetricsIngest measures POST /api/v1/metrics end to end but for
// the network: JSON decoding, validation, the detectors and the (fake,
// instant) store, over batches of 1000 samples of 10 series.
func BenchmarkMetricsIngest(b *testing.B) {
	const series, perSeries = 10, 100
	m, err := signals.NewMetrics("metrics", signals.MetricsConfig{}, &eventSink{})
	if err != nil {
		b.Fatal(err)
	}
	h := &Metrics{Pipeline: m, Logger: discard}
	start := time.Now().Add(-2 * 365 * 24 * time.Hour).Truncate(time.Minute)
	body := func(batch int) string {
		var sb strings.Builder
		sb.WriteString(`{"samples":[`)
		for s := range series {
			for k := range perSeries {
				i := batch*perSeries + k
				if s > 0 || k > 0 {
					sb.WriteByte(',')
				}
				fmt.Fprintf(&sb, `{"metric":"http_request_duration_seconds","labels":{"service":"svc-%d","instance":"10.0.0.%d:8080","quantile":"0.99"},"timestamp":%d,"value":%g}`,
					s, s, start.Add(time.Duration(i)*time.Minute).Unix(), 0.2+float64((i*7919+s)%97)/1000)
			}
		}
		sb.WriteString(`]}`)
		return sb.String()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		req := httptest.NewRequest(http.MethodPost, "/api/v1/metrics", strings.NewReader(body(i)))
		w := httptest.NewRecorder()
		b.StartTimer()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
	b.ReportMetric(float64(b.N*series*perSeries)/b.Elapsed().Seconds(), "samples/s")
}

// benchLogLines are 1000 lines of a mixed application log.
func benchLogLines() []string {
	lines := make([]string, 1000)
	for i := range lines {
		switch i % 5 {
		case 0:
			lines[i] = fmt.Sprintf("2026-11-24 03:%02d:%02d INFO api.Handler: GET /api/items/%d 200 in %dms", i/60%60, i%60, i, i%37)
		case 1:
			lines[i] = fmt.Sprintf("2026-11-24 03:%02d:%02d INFO api.Handler: POST /api/cart/%d 201 in %dms user=u%d", i/60%60, i%60, i, i%53, i%311)
		case 2:
			lines[i] = fmt.Sprintf("2026-11-24 03:%02d:%02d DEBUG cache.Client: hit key=session:%x ttl=%ds", i/60%60, i%60, i*7919, i%600)
		case 3:
			lines[i] = fmt.Sprintf("2026-11-24 03:%02d:%02d WARN db.Pool: pool at %d/20 connections, waited %dms", i/60%60, i%60, i%20, i%9)
		default:
			lines[i] = fmt.Sprintf("2026-11-24 03:%02d:%02d ERROR payments.Client: call to 10.0.%d.%d:443 failed: context deadline exceeded after %dms", i/60%60, i%60, i%4, i%250, 1000+i)
		}
	}
	return lines
}

// BenchmarkLogsIngest measures POST /api/v1/logs end to end but for the
// network, over bodies of 1000 lines: header parsing, mining, the stream's
// detector and the (fake, instant) store.
func BenchmarkLogsIngest(b *testing.B) {
	lines := benchLogLines()
	for _, tc := range []struct {
		name, contentType, body string
	}{
		{"text", "text/plain", strings.Join(lines, "\n") + "\n"},
		{"ndjson", "application/x-ndjson", func() string {
			var sb strings.Builder
			for _, l := range lines {
				fmt.Fprintf(&sb, "{\"message\":%q}\n", l)
			}
			return sb.String()
		}()},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h := &Logs{Pipeline: signals.NewLogs("logs", signals.LogsConfig{}, &eventSink{}), Logger: discard}
			url := "/api/v1/logs?source=checkout&format=" + strings.NewReplacer(" ", "%20", "<", "%3C", ">", "%3E", ":", "%3A").Replace(testLogFormat)
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.body)))
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, url, strings.NewReader(tc.body))
				req.Header.Set("Content-Type", tc.contentType)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
			b.ReportMetric(float64(b.N*len(lines))/b.Elapsed().Seconds(), "lines/s")
		})
	}
}

const testLogFormat = "<Date> <Time> <Level> <Component>: <Content>"

// queuedStore answers every alert as queued, at once: the receiver's own
// cost with a spool that costs nothing.
type queuedStore struct{}

func (queuedStore) IngestAlerts(_ context.Context, _ string, alerts []store.AlertIn, _ time.Time) (store.IngestResult, error) {
	return store.IngestResult{Queued: len(alerts)}, nil
}

// amPayload is an Alertmanager notification of n firing alerts of one group,
// shaped as Alertmanager sends them (common labels and annotations filled).
func amPayload(n int) string {
	var sb strings.Builder
	sb.WriteString(`{"version":"4","groupKey":"{}:{alertname=\"HighLatency\", service=\"checkout-007\"}","truncatedAlerts":0,"status":"firing","receiver":"vigil",` +
		`"groupLabels":{"alertname":"HighLatency","service":"checkout-007"},` +
		`"commonLabels":{"alertname":"HighLatency","service":"checkout-007","severity":"critical","team":"payments"},` +
		`"commonAnnotations":{"runbook_url":"https://runbooks.example.com/high-latency"},"externalURL":"http://alertmanager:9093","alerts":[`)
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"status":"firing","labels":{"alertname":"HighLatency","service":"checkout-007","severity":"critical","team":"payments","instance":"10.0.7.%d:8080","pod":"checkout-007-%05d"},`+
			`"annotations":{"summary":"p99 latency above 2s on 10.0.7.%d","runbook_url":"https://runbooks.example.com/high-latency"},`+
			`"startsAt":"2026-11-24T03:%02d:00.123Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus:9090/graph?g0.expr=latency","fingerprint":"%016x"}`, i, i, i, i%60, 0xabc000+i)
	}
	sb.WriteString(`]}`)
	return sb.String()
}

// BenchmarkAlertmanagerReceive measures what the Alertmanager receiver
// itself costs a request of 8 alerts (the storm's average): reading and
// decoding the body, validating, grouping and answering, with a store that
// costs nothing.
func BenchmarkAlertmanagerReceive(b *testing.B) {
	body := amPayload(8)
	h := &Alertmanager{Store: queuedStore{}, GroupBy: []string{"alertname", "service"}, Logger: discard}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/alerts/alertmanager", strings.NewReader(body))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
	b.ReportMetric(float64(b.N*8)/b.Elapsed().Seconds(), "alerts/s")
}

// BenchmarkSpoolEncode measures encoding a request's alerts for the spool,
// which each request does in its own goroutine.
func BenchmarkSpoolEncode(b *testing.B) {
	h := &Alertmanager{GroupBy: []string{"alertname", "service"}}
	var p webhook
	if err := json.Unmarshal([]byte(amPayload(8)), &p); err != nil {
		b.Fatal(err)
	}
	alerts, err := h.normalise(&p)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := (appender{}).encode(alerts); err != nil {
			b.Fatal(err)
		}
	}
}
