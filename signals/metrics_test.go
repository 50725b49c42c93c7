package signals

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/incident"
)

func newMetrics(t *testing.T, cfg MetricsConfig, sink EventSink) *Metrics {
	t.Helper()
	m, err := NewMetrics("metrics", cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMetricsRejectsBadBatches(t *testing.T) {
	lat := map[string]string{"service": "checkout"}
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	now := at(100)
	tests := []struct {
		name  string
		batch []Sample
		want  []string // substrings of the problems, in order
	}{
		{name: "NaN", batch: []Sample{{Metric: "lat", Time: at(1), Value: math.NaN()}}, want: []string{"item 0.value: must be a finite number, got NaN"}},
		{name: "infinity", batch: []Sample{{Metric: "lat", Time: at(1), Value: 1}, {Metric: "lat", Time: at(2), Value: math.Inf(-1)}}, want: []string{"item 1.value: must be a finite number, got -Inf"}},
		{name: "bad metric name", batch: []Sample{{Metric: "1lat", Time: at(1)}}, want: []string{`item 0.metric: "1lat" is not a metric name`}},
		{name: "empty metric name", batch: []Sample{{Metric: "", Time: at(1)}}, want: []string{`item 0.metric: "" is not a metric name`}},
		{name: "bad label name", batch: []Sample{{Metric: "lat", Labels: map[string]string{"my-label": "x"}, Time: at(1)}}, want: []string{`item 0.labels: "my-label" is not a label name`}},
		{name: "reserved label", batch: []Sample{{Metric: "lat", Labels: map[string]string{"__name__": "x"}, Time: at(1)}}, want: []string{`reserved, got "__name__"`}},
		{name: "bad UTF-8", batch: []Sample{{Metric: "lat", Labels: map[string]string{"a": "\xff"}, Time: at(1)}}, want: []string{"item 0.labels: label a: value is not valid UTF-8"}},
		{name: "no time", batch: []Sample{{Metric: "lat", Value: 1}}, want: []string{"item 0.timestamp: is required"}},
		{name: "far future", batch: []Sample{{Metric: "lat", Time: now.Add(time.Hour)}}, want: []string{"item 0.timestamp: 2026-11-24T02:40:00Z is 1h0m0s ahead of this server's clock"}},
		{name: "duplicate in batch", batch: []Sample{{Metric: "lat", Labels: lat, Time: at(1), Value: 1}, {Metric: "lat", Labels: lat, Time: at(1), Value: 1}},
			want: []string{`item 1.timestamp: duplicate timestamp: it is the time of item 0 of the same series lat{service="checkout"}`}},
		{name: "out of order in batch", batch: []Sample{{Metric: "lat", Labels: lat, Time: at(2)}, {Metric: "lat", Time: at(1)}, {Metric: "lat", Labels: lat, Time: at(1)}},
			want: []string{"item 2.timestamp: out of order: it is before item 0 of the same series"}},
		{name: "every problem reported", batch: []Sample{{Metric: "lat", Time: at(1), Value: math.NaN()}, {Metric: "x y", Time: at(1)}},
			want: []string{"item 0.value", "item 1.metric"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &fakeSink{}
			m := newMetrics(t, MetricsConfig{}, sink)
			res, err := m.Observe(tt.batch, now)
			var inv *InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("Observe = %+v, %v; want an *InvalidError", res, err)
			}
			msg := err.Error()
			for _, w := range tt.want {
				i := strings.Index(msg, w)
				if i < 0 {
					t.Fatalf("error %q\nlacks %q", msg, w)
				}
				msg = msg[i+len(w):]
			}
			if m.Series() != 0 {
				t.Errorf("a rejected batch created %d series", m.Series())
			}
		})
	}
}

func TestMetricsAcrossBatches(t *testing.T) {
	now := t0.Add(24 * time.Hour)
	first := noisy("lat", nil, t0, 10, 5, 1)
	tests := []struct {
		name     string
		next     []Sample
		wantErr  string
		wantDups int
		wantAcc  int
	}{
		{name: "resend of the whole batch is a duplicate", next: first, wantDups: 10},
		{name: "resend with new samples appended", next: append(first[5:len(first):len(first)], noisy("lat", nil, t0.Add(10*time.Minute), 3, 5, 2)...), wantDups: 5, wantAcc: 3},
		{name: "conflicting duplicate", next: []Sample{{Metric: "lat", Time: first[9].Time, Value: first[9].Value + 1}},
			wantErr: "item 0.timestamp: 2026-11-24T00:09:00Z is not after the last accepted sample of lat at 2026-11-24T00:09:00Z"},
		{name: "out of order", next: []Sample{{Metric: "lat", Time: first[9].Time.Add(-30 * time.Second), Value: 1}}, wantErr: "not a resend of a recent sample"},
		{name: "other series are independent", next: []Sample{{Metric: "lat", Labels: map[string]string{"a": "b"}, Time: t0, Value: 1}}, wantAcc: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMetrics(t, MetricsConfig{}, &fakeSink{})
			if res, err := m.Observe(first, now); err != nil || res.Accepted != 10 {
				t.Fatalf("first batch: %+v, %v", res, err)
			}
			res, err := m.Observe(tt.next, now)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Duplicates != tt.wantDups || res.Accepted != tt.wantAcc {
				t.Errorf("got %+v, want %d accepted, %d duplicates", res, tt.wantAcc, tt.wantDups)
			}
		})
	}
}

