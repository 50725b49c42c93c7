package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/config"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/signals"
	"github.com/vigilops/vigil/store"
)

type recordingSink struct {
	mu      sync.Mutex
	sources []string
}

func (s *recordingSink) IngestEvents(_ context.Context, source string, events []incident.Event, _ time.Time) (store.IngestResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sources = append(s.sources, source)
	return store.IngestResult{Accepted: len(events)}, nil
}

// TestWireSignals wires the signal sources from configuration and checks
// each is live: the receivers behind the ingest tokens, a file tail that
// saves its offset, and a Prometheus source asking for its query.
func TestWireSignals(t *testing.T) {
	var mu sync.Mutex
	var asked []string
	prom := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		mu.Lock()
		asked = append(asked, r.URL.Path+" query="+r.Form.Get("query")+" step="+r.Form.Get("step"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"matrix","result":[]}}`)
	}))
	defer prom.Close()

	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	logPath := filepath.Join(dir, "app.log")
	cfg := config.Default()
	below := 0.05
	cfg.Metrics.Prometheus.URL = prom.URL
	cfg.Metrics.Prometheus.Queries = []config.PromQuery{{Name: "disk_free_ratio", Query: "node_filesystem_avail_bytes / node_filesystem_size_bytes",
		Forecast: &config.Forecast{Below: &below, Horizon: 6 * time.Hour}}}
	cfg.Logs.Files = []config.LogFile{{Path: logPath, Labels: map[string]string{"service": "checkout"}}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	var r runs
	if err := wireSignals(&r, AllRoles(), cfg, &recordingSink{}, st, mux, []string{"s3cret"}, func() {}, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if len(r.loops) != 2 || len(r.singletons) != 2 || r.singletons[0].name != "prometheus" || r.singletons[1].name != "log-tail" {
		t.Fatalf("%d loops and singletons %+v, want the two push pipelines and the prometheus and log-tail singletons", len(r.loops), r.singletons)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	for _, f := range r.loops {
		wg.Go(func() { f(ctx) })
	}
	for _, s := range r.singletons {
		wg.Go(func() { s.run(ctx) })
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()

	post := func(path, token, body string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	metrics := fmt.Sprintf(`{"samples":[{"metric":"m","timestamp":%d,"value":1}]}`, time.Now().Unix())
	for _, tc := range []struct {
		path, token, body string
		want              int
	}{
		{"/api/v1/metrics", "", metrics, 401},
		{"/api/v1/metrics", "s3cret", metrics, 200},
		{"/api/v1/logs?source=api", "wrong", "hello", 401},
		{"/api/v1/logs?source=api", "s3cret", "hello", 200},
	} {
		if got := post(tc.path, tc.token, tc.body); got != tc.want {
			t.Errorf("POST %s with token %q: %d, want %d", tc.path, tc.token, got, tc.want)
		}
	}

	if err := os.WriteFile(logPath, []byte("started\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		o, err := st.TailOffset(context.Background(), logPath)
		if err == nil && o.Offset == int64(len("started\n")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the tail did not read %s: %+v %v", logPath, o, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	got := strings.Join(asked, "\n")
	mu.Unlock()
	if !strings.Contains(got, "/api/v1/query_range query=node_filesystem_avail_bytes / node_filesystem_size_bytes step=60") {
		t.Errorf("Prometheus was asked:\n%s", got)
	}
}

func TestForecastRule(t *testing.T) {
	above, below := 0.9, 5e7
	match := map[string]string{"__name__": "m"}
	tests := []struct {
		in   config.Forecast
		want signals.ForecastRule
	}{
		{config.Forecast{Above: &above, Horizon: time.Hour, Summary: "s", Labels: map[string]string{"a": "b"}},
			signals.ForecastRule{Match: match, Threshold: 0.9, Rising: true, Horizon: time.Hour, Summary: "s", Labels: map[string]string{"a": "b"}}},
		{config.Forecast{Below: &below, Horizon: 6 * time.Hour}, signals.ForecastRule{Match: match, Threshold: 5e7, Horizon: 6 * time.Hour}},
	}
	for _, tt := range tests {
		if got := forecastRule(match, tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("forecastRule(%+v) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestSignalSinkPolicy(t *testing.T) {
	cfg := config.Default()
	cfg.Anomaly.OpenIncidents = true
	s := signalSink(cfg, nil)
	want := map[incident.EventKind]bool{incident.KindPredicted: true, incident.KindMetricAnomaly: true, incident.KindLogAnomaly: false}
	if !reflect.DeepEqual(s.Open, want) || !reflect.DeepEqual(s.GroupBy, cfg.Ingest.GroupBy) {
		t.Errorf("sink = %+v, want Open %v and the alerts' group_by", s, want)
	}
}

// Receivers are ingest's, the Prometheus source and the tails the worker's.
func TestWireSignalsByRole(t *testing.T) {
	cfg := config.Default()
	cfg.Metrics.Prometheus.URL = "http://prometheus.invalid:9090"
	cfg.Metrics.Prometheus.Queries = []config.PromQuery{{Name: "up", Query: "up"}}
	cfg.Logs.Files = []config.LogFile{{Path: filepath.Join(t.TempDir(), "app.log")}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		roles      Roles
		loops      int
		singletons int
		receivers  bool
	}{
		{Roles{RoleIngest}, 2, 0, true},
		{Roles{RoleWorker}, 0, 2, false},
		{Roles{RoleAPI, RoleConsole}, 0, 0, false},
	} {
		mux := http.NewServeMux()
		var r runs
		if err := wireSignals(&r, tc.roles, cfg, &recordingSink{}, nil, mux, nil, func() {}, slog.New(slog.DiscardHandler)); err != nil {
			t.Fatal(err)
		}
		_, pattern := mux.Handler(httptest.NewRequest(http.MethodPost, "/api/v1/metrics", nil))
		if len(r.loops) != tc.loops || len(r.singletons) != tc.singletons || (pattern != "") != tc.receivers {
			t.Errorf("roles %s: %d loops, %d singletons, receiver %q; want %d, %d, receivers %v", tc.roles, len(r.loops), len(r.singletons), pattern, tc.loops, tc.singletons, tc.receivers)
		}
	}
}
