package ingest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/signals"
	"github.com/vigilops/vigil/store"
)

// startPrometheus runs Debian's prometheus binary on a free loopback port with
// the given scrape configs (YAML list items, may be empty) and returns its
// URL once it is ready. The test skips when the binary is not installed.
func startPrometheus(t *testing.T, scrapeConfigs string) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not installed: apt-get install prometheus (Debian's package) to run the Prometheus source tests")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	cfg := "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n" + scrapeConfigs
	if scrapeConfigs == "" {
		cfg += "  []\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var out syncBuf
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	url := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return url
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus at %s not ready after 30s: %v\n%s", url, err, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestPrometheusSourceDetects polls PromQL expressions of time(), which a real
// Prometheus evaluates over any range without stored data: a queue whose depth
// steps up at a known minute, and a disk that fills at a known rate.
func TestPrometheusSourceDetects(t *testing.T) {
	url := startPrometheus(t, "")
	api, err := NewPrometheusAPI(url)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().Add(-24 * time.Hour).Truncate(time.Hour)
	shift := t0.Add(500 * time.Minute)
	sink := &eventSink{}
	m, err := signals.NewMetrics("prometheus", signals.MetricsConfig{Forecasts: []signals.ForecastRule{{
		Match:     map[string]string{"__name__": "disk_free_bytes"},
		Threshold: 5e7, Horizon: 6 * time.Hour, Summary: "disk {{.mountpoint}} on {{.instance}} fills",
		Labels: map[string]string{"alertname": "DiskWillFill"},
	}}}, sink)
	if err != nil {
		t.Fatal(err)
	}
	now := t0.Add(400 * time.Minute)
	p := &Prometheus{
		API: api, Pipeline: m, Interval: time.Minute, Step: time.Minute, Lookback: 400 * time.Minute, Timeout: 10 * time.Second,
		Now: func() time.Time { return now }, Logger: discard,
		Queries: []PromQuery{
			{Name: "queue_depth", Labels: map[string]string{"team": "payments"},
				Query: fmt.Sprintf(`label_replace(vector(10 + ((time() * 7919) %% 13) / 13 + 20 * (time() >= bool %d)), "service", "checkout", "", "")`, shift.Unix())},
			{Name: "disk_free_bytes",
				Query: fmt.Sprintf(`label_replace(label_replace(vector(1e9 - (time() - %d) * 1e6 / 60), "instance", "db-1", "", ""), "mountpoint", "/var", "", "")`, t0.Unix())},
			{Name: "broken", Query: "rate(x[5m]"},
		},
	}
	ctx := context.Background()
	err = p.Poll(ctx)
	if err == nil || !strings.Contains(err.Error(), "query broken: query_range") || !strings.Contains(err.Error(), "parse error") {
		t.Errorf("a bad query: %v, want its parse error named", err)
	}
	if n := m.Series(); n != 2 {
		t.Fatalf("first poll warmed %d series, want 2 (the bad query must not stop the others)", n)
	}
	if got := sink.stored(); len(got) != 0 {
		t.Fatalf("the look-back raised %d events, want none", len(got))
	}
	for now.Before(t0.Add(700 * time.Minute)) {
		now = now.Add(25 * time.Minute)
		_ = p.Poll(ctx) // the broken query fails every time
	}
	var anomalies, predicted []incident.Event
	for _, ev := range sink.stored() {
		switch ev.Kind {
		case incident.KindMetricAnomaly:
			anomalies = append(anomalies, ev)
		case incident.KindPredicted:
			predicted = append(predicted, ev)
		}
	}
	if len(anomalies) != 1 {
		t.Fatalf("%d anomalies, want 1 for the step: %+v", len(anomalies), anomalies)
	}
	a := anomalies[0]
	if a.StartsAt.Before(shift) || a.StartsAt.After(shift.Add(10*time.Minute)) {
		t.Errorf("anomaly at %s, want within 10 minutes after the step at %s", a.StartsAt, shift)
	}
	if a.Source != "prometheus" || a.Labels["__name__"] != "queue_depth" || a.Labels["service"] != "checkout" || a.Labels["team"] != "payments" {
		t.Errorf("anomaly %s labels %v", a.Source, a.Labels)
	}
	if a.Series == nil || len(a.Series.Times) != 120 {
		t.Errorf("anomaly window %+v, want 120 points", a.Series)
	}
	if len(predicted) != 1 {
		t.Fatalf("%d predicted events, want 1: %+v", len(predicted), predicted)
	}
	pr := predicted[0]
	if ok, _ := regexp.MatchString(`^disk /var on db-1 fills in ~[56]h(\d+m)?( ± \d+[smh])?$`, pr.Summary); !ok || pr.Labels["alertname"] != "DiskWillFill" {
		t.Errorf("predicted %q, labels %v", pr.Summary, pr.Labels)
	}
	// The disk reaches 50 MB at minute 950; the prediction starts when the
	// crossing is within 6h, i.e. by minute 590 plus one poll.
	if at := pr.StartsAt.Sub(t0); at < 560*time.Minute || at > 620*time.Minute {
		t.Errorf("prediction started at minute %v", at.Minutes())
	}
}

// recordingPipeline records what a source feeds it.
type recordingPipeline struct {
	mu      sync.Mutex
	warmed  [][]signals.Sample
	applied [][]signals.Sample
}

func (r *recordingPipeline) Observe(s []signals.Sample, _ time.Time) (signals.Observed, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.applied = append(r.applied, s)
	return signals.Observed{Accepted: len(s)}, nil
}

func (r *recordingPipeline) Warm(s []signals.Sample, _ time.Time) (signals.Observed, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.warmed = append(r.warmed, s)
	return signals.Observed{Accepted: len(s)}, nil
}

func (r *recordingPipeline) Flush(context.Context, time.Time) (store.IngestResult, error) {
	return store.IngestResult{}, nil
}

// TestPrometheusSourceScrapes has a real Prometheus scrape an exporter and
// checks that polls pass on exactly what it scraped, each step once. It takes
// about 12 s: Prometheus hands targets to its scrapers only after 5 s.
func TestPrometheusSourceScrapes(t *testing.T) {
	var mu sync.Mutex
	scrapes := 0
	exporter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		scrapes++
		v := 1e9 - float64(scrapes)*1e6
		mu.Unlock()
		fmt.Fprintf(w, "# TYPE vigil_test_disk_free_bytes gauge\nvigil_test_disk_free_bytes{mountpoint=\"/var\",team=\"db\"} %g\n", v)
	}))
	defer exporter.Close()
	url := startPrometheus(t, fmt.Sprintf("  - job_name: exporter\n    scrape_interval: 500ms\n    static_configs:\n      - targets: ['%s']\n        labels: {instance: db-1}\n", strings.TrimPrefix(exporter.URL, "http://")))
	api, err := NewPrometheusAPI(url)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingPipeline{}
	p := &Prometheus{
		API: api, Pipeline: rec, Interval: time.Second, Step: time.Second, Lookback: time.Minute, Timeout: 10 * time.Second, Now: time.Now, Logger: discard,
		Queries: []PromQuery{{Name: "disk_free", Query: "vigil_test_disk_free_bytes", Labels: map[string]string{"team": "storage"}}},
	}
	waitScrapes := func(n int) {
		deadline := time.Now().Add(30 * time.Second)
		for {
			mu.Lock()
			got := scrapes
			mu.Unlock()
			if got >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("only %d scrapes in 30s", got)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitScrapes(6)
	time.Sleep(1100 * time.Millisecond) // let the last scrape be committed
	ctx := context.Background()
	if err := p.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	waitScrapes(12)
	time.Sleep(1100 * time.Millisecond)
	if err := p.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if len(rec.warmed) != 1 || len(rec.applied) != 1 {
		t.Fatalf("warmed %d, applied %d batches; want the first poll warming and the second applying", len(rec.warmed), len(rec.applied))
	}
	all := append(append([]signals.Sample(nil), rec.warmed[0]...), rec.applied[0]...)
	if len(rec.warmed[0]) < 2 || len(rec.applied[0]) < 2 {
		t.Fatalf("%d then %d samples; want several per poll", len(rec.warmed[0]), len(rec.applied[0]))
	}
	want := map[string]string{"instance": "db-1", "job": "exporter", "mountpoint": "/var", "team": "storage"}
	for i, s := range all {
		if s.Metric != "disk_free" || fmt.Sprint(s.Labels) != fmt.Sprint(want) {
			t.Fatalf("sample %d: %s %v, want disk_free %v", i, s.Metric, s.Labels, want)
		}
		if i > 0 && !s.Time.After(all[i-1].Time) {
			t.Fatalf("sample %d at %s is not after %s: a step was asked twice", i, s.Time, all[i-1].Time)
		}
		if i > 0 && s.Value > all[i-1].Value {
			t.Errorf("sample %d: %g after %g; the exporter only counts down", i, s.Value, all[i-1].Value)
		}
		if int64(s.Value)%1_000_000 != 0 {
			t.Errorf("sample %d: %g is not a value the exporter served", i, s.Value)
		}
	}
	if gap := rec.applied[0][0].Time.Sub(rec.warmed[0][len(rec.warmed[0])-1].Time); gap != time.Second {
		t.Errorf("the second poll starts %s after the first ended, want one step", gap)
	}
}
