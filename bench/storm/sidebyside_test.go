package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/internal/pgtest"
)

func TestParseStoreAndReplicas(t *testing.T) {
	tests := []struct {
		args []string
		err  string // empty: parses
	}{
		{nil, ""},
		{[]string{"--store", "postgres://vigil:vigil@127.0.0.1/storm", "--replicas", "2"}, ""},
		{[]string{"--store", "sqlite:///tmp/storm.db"}, ""},
		{[]string{"--replicas", "2"}, "--replicas above 1 needs --store postgres://"},
		{[]string{"--store", "sqlite:///tmp/storm.db", "--replicas", "2"}, "--replicas above 1 needs --store postgres://"},
		{[]string{"--replicas", "0"}, "--replicas must be at least 1"},
		{[]string{"--store", "mysql://db/storm"}, "--store: "},
	}
	for _, tt := range tests {
		name := strings.Join(tt.args, " ")
		if name == "" {
			name = "defaults"
		}
		t.Run(name, func(t *testing.T) {
			o, err := parse(tt.args, io.Discard)
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("parse: %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("parse: %v, want an error containing %q", err, tt.err)
			case tt.err == "" && (o.replicas < 1 || o.alertmanager != "auto"):
				t.Errorf("replicas %d, alertmanager %q; want at least 1 and auto by default", o.replicas, o.alertmanager)
			}
		})
	}
}

// TestDriverAlternatesReplicas sends a storm to two receivers: requests
// alternate over them, and each group's payloads still arrive in order.
func TestDriverAlternatesReplicas(t *testing.T) {
	s, err := Generate(testSpec())
	if err != nil {
		t.Fatal(err)
	}
	index := map[string]int{}
	for i, p := range s.Payloads {
		index[string(p.Body)] = i
	}
	var mu sync.Mutex
	arrived := map[string][]int{} // group → payload indexes, in arrival order
	byReceiver := [2]int{}
	receiver := func(n int) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			i, ok := index[string(body)]
			if !ok {
				http.Error(w, "not a payload of the storm", http.StatusBadRequest)
				return
			}
			mu.Lock()
			arrived[s.Payloads[i].Group] = append(arrived[s.Payloads[i].Group], i)
			byReceiver[n]++
			mu.Unlock()
		}))
	}
	a, b := receiver(0), receiver(1)
	defer a.Close()
	defer b.Close()
	d := &driver{client: newClient(4), urls: []string{a.URL, b.URL}, workers: 4}
	sent := d.run(context.Background(), s.Payloads)
	for i, x := range sent {
		if x.Status != http.StatusOK {
			t.Fatalf("payload %d: status %d", i, x.Status)
		}
	}
	if diff := byReceiver[0] - byReceiver[1]; diff < -1 || diff > 1 {
		t.Errorf("requests by receiver %v, want them alternating", byReceiver)
	}
	for g, order := range arrived {
		for k := 1; k < len(order); k++ {
			if order[k] < order[k-1] {
				t.Errorf("group %s: payloads arrived in order %v", g, order)
				break
			}
		}
	}
}

// TestStormReplicasOnPostgres runs a tiny storm through two replicas sharing
// a PostgreSQL store, requests alternating over them: grouping and threads
// are measured in the shared store, as on SQLite (TestTinyStorm's cascade).
func TestStormReplicasOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	dsn := pgtest.SchemaDSN(t)
	o := options{
		spec:        Spec{Incidents: 1, AlertsPerIncident: 6, Flaps: 1, Span: time.Minute, Cascade: time.Minute, Hold: 10 * time.Minute, Seed: 3},
		concurrency: 1, groupBy: []string{"alertname", "service"}, correlate: true, maxBody: 1 << 20, dataDir: t.TempDir(), settle: time.Minute,
		storeDSN: dsn, replicas: 2, logLevel: 8, // quiet
	}
	var progress bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := storm(ctx, o, &progress)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	in := rep.Ingest
	if in.Answered200 != rep.Storm.Payloads || in.AlertsAccepted != rep.Storm.Alerts || len(in.ByReplica) != 2 || in.ByReplica[0] == 0 || in.ByReplica[1] == 0 {
		t.Errorf("ingest = %+v, want every payload accepted, by both replicas", in)
	}
	if v := rep.Vigil; v == nil || v.Store != "postgres" || v.Replicas != 2 {
		t.Errorf("vigil = %+v", v)
	}
	if g := rep.Grouping; g.IncidentsOpened != 1 || math.Abs(g.F1-1) > 1e-9 || g.Unassigned != 0 {
		t.Errorf("grouping = %+v, want the cascade in one incident", g)
	}
	if th := rep.Thread; th.Measured != 1 || th.Missing != 0 || !rep.Drained {
		t.Errorf("thread = %+v drained %v", th, rep.Drained)
	}
	// The store is no longer empty: a second storm on it would count this one's.
	o.dataDir = t.TempDir()
	if _, err := storm(ctx, o, &progress); err == nil || !strings.Contains(err.Error(), "already holds incidents") {
		t.Errorf("a storm on a store holding one: %v, want it refused", err)
	}
}

