package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/analyzers/logmine"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/signals"
	"github.com/vigilops/vigil/store"
)

// eventSink is a fake signals.EventSink: it records what it stores and fails
// while fail is set.
type eventSink struct {
	mu     sync.Mutex
	fail   bool
	events []incident.Event
}

func (s *eventSink) IngestEvents(_ context.Context, _ string, events []incident.Event, _ time.Time) (store.IngestResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return store.IngestResult{}, errors.New("database is locked")
	}
	s.events = append(s.events, events...)
	return store.IngestResult{Accepted: len(events), Incidents: []string{"incident-7-checkout"}}, nil
}

func (s *eventSink) setFail(v bool) {
	s.mu.Lock()
	s.fail = v
	s.mu.Unlock()
}

func (s *eventSink) stored() []incident.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]incident.Event(nil), s.events...)
}

var discard = slog.New(slog.DiscardHandler)

// limited serves h with a 4 KiB body limit, as vigil dev serves every route
// with http.max_body_bytes.
func limited(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 4096)
		h.ServeHTTP(w, r)
	})
}

func newMetricsServer(t *testing.T) (*httptest.Server, *signals.Metrics, *eventSink) {
	t.Helper()
	sink := &eventSink{}
	m, err := signals.NewMetrics("metrics", signals.MetricsConfig{}, sink)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(limited(&Metrics{Pipeline: m, Logger: discard}))
	t.Cleanup(srv.Close)
	return srv, m, sink
}

func postBody(t *testing.T, url, contentType, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !json.Valid(b) {
		t.Fatalf("response is not JSON: %q", b)
	}
	return resp.StatusCode, string(b)
}

// recent is a time in the past minutes, as unix seconds.
func recent(minAgo int) int64 { return time.Now().Add(-time.Duration(minAgo) * time.Minute).Unix() }

func TestMetricsReceiver(t *testing.T) {
	sample := func(ts any, v any) string {
		b, _ := json.Marshal(map[string]any{"metric": "http_latency_p99", "labels": map[string]string{"service": "checkout"}, "timestamp": ts, "value": v})
		return string(b)
	}
	batch := func(samples ...string) string { return `{"samples":[` + strings.Join(samples, ",") + `]}` }
	rfc := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantInBody []string
	}{
		{name: "numbers, strings and both time forms", body: batch(sample(recent(3), 0.21), sample(float64(recent(2))+0.5, "0.25"), sample(rfc, 1e3)), wantStatus: 200,
			wantInBody: []string{`"accepted":3`, `"duplicates":0`, `"events":0`, `"incidents":[]`}},
		{name: "empty body", body: "", wantStatus: 400, wantInBody: []string{"request body is empty"}},
		{name: "malformed JSON", body: `{"samples": [}`, wantStatus: 400, wantInBody: []string{"malformed JSON at byte 14"}},
		{name: "wrong type", body: `{"samples": [{"metric": 7}]}`, wantStatus: 400, wantInBody: []string{"field samples[0].metric: expected a string, got JSON number"}},
		{name: "no samples", body: `{"samples": []}`, wantStatus: 422, wantInBody: []string{"samples: is required and must hold at least one sample"}},
		{name: "NaN", body: batch(sample(recent(1), "NaN")), wantStatus: 422, wantInBody: []string{"samples[0].value: must be a finite number, got NaN", "nothing was accepted"}},
		{name: "infinity", body: batch(sample(recent(1), "+Inf")), wantStatus: 422, wantInBody: []string{"samples[0].value: must be a finite number, got +Inf"}},
		{name: "overflowing number", body: `{"samples":[{"metric":"m","timestamp":` + fmt.Sprint(recent(1)) + `,"value":1e999}]}`, wantStatus: 422, wantInBody: []string{"samples[0].value: 1e999 is out of the range of a 64-bit float"}},
		{name: "not a number", body: batch(sample(recent(1), "fast")), wantStatus: 422, wantInBody: []string{`samples[0].value: \"fast\" is not a number`}},
		{name: "missing value", body: `{"samples":[{"metric":"m","timestamp":` + fmt.Sprint(recent(1)) + `}]}`, wantStatus: 422, wantInBody: []string{"samples[0].value: is required"}},
		{name: "missing timestamp", body: `{"samples":[{"metric":"m","value":1}]}`, wantStatus: 422, wantInBody: []string{"samples[0].timestamp: is required"}},
		{name: "bad time string", body: batch(sample("yesterday", 1)), wantStatus: 422, wantInBody: []string{`samples[0].timestamp: \"yesterday\" is not an RFC 3339 time`}},
		{name: "future", body: batch(sample(time.Now().Add(time.Hour).Unix(), 1)), wantStatus: 422, wantInBody: []string{"samples[0].timestamp:", "ahead of this server's clock"}},
		{name: "duplicate timestamps", body: batch(sample(recent(1), 1), sample(recent(1), 1)), wantStatus: 422, wantInBody: []string{"samples[1].timestamp: duplicate timestamp: it is the time of item 0"}},
		{name: "out of order", body: batch(sample(recent(1), 1), sample(recent(2), 1)), wantStatus: 422, wantInBody: []string{"samples[1].timestamp: out of order"}},
		{name: "bad names", body: `{"samples":[{"metric":"http latency","labels":{"pod-name":"x"},"timestamp":` + fmt.Sprint(recent(1)) + `,"value":1}]}`, wantStatus: 422,
			wantInBody: []string{`samples[0].metric: \"http latency\" is not a metric name`, `samples[0].labels: \"pod-name\" is not a label name`}},
		{name: "too large", body: batch(strings.Repeat(sample(recent(1), 1)+",", 60) + sample(recent(1), 1)), wantStatus: 413, wantInBody: []string{"request body exceeds http.max_body_bytes", "send fewer samples"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, m, sink := newMetricsServer(t)
			status, body := postBody(t, srv.URL, "application/json", tt.body)
			if status != tt.wantStatus {
				t.Errorf("status %d, want %d: %s", status, tt.wantStatus, body)
			}
			for _, w := range tt.wantInBody {
				if !strings.Contains(body, w) {
					t.Errorf("body %s\nlacks %q", body, w)
				}
			}
			if status != 200 && (m.Series() != 0 || len(sink.stored()) != 0) {
				t.Errorf("a rejected request left %d series and %d events", m.Series(), len(sink.stored()))
			}
		})
	}
}

