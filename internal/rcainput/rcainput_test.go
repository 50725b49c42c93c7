package rcainput

import (
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vigilops/vigil/analyzers/rca"
)

func td(name string) string { return filepath.Join("testdata", name) }

func TestLoad(t *testing.T) {
	in, err := Load(Files{
		Metrics:  td("metrics.csv"),
		Baseline: td("baseline.csv"),
		Edges:    td("edges.csv"),
		Changes:  td("changes.json"),
		Onset:    1700000100,
		Symptom:  "checkout/latency_p95",
	})
	if err != nil {
		t.Fatal(err)
	}
	times := []int64{1700000000, 1700000060, 1700000120, 1700000180}
	if len(in.Series) != 3 {
		t.Fatalf("got %d series, want 3", len(in.Series))
	}
	want := []struct{ component, metric string }{
		{"checkout", "latency_p95"},
		{"payments", "latency_p95"},
		{"PetAdoptionStatusUpdater/prod", "latency"},
	}
	for i, w := range want {
		s := in.Series[i]
		if s.Component != w.component || s.Metric != w.metric || !reflect.DeepEqual(s.Times, times) {
			t.Errorf("series %d = %s/%s at %v, want %s/%s at %v", i, s.Component, s.Metric, s.Times, w.component, w.metric, times)
		}
	}
	if v := in.Series[1].Values[1]; !math.IsNaN(v) {
		t.Errorf("empty cell read as %v, want NaN", v)
	}
	if v := in.Series[2].Values[2]; !math.IsNaN(v) {
		t.Errorf("NaN cell read as %v, want NaN", v)
	}
	if len(in.Baseline) != 3 || len(in.Baseline[0].Values) != 3 {
		t.Errorf("baseline = %d series of %d samples, want 3 of 3", len(in.Baseline), len(in.Baseline[0].Values))
	}
	wantEdges := [][2]string{{"checkout", "payments"}, {"payments", "PetAdoptionStatusUpdater/prod"}}
	if !reflect.DeepEqual(in.Edges, wantEdges) {
		t.Errorf("edges = %v, want %v", in.Edges, wantEdges)
	}
	wantChanges := []rca.Change{
		{ID: "deploy-4711", Component: "payments", Time: 1700000000, Summary: "payments v2.3.1"},
		{ID: "cfg-12", Component: "checkout", Time: 1700000000 - 1700000000%86400 + 22*3600},
	}
	if !reflect.DeepEqual(in.Changes, wantChanges) {
		t.Errorf("changes = %+v, want %+v", in.Changes, wantChanges)
	}
	if in.Onset != 1700000100 || in.Target != (rca.Symptom{Component: "checkout", Metric: "latency_p95"}) {
		t.Errorf("onset %d target %+v", in.Onset, in.Target)
	}
	if got := rca.Rank(in, rca.DefaultConfig()); got[0].Component != "payments" {
		t.Errorf("top candidate %s, want payments", got[0].Component)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		files Files
		want  string
	}{
		{"no metrics", Files{Onset: 1}, "a metrics file is required"},
		{"no onset or baseline", Files{Metrics: td("metrics.csv")}, "need an onset or a baseline"},
		{"missing file", Files{Metrics: td("nope.csv"), Onset: 1}, "nope.csv"},
		{"symptom not a column", Files{Metrics: td("metrics.csv"), Onset: 1, Symptom: "checkout/errors"}, `no column "checkout/errors"`},
		{"symptom not a series name", Files{Metrics: td("metrics.csv"), Onset: 1, Symptom: "checkout"}, "not <component>/<metric>"},
		{"bad edges", Files{Metrics: td("metrics.csv"), Onset: 1, Edges: td("metrics.csv")}, "metrics.csv:1: wrong number of fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.files)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestReadMetricsErrors(t *testing.T) {
	tests := []struct {
		name, csv, want string
	}{
		{"empty", "", "m.csv: empty file"},
		{"no samples", "timestamp,a/x\n", "m.csv: no samples"},
		{"first column", "time,a/x\n1,2\n", "m.csv:1: header must be timestamp"},
		{"no series", "timestamp\n1\n", "m.csv:1: header must be timestamp"},
		{"no metric", "timestamp,a/x,b\n1,2,3\n", `m.csv:1: column 3: series "b" is not <component>/<metric>`},
		{"empty metric", "timestamp,a/\n1,2\n", `m.csv:1: column 2: series "a/"`},
		{"repeated", "timestamp,a/x,a/x\n1,2,3\n", `m.csv:1: column 3: series "a/x" repeated`},
		{"bad timestamp", "timestamp,a/x\n1,2\nsoon,3\n", `m.csv:3: timestamp: "soon" is not unix seconds`},
		{"not increasing", "timestamp,a/x\n2,2\n2,3\n", "m.csv:3: timestamp 2 is not after 2"},
		{"bad value", "timestamp,a/x\n1,fast\n", `m.csv:2: column 2: "fast" is not a number`},
		{"infinite value", "timestamp,a/x\n1,Inf\n", `m.csv:2: column 2: "Inf" is not a number`},
		{"ragged row", "timestamp,a/x\n1,2,3\n", "m.csv:2: wrong number of fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadMetrics(strings.NewReader(tt.csv), "m.csv")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestReadMetricsByteOrderMark(t *testing.T) {
	got, err := ReadMetrics(strings.NewReader("\ufefftimestamp,a/x\n1,2\n"), "m.csv")
	if err != nil || len(got) != 1 || got[0].Values[0] != 2 {
		t.Errorf("got %+v, %v", got, err)
	}
}

func TestReadEdgesErrors(t *testing.T) {
	tests := []struct {
		name, csv, want string
	}{
		{"empty", "", "e.csv: empty file"},
		{"header", "from,to\na,b\n", "e.csv:1: header must be caller,callee"},
		{"blank caller", "caller,callee\na,b\n ,c\n", "e.csv:3: caller and callee must not be empty"},
		{"three fields", "caller,callee\na,b,c\n", "e.csv:2: wrong number of fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadEdges(strings.NewReader(tt.csv), "e.csv")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestReadChangesErrors(t *testing.T) {
	tests := []struct {
		name, json, want string
	}{
		{"not an array", `{"id": "x"}`, "c.json:1: want a JSON array"},
		{"no time", "[\n  {\"component\": \"a\", \"id\": \"x\"}\n]", "c.json:2: time is required"},
		{"bad time", "[\n{\"component\": \"a\", \"id\": \"x\", \"time\": 1},\n{\"component\": \"a\", \"id\": \"y\", \"time\": \"yesterday\"}]", `c.json:3: time "yesterday" is not RFC 3339`},
		{"no component", `[{"id": "x", "time": 1}]`, "c.json:1: component is required"},
		{"no id", "[\n\n  {\"component\": \"a\", \"time\": 1}]", "c.json:3: id is required"},
		{"unknown field", `[{"component": "a", "id": "x", "time": 1, "who": "me"}]`, `unknown field "who"`},
		{"syntax", "[\n{\"component\": \"a\",,}]", "c.json:2: invalid character"},
		{"trailing data", `[] []`, "c.json:1: unexpected data after the array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadChanges(strings.NewReader(tt.json), "c.json")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestSplitSeriesName(t *testing.T) {
	tests := []struct {
		name, component, metric string
		ok                      bool
	}{
		{"api/latency", "api", "latency", true},
		{"PetAdoptionStatusUpdater/prod_AWS::ApiGateway::Stage/latency_p90", "PetAdoptionStatusUpdater/prod_AWS::ApiGateway::Stage", "latency_p90", true},
		{"https://sqs.example.com/queue/availability_Average", "https://sqs.example.com/queue", "availability_Average", true},
		{"latency", "", "", false},
		{"/latency", "", "", false},
		{"api/", "", "", false},
	}
	for _, tt := range tests {
		c, m, err := SplitSeriesName(tt.name)
		if (err == nil) != tt.ok || c != tt.component || m != tt.metric {
			t.Errorf("SplitSeriesName(%q) = %q, %q, %v", tt.name, c, m, err)
		}
	}
}