func TestAlertmanagerPayloads(t *testing.T) {
	s, err := Generate(testSpec())
	if err != nil {
		t.Fatal(err)
	}
	ps, err := alertmanagerPayloads(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != len(s.Payloads) {
		t.Fatalf("%d requests for %d payloads", len(ps), len(s.Payloads))
	}
	for i, p := range ps {
		var w webhook
		if err := json.Unmarshal(s.Payloads[i].Body, &w); err != nil {
			t.Fatal(err)
		}
		var alerts []map[string]any
		if err := json.Unmarshal(p.Body, &alerts); err != nil {
			t.Fatal(err)
		}
		if p.Alerts != s.Payloads[i].Alerts || len(alerts) != p.Alerts || p.Group != s.Payloads[i].Group || p.At != s.Payloads[i].At {
			t.Fatalf("request %d: %d alerts, group %q; payload: %d, %q", i, len(alerts), p.Group, s.Payloads[i].Alerts, s.Payloads[i].Group)
		}
		for k, a := range alerts {
			_, ends := a["endsAt"]
			if firing := w.Alerts[k].Status == "firing"; ends == firing || a["startsAt"] == nil || a["generatorURL"] == nil {
				t.Fatalf("request %d alert %d: %v for a %s alert", i, k, a, w.Alerts[k].Status)
			}
		}
	}
}

// TestAlertmanagerSideBySide runs Debian's Alertmanager before a small storm
// sent to a Vigil receiver (as TestStormElsewhere does, without Temporal):
// the report carries both rates and their ratio.
func TestAlertmanagerSideBySide(t *testing.T) {
	if _, err := exec.LookPath("prometheus-alertmanager"); err != nil {
		t.Skip("prometheus-alertmanager is not installed (Debian package prometheus-alertmanager; .ci/run installs it)")
	}
	receiver := sqliteReceiver(t)
	ctx := context.Background()

	o := options{spec: Spec{Incidents: 2, AlertsPerIncident: 6, Noise: 3, Flaps: 1, Span: time.Minute, Cascade: time.Minute, Hold: 10 * time.Minute, Seed: 3},
		concurrency: 4, url: receiver.URL, alertmanager: "auto"}
	var progress bytes.Buffer
	rep, err := storm(ctx, o, &progress)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	am := rep.Alertmanager
	if am == nil || am.Answered200 != rep.Storm.Payloads || am.AlertsAccepted != rep.Storm.Alerts || am.AlertsPerSecond <= 0 || am.VigilRatio <= 0 || am.Version == "" {
		t.Fatalf("alertmanager = %+v, want every request accepted\n%s", am, progress.String())
	}
	raw, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var j struct {
		Ingest struct {
			AlertsPerSecond float64 `json:"alerts_per_second"`
		} `json:"ingest"`
		Alertmanager struct {
			AlertsPerSecond float64 `json:"alerts_per_second"`
			VigilRatio      float64 `json:"vigil_ratio"`
		} `json:"alertmanager"`
	}
	if err := json.Unmarshal(raw, &j); err != nil {
		t.Fatal(err)
	}
	if j.Ingest.AlertsPerSecond <= 0 || j.Alertmanager.AlertsPerSecond <= 0 || math.Abs(j.Alertmanager.VigilRatio-j.Ingest.AlertsPerSecond/j.Alertmanager.AlertsPerSecond) > 1e-9 {
		t.Errorf("JSON report: %s", raw)
	}
	var out bytes.Buffer
	rep.print(&out)
	if !strings.Contains(out.String(), "vigil/alertmanager: ") {
		t.Errorf("printed report:\n%s", out.String())
	}

	o.alertmanager = filepath.Join(t.TempDir(), "no-alertmanager-here")
	if _, err := storm(ctx, o, &progress); err == nil || !strings.Contains(err.Error(), "--alertmanager") {
		t.Errorf("storm with a missing Alertmanager binary: %v, want an error naming the flag", err)
	}
}