// shiftBody is a metrics batch of one quiet series that steps up by 20
// standard deviations at its 300th point, ending now.
func shiftBody() string {
	var b strings.Builder
	b.WriteString(`{"samples":[`)
	start := time.Now().Add(-400 * time.Minute).Truncate(time.Minute)
	for i := range 400 {
		v := 10 + float64((i*7919)%13)/13
		if i >= 300 {
			v += 20
		}
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"metric":"queue_depth","labels":{"service":"checkout"},"timestamp":%d,"value":%g}`, start.Add(time.Duration(i)*time.Minute).Unix(), v)
	}
	b.WriteString(`]}`)
	return b.String()
}

func TestMetricsReceiverDurableBeforeAck(t *testing.T) {
	sink := &eventSink{fail: true}
	m, err := signals.NewMetrics("metrics", signals.MetricsConfig{}, sink)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(&Metrics{Pipeline: m, Logger: discard})
	defer srv.Close()
	body := shiftBody()

	status, resp := postBody(t, srv.URL, "application/json", body)
	if status != 503 || !strings.Contains(resp, "could not be stored yet; retry the same request later") {
		t.Fatalf("store down: %d %s; want 503", status, resp)
	}
	if len(sink.stored()) != 0 {
		t.Fatal("events stored while the sink fails")
	}
	sink.setFail(false)
	// The client retries: the samples are a duplicate, and the waiting event
	// is stored before the answer.
	status, resp = postBody(t, srv.URL, "application/json", body)
	if status != 200 || !strings.Contains(resp, `"duplicates":400`) || !strings.Contains(resp, `"incidents":["incident-7-checkout"]`) {
		t.Fatalf("retry: %d %s", status, resp)
	}
	got := sink.stored()
	if len(got) != 1 || got[0].Kind != incident.KindMetricAnomaly || got[0].Labels["service"] != "checkout" || got[0].Series == nil {
		t.Fatalf("stored %+v, want the one anomaly with its window", got)
	}
}

func newLogsServer(t *testing.T) (*httptest.Server, *eventSink) {
	t.Helper()
	sink := &eventSink{}
	l := signals.NewLogs("logs", signals.LogsConfig{Detector: logmine.DetectorConfig{Interval: time.Minute, WarmUp: time.Nanosecond}}, sink)
	srv := httptest.NewServer(limited(&Logs{Pipeline: l, Logger: discard}))
	t.Cleanup(srv.Close)
	return srv, sink
}

func TestLogsReceiver(t *testing.T) {
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	tests := []struct {
		name        string
		query       string
		contentType string
		body        string
		wantStatus  int
		wantInBody  []string
	}{
		{name: "plain text", query: "?source=checkout&env=prod", contentType: "text/plain", body: "INFO started\r\nERROR db down\n\nlast line without newline", wantStatus: 200, wantInBody: []string{`"accepted":4`}},
		{name: "plain text with a format", query: "?source=hdfs&format=" + url.QueryEscape("<Date> <Time> <Level> <Component>: <Content>"), body: "081109 203615 INFO dfs.DataNode: Receiving block\n", wantStatus: 200, wantInBody: []string{`"accepted":1`}},
		{name: "JSON lines", query: "?env=prod", contentType: "application/x-ndjson",
			body: `{"message":"db down","level":"error","source":"checkout","timestamp":"` + time.Now().Add(-time.Minute).UTC().Format(time.RFC3339) + `"}` + "\n\n" +
				`{"message":"ok","source":"api","labels":{"pod":"api-1"},"timestamp":` + fmt.Sprint(recent(1)) + `}` + "\n",
			wantStatus: 200, wantInBody: []string{`"accepted":2`}},
		{name: "no source", query: "?env=prod", body: "hello", wantStatus: 400, wantInBody: []string{"query source is required"}},
		{name: "bad label", query: "?source=a&pod-name=x", body: "hello", wantStatus: 400, wantInBody: []string{`query labels: \"pod-name\" is not a label name`}},
		{name: "repeated label", query: "?source=a&source=b", body: "hello", wantStatus: 400, wantInBody: []string{"query label source is given 2 times"}},
		{name: "bad format", query: "?source=a&format=" + url.QueryEscape("<A> <A>"), body: "hello", wantStatus: 400, wantInBody: []string{"query format: log format"}},
		{name: "unsupported type", query: "?source=a", contentType: "application/xml", body: "<a/>", wantStatus: 415, wantInBody: []string{"Content-Type application/xml is not supported"}},
		{name: "empty body", query: "?source=a", body: "", wantStatus: 400, wantInBody: []string{"request body has no log lines"}},
		{name: "JSON problems", query: "?source=a", contentType: "application/x-ndjson",
			body:       `{"message":"ok"}` + "\n" + `{"level":"info"}` + "\n" + `{"message":` + "\n" + `{"message":"x","timestamp":"soon"}` + "\n" + `{"message":"x","labels":{"__x":"y"}}`,
			wantStatus: 422, wantInBody: []string{"line 2.message: is required", "line 3: not a JSON object", `line 4.timestamp: \"soon\" is not an RFC 3339 time`, `line 5.labels: label names starting with \"__\" are reserved`}},
		{name: "JSON without a source", contentType: "application/x-ndjson", body: `{"message":"ok"}`, wantStatus: 422, wantInBody: []string{`line 1: no source`}},
		{name: "JSON line from the future", query: "?source=a", contentType: "application/x-ndjson", body: `{"message":"ok"}` + "\n\n" + `{"message":"later","timestamp":"` + future + `"}`,
			wantStatus: 422, wantInBody: []string{"line 3.timestamp:", "ahead of this server's clock"}},
		{name: "too large", query: "?source=a", body: strings.Repeat("a log line\n", 500), wantStatus: 413, wantInBody: []string{"request body exceeds 4096 bytes", "send fewer lines"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, sink := newLogsServer(t)
			status, body := postBody(t, srv.URL+"/api/v1/logs"+tt.query, tt.contentType, tt.body)
			if status != tt.wantStatus {
				t.Errorf("status %d, want %d: %s", status, tt.wantStatus, body)
			}
			for _, w := range tt.wantInBody {
				if !strings.Contains(body, w) {
					t.Errorf("body %s\nlacks %q", body, w)
				}
			}
			if status != 200 && len(sink.stored()) != 0 {
				t.Errorf("a rejected request stored %d events", len(sink.stored()))
			}
		})
	}
}