// shifted is a quiet series of 400 points that steps up by 20 standard
// deviations at point 300.
func shifted(labels map[string]string) []Sample {
	s := noisy("http_latency_p99", labels, t0, 400, 10, 7)
	for i := 300; i < len(s); i++ {
		s[i].Value += 20
	}
	return s
}

func TestMetricsAnomalyEvent(t *testing.T) {
	sink := &fakeSink{}
	notified := 0
	m := newMetrics(t, MetricsConfig{WindowPoints: 60, Notify: func() { notified++ }}, sink)
	labels := map[string]string{"service": "checkout", "instance": "checkout-1"}
	samples := shifted(labels)
	now := t0.Add(24 * time.Hour)
	// In batches of 50, as a pusher would send them.
	events := 0
	for i := 0; i < len(samples); i += 50 {
		res, err := m.Observe(samples[i:i+50], now)
		if err != nil {
			t.Fatal(err)
		}
		events += res.Events
		if _, err := m.Flush(context.Background(), now); err != nil {
			t.Fatal(err)
		}
	}
	got := sink.stored()
	if events != 1 || len(got) != 1 {
		t.Fatalf("%d events reported, %d stored; want 1 anomaly for one level shift: %+v", events, len(got), got)
	}
	ev := got[0]
	if ev.Kind != incident.KindMetricAnomaly || ev.Source != "metrics" || ev.Status != incident.AlertFiring {
		t.Errorf("event = %s/%s/%s", ev.Kind, ev.Source, ev.Status)
	}
	if ev.StartsAt.Before(samples[300].Time) || ev.StartsAt.After(samples[310].Time) {
		t.Errorf("anomaly at %s, want within 10 minutes after the shift at %s", ev.StartsAt, samples[300].Time)
	}
	wantLabels := map[string]string{"__name__": "http_latency_p99", "service": "checkout", "instance": "checkout-1"}
	if !reflect.DeepEqual(ev.Labels, wantLabels) {
		t.Errorf("labels = %v, want %v", ev.Labels, wantLabels)
	}
	s := ev.Series
	if s == nil || s.Name != "http_latency_p99" || len(s.Times) != 60 || len(s.Values) != 60 {
		t.Fatalf("series window = %+v, want 60 points of http_latency_p99", s)
	}
	if last := s.Times[len(s.Times)-1]; last != ev.StartsAt.Unix() {
		t.Errorf("window ends at %d, want the anomalous point %d", last, ev.StartsAt.Unix())
	}
	for k := 1; k < len(s.Times); k++ {
		if s.Times[k]-s.Times[k-1] != 60 {
			t.Fatalf("window times not consecutive minutes: %v", s.Times)
		}
	}
	if ev.Value < 0.5 || ev.Annotations["signal"] == "" || ev.Annotations["baseline"] == "" {
		t.Errorf("value %v, annotations %v", ev.Value, ev.Annotations)
	}
	if !strings.HasPrefix(ev.Summary, `http_latency_p99{instance="checkout-1",service="checkout"} is 3`) {
		t.Errorf("summary = %q", ev.Summary)
	}
	if want := fingerprint("metric_anomaly", "metrics", `http_latency_p99{instance="checkout-1",service="checkout"}`); ev.Fingerprint != want {
		t.Errorf("fingerprint %s, want %s (kind, source, series)", ev.Fingerprint, want)
	}
	if notified != 1 {
		t.Errorf("notified %d times, want once (one flush stored events)", notified)
	}

	// The same input gives the same event, so a sink can recognise a resend.
	again := &fakeSink{}
	m2 := newMetrics(t, MetricsConfig{WindowPoints: 60}, again)
	if _, err := m2.Observe(samples, now); err != nil {
		t.Fatal(err)
	}
	if _, err := m2.Flush(context.Background(), now); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again.stored(), got) {
		t.Errorf("one batch of 400 gave %+v, batches of 50 gave %+v", again.stored(), got)
	}
}

func TestMetricsWarmRaisesNothing(t *testing.T) {
	sink := &fakeSink{}
	m := newMetrics(t, MetricsConfig{}, sink)
	now := t0.Add(24 * time.Hour)
	res, err := m.Warm(shifted(nil), now)
	if err != nil || res.Accepted != 400 || res.Events != 0 {
		t.Fatalf("Warm = %+v, %v; want 400 accepted, no events", res, err)
	}
	if _, err := m.Flush(context.Background(), now); err != nil || len(sink.stored()) != 0 {
		t.Errorf("flush after warm stored %d events (err %v)", len(sink.stored()), err)
	}
}

