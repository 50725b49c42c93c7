package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/analyzers/correlate"
	"github.com/vigilops/vigil/ingest"
	"github.com/vigilops/vigil/store"
)

func TestPairwise(t *testing.T) {
	truth := map[string]string{"a": "x", "b": "x", "c": "x", "d": "y"}
	tests := []struct {
		name      string
		truth     map[string]string
		predicted map[string]string
		p, r, f1  float64
	}{
		{"perfect, whatever the labels", truth, map[string]string{"a": "1", "b": "1", "c": "1", "d": "2"}, 1, 1, 1},
		// Pairs that belong together: ab ac bc; put together: ab cd; right: ab.
		{"one alert in the wrong incident", truth, map[string]string{"a": "1", "b": "1", "c": "2", "d": "2"}, 0.5, 1.0 / 3, 0.4},
		{"everything in one incident", truth, map[string]string{"a": "1", "b": "1", "c": "1", "d": "1"}, 0.5, 1, 2.0 / 3},
		{"every alert alone", truth, map[string]string{"a": "1", "b": "2", "c": "3", "d": "4"}, 1, 0, 0},
		{"an alert in no incident counts as alone", truth, map[string]string{"a": "1", "b": "1", "d": "2"}, 1, 1.0 / 3, 0.5},
		{"only singletons, kept apart", map[string]string{"a": "x", "b": "y"}, map[string]string{"a": "1", "b": "2"}, 1, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, r, f1 := Pairwise(tt.truth, tt.predicted)
			if math.Abs(p-tt.p) > 1e-9 || math.Abs(r-tt.r) > 1e-9 || math.Abs(f1-tt.f1) > 1e-9 {
				t.Errorf("Pairwise = %.4f %.4f %.4f, want %.4f %.4f %.4f", p, r, f1, tt.p, tt.r, tt.f1)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for q, want := range map[float64]time.Duration{0.5: 50 * time.Millisecond, 0.99: 99 * time.Millisecond, 1: 100 * time.Millisecond, 0.001: time.Millisecond} {
		if got := Percentile(ds, q); got != want {
			t.Errorf("Percentile(%v) = %s, want %s", q, got, want)
		}
	}
	if Percentile(nil, 0.5) != 0 {
		t.Error("Percentile of nothing")
	}
}

func testSpec() Spec {
	return Spec{Incidents: 5, AlertsPerIncident: 12, Noise: 7, Flapping: 3, Flaps: 3, Span: time.Minute,
		Cascade: 3 * time.Minute, Hold: 10 * time.Minute, Start: time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC), Seed: 7}
}

func TestGenerate(t *testing.T) {
	spec := testSpec()
	s, err := Generate(spec)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Generate(spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Payloads) != len(again.Payloads) || !slices.EqualFunc(s.Payloads, again.Payloads, func(a, b Payload) bool { return bytes.Equal(a.Body, b.Body) }) {
		t.Fatal("the same spec gave another storm")
	}
	if want := 5*12 + 7 + 3; len(s.Truth)+s.Invisible != want || len(s.Truth) < want-3 {
		t.Fatalf("%d distinct alerts sent firing and %d never, want %d in all and only a few never", len(s.Truth), s.Invisible, want)
	}
	if len(s.Firings) < len(s.Truth) {
		t.Errorf("%d firings of %d alerts", len(s.Firings), len(s.Truth))
	}
	// Every alert of the truth fires and resolves in some payload; payloads
	// are in time order; each cascade spans several services.
	fired, resolved := map[string]bool{}, map[string]bool{}
	services := map[string]map[string]bool{}
	for i, p := range s.Payloads {
		if i > 0 && p.At < s.Payloads[i-1].At {
			t.Fatalf("payload %d at %s before payload %d at %s", i, p.At, i-1, s.Payloads[i-1].At)
		}
		var w webhook
		if err := json.Unmarshal(p.Body, &w); err != nil {
			t.Fatal(err)
		}
		if len(w.Alerts) != p.Alerts || w.Version != "4" {
			t.Fatalf("payload %d: %+v", i, w)
		}
		for _, a := range w.Alerts {
			truth, ok := s.Truth[a.Fingerprint]
			if !ok {
				continue // never sent firing
			}
			if a.Status == "firing" {
				fired[a.Fingerprint] = true
			} else {
				resolved[a.Fingerprint] = true
			}
			if services[truth] == nil {
				services[truth] = map[string]bool{}
			}
			services[truth][a.Labels["service"]] = true
		}
	}
	if len(fired) != len(s.Truth) || len(resolved) != len(s.Truth) {
		t.Errorf("%d alerts fired and %d resolved, want all %d", len(fired), len(resolved), len(s.Truth))
	}
	for truth, svcs := range services {
		if strings.HasPrefix(truth, "incident-") && len(svcs) < 3 {
			t.Errorf("%s reaches only %v", truth, svcs)
		}
	}
}

func TestCorrelateOffline(t *testing.T) {
	s, err := Generate(testSpec())
	if err != nil {
		t.Fatal(err)
	}
	assigned, incidents, err := correlateOffline(s, correlate.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if len(assigned) != len(s.Truth) {
		t.Fatalf("%d alerts assigned, want %d", len(assigned), len(s.Truth))
	}
	// Cascades follow the dependency graph, so correlate keeps each in one
	// incident: recall is 1. Its only mistake is joining noise that fires on
	// a burning stack while it burns, which this small storm (half of ten
	// stacks burning) makes common.
	precision, recall, _ := Pairwise(s.Truth, assigned)
	if recall != 1 || precision < 0.8 || incidents > s.Clusters {
		t.Errorf("offline correlate: precision %.3f recall %.3f with %d incidents for %d true ones", precision, recall, incidents, s.Clusters)
	}
}

// TestTinyStorm runs small storms through a real in-process Vigil and checks
// the report against groupings known in advance. Without correlation Vigil
// groups by ingest.group_by, and grouping by a label no alert has puts every
// alert in one incident; with it, a cascade becomes one incident.
func TestTinyStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	tests := []struct {
		name              string
		noise             int
		groupBy           []string
		correlate         bool
		precision, recall float64
	}{
		{"one incident, nothing else: a perfect grouping", 0, []string{"team"}, false, 1, 1},
		// Six alerts that belong together (15 pairs) and two noise alerts,
		// all in one incident: 28 pairs put together, 15 right.
		{"noise put in the incident", 2, []string{"team"}, false, 15.0 / 28, 1},
		// The cascade's alerts have different names and services, so group_by
		// alone would split them; correlation over the stack's dependencies
		// puts them back together.
		{"a cascade across services, correlated into one incident", 0, []string{"alertname", "service"}, true, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := options{
				spec:        Spec{Incidents: 1, AlertsPerIncident: 6, Noise: tt.noise, Flaps: 1, Span: time.Minute, Cascade: time.Minute, Hold: 10 * time.Minute, Seed: 3},
				concurrency: 1, groupBy: tt.groupBy, correlate: tt.correlate, maxBody: 1 << 20, dataDir: t.TempDir(), settle: time.Minute,
				logLevel: 8, // quiet
			}
			var progress bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			rep, err := storm(ctx, o, &progress)
			if err != nil {
				t.Fatalf("%v\n%s", err, progress.String())
			}
			if rep.Ingest.Answered200 != rep.Storm.Payloads || len(rep.Ingest.Failed) != 0 || rep.Ingest.AlertsAccepted != rep.Storm.Alerts || rep.Ingest.AlertsPerSecond <= 0 {
				t.Errorf("ingest = %+v", rep.Ingest)
			}
			g := rep.Grouping
			f1 := 2 * tt.precision * tt.recall / (tt.precision + tt.recall)
			if g.IncidentsOpened != 1 || math.Abs(g.Precision-tt.precision) > 1e-9 || math.Abs(g.Recall-tt.recall) > 1e-9 || math.Abs(g.F1-f1) > 1e-9 || g.Unassigned != 0 {
				t.Errorf("grouping = %+v, want precision %.4f recall %.4f F1 %.4f", g, tt.precision, tt.recall, f1)
			}
			if th := rep.Thread; th.Measured != 1 || th.Missing != 0 || th.P99 == "0s" || !rep.Drained {
				t.Errorf("thread = %+v drained %v", th, rep.Drained)
			}
			var out bytes.Buffer
			rep.print(&out)
			if !strings.Contains(out.String(), "grouping: 1 incidents opened for ") {
				t.Errorf("printed report:\n%s", out.String())
			}
		})
	}
}

// TestStormElsewhere sends a small storm to a Vigil receiver this process
// does not run as part of the storm (--url): ingest is measured, grouping and
// threads are not, and a URL that accepts nothing is an error naming it.
func TestStormElsewhere(t *testing.T) {
	receiver := sqliteReceiver(t)
	ctx := context.Background()

	o := options{spec: Spec{Incidents: 2, AlertsPerIncident: 6, Noise: 3, Flaps: 1, Span: time.Minute, Cascade: time.Minute, Hold: 10 * time.Minute, Seed: 3},
		concurrency: 4, url: receiver.URL}
	var progress bytes.Buffer
	rep, err := storm(ctx, o, &progress)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	if rep.External != receiver.URL || rep.Ingest.Answered200 != rep.Storm.Payloads || rep.Ingest.AlertsAccepted != rep.Storm.Alerts || rep.Ingest.NewEvents == 0 {
		t.Errorf("report: external %q, ingest %+v; want every payload accepted by %s", rep.External, rep.Ingest, receiver.URL)
	}
	if rep.Grouping != nil || rep.Thread != nil || rep.Targets.F1 != nil {
		t.Errorf("grouping %+v, thread %+v measured against a Vigil elsewhere", rep.Grouping, rep.Thread)
	}
	var out bytes.Buffer
	rep.print(&out)
	if !strings.Contains(out.String(), "not measured: Vigil at "+receiver.URL+" runs elsewhere") {
		t.Errorf("printed report:\n%s", out.String())
	}

	notVigil := httptest.NewServer(http.NotFoundHandler())
	defer notVigil.Close()
	o.url = notVigil.URL
	if _, err := storm(ctx, o, &progress); err == nil || !strings.Contains(err.Error(), notVigil.URL+" accepted none of") {
		t.Errorf("storm to a server that is not Vigil: %v, want an error naming it", err)
	}
}

// sqliteReceiver is a Vigil Alertmanager receiver on a SQLite store with
// group commit, without Temporal, stopped when t ends.
func sqliteReceiver(t *testing.T) *httptest.Server {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	batch := ingest.NewBatcher(st, 0)
	ctx, stop := context.WithCancel(context.Background())
	batched := make(chan struct{})
	go func() { defer close(batched); batch.Run(ctx) }()
	receiver := httptest.NewServer(&ingest.Alertmanager{Store: batch, GroupBy: []string{"alertname", "service"}, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() { receiver.Close(); stop(); <-batched; _ = st.Close() })
	return receiver
}