func TestLogsReceiverRaisesEvents(t *testing.T) {
	srv, sink := newLogsServer(t)
	// The warm-up is over at once, so the second batch's new template is a
	// signal once a later line closes its interval.
	var lines bytes.Buffer
	for i := range 20 {
		fmt.Fprintf(&lines, `{"message":"GET /items/%d 200","timestamp":%d}`+"\n", i, recent(5))
	}
	fmt.Fprintf(&lines, `{"message":"ERROR payment gateway refused token=abc123","level":"error","timestamp":%d}`+"\n", recent(5)+1)
	fmt.Fprintf(&lines, `{"message":"GET /items/99 200","timestamp":%d}`+"\n", recent(1))
	status, body := postBody(t, srv.URL+"?source=checkout", "application/x-ndjson", lines.String())
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	var res SignalsAccepted
	if err := json.Unmarshal([]byte(body), &res); err != nil {
		t.Fatal(err)
	}
	got := sink.stored()
	if res.Events == 0 || len(got) != res.Events {
		t.Fatalf("response says %d events, sink has %d: they must be stored before the answer", res.Events, len(got))
	}
	found := false
	for _, ev := range got {
		if ev.Kind != incident.KindLogAnomaly || ev.Labels["source"] != "checkout" {
			t.Errorf("event %+v", ev)
		}
		for _, ex := range ev.Examples {
			if strings.Contains(ex, "abc123") {
				t.Errorf("example not redacted: %q", ex)
			}
			found = found || strings.Contains(ex, "token=[REDACTED]")
		}
	}
	if !found {
		t.Errorf("no event carries the redacted error line: %+v", got)
	}
}