func TestMetricsSinkFailureLosesNothing(t *testing.T) {
	sink := &fakeSink{fail: true}
	m := newMetrics(t, MetricsConfig{MaxPending: 2}, sink)
	now := t0.Add(24 * time.Hour)
	ctx := context.Background()
	var all []Sample
	for k := range 3 {
		s := shifted(map[string]string{"k": fmt.Sprint(k)})
		all = append(all, s...)
		res, err := m.Observe(s, now)
		if k < 2 {
			if err != nil || res.Events != 1 {
				t.Fatalf("series %d: %+v, %v; want one event", k, res, err)
			}
			if _, err := m.Flush(ctx, now); err == nil || !strings.Contains(err.Error(), "disk full") {
				t.Fatalf("flush to a failing sink: %v", err)
			}
			continue
		}
		// Two events wait: the third batch is refused before it changes anything.
		if !errors.Is(err, ErrBacklog) {
			t.Fatalf("third series with a full backlog: %+v, %v; want ErrBacklog", res, err)
		}
	}
	if m.Series() != 2 {
		t.Errorf("%d series, want 2: a refused batch must not create state", m.Series())
	}
	sink.setFail(false)
	if _, err := m.Flush(ctx, now); err != nil {
		t.Fatal(err)
	}
	// The client retries its first batch after the 503: a duplicate now.
	if res, err := m.Observe(all[:400], now); err != nil || res.Duplicates != 400 || res.Events != 0 {
		t.Fatalf("retry: %+v, %v; want 400 duplicates", res, err)
	}
	if res, err := m.Observe(all[800:], now); err != nil || res.Events != 1 {
		t.Fatalf("refused batch again: %+v, %v", res, err)
	}
	if _, err := m.Flush(ctx, now); err != nil {
		t.Fatal(err)
	}
	got := sink.stored()
	if len(got) != 3 {
		t.Fatalf("stored %d events, want 3", len(got))
	}
	for k, ev := range got {
		if ev.Labels["k"] != fmt.Sprint(k) {
			t.Errorf("event %d is of series k=%s: events must be stored once each, in order", k, ev.Labels["k"])
		}
	}
}

func TestMetricsBoundedSeries(t *testing.T) {
	m := newMetrics(t, MetricsConfig{MaxSeries: 50}, &fakeSink{})
	now := t0.Add(48 * time.Hour)
	// Ten steady series, then a flood of one-shot series between their
	// samples: the steady ones keep their state.
	steady := func(i int) []Sample {
		var out []Sample
		for k := range 10 {
			out = append(out, Sample{Metric: "cpu", Labels: map[string]string{"host": fmt.Sprint("h", k)}, Time: t0.Add(time.Duration(i) * time.Minute), Value: float64(i % 7)})
		}
		return out
	}
	for i := range 20 {
		if _, err := m.Observe(steady(i), now); err != nil {
			t.Fatal(err)
		}
	}
	evicted := 0
	for i := 20; i < 120; i++ {
		var flood []Sample
		for k := range 100 {
			flood = append(flood, Sample{Metric: "req", Labels: map[string]string{"request_id": fmt.Sprint(i, "-", k)}, Time: t0, Value: 1})
		}
		res, err := m.Observe(append(steady(i), flood...), now)
		if err != nil {
			t.Fatal(err)
		}
		evicted += res.Evicted
		if n := m.Series(); n > 50 {
			t.Fatalf("%d series, cap 50", n)
		}
	}
	if evicted < 100*100-40 {
		t.Errorf("evicted %d, want nearly every one-shot series", evicted)
	}
	for k := range 10 {
		key := seriesKey("cpu", map[string]string{"host": fmt.Sprint("h", k)})
		s, ok := m.series.peek(key)
		if !ok {
			t.Fatalf("steady series %s was evicted by the flood", key)
		}
		if s.win.n != 120 {
			t.Errorf("steady series %s has %d points, want 120 (state kept)", key, s.win.n)
		}
	}
}

// TestMetricsMemoryBounded feeds 20,000 distinct series, each of which would
// hold about 16 KB, to a pipeline capped at 500: the heap grows by about the
// cap's worth, not the input's 320 MB.
func TestMetricsMemoryBounded(t *testing.T) {
	m := newMetrics(t, MetricsConfig{MaxSeries: 500}, &fakeSink{})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for b := range 20 {
		batch := make([]Sample, 1000)
		for k := range batch {
			batch[k] = Sample{Metric: "http_requests_total", Labels: map[string]string{"request_id": fmt.Sprintf("%d-%d", b, k)}, Time: t0, Value: 1}
		}
		if _, err := m.Observe(batch, t0); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	if m.Series() != 500 || grew > 20<<20 {
		t.Errorf("%d series, heap grew %d MB; want 500 series in about 8 MB", m.Series(), grew>>20)
	}
	runtime.KeepAlive(m)
}
