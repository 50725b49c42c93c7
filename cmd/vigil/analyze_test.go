package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/vigilops/vigil/analyzers/logmine"
	"github.com/vigilops/vigil/analyzers/rca"
	"github.com/vigilops/vigil/internal/golden"
	"github.com/vigilops/vigil/internal/rcainput"
)

// writeNABSeries writes a synthetic NAB data file: a daily cycle with noise,
// a spike at row 900 and a level shift from row 1200.
func writeNABSeries(t *testing.T, path string) (start time.Time, n int) {
	t.Helper()
	start, n = time.Date(2014, 4, 1, 0, 0, 0, 0, time.UTC), 1600
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	for i := range n {
		v := 50 + 10*math.Sin(float64(i)*2*math.Pi/288) + float64((i*7919)%17)/17
		if i == 900 {
			v += 60
		}
		if i >= 1200 {
			v += 25
		}
		fmt.Fprintf(&b, "%s,%g\n", start.Add(time.Duration(i)*5*time.Minute).Format(nabTimeLayout), v)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return start, n
}

// nabCorpus returns the NAB root of ../shared/external (or $VIGIL_EXTERNAL),
// or "" when it is not at hand.
func nabCorpus() string {
	root := filepath.Join("..", "..", "..", "shared", "external", "nab")
	if ext := os.Getenv("VIGIL_EXTERNAL"); ext != "" {
		root = filepath.Join(ext, "nab")
	}
	if _, err := os.Stat(filepath.Join(root, "labels", "combined_windows.json")); err != nil {
		return ""
	}
	return root
}

// TestAnalyzeAnomaliesMatchesNAB runs bench/nab, the harness NAB scores come
// from, and vigil analyze anomalies on the same files: their results files
// must be identical, byte for byte.
func TestAnalyzeAnomaliesMatchesNAB(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is needed to run bench/nab")
	}
	root := t.TempDir()
	files := []string{"synthetic/daily_with_shift.csv"}
	start, _ := writeNABSeries(t, filepath.Join(root, "data", files[0]))
	win := func(row int) string {
		return start.Add(time.Duration(row)*5*time.Minute).Format(nabTimeLayout) + ".000000"
	}
	labels := map[string][][2]string{files[0]: {{win(1150), win(1300)}}}
	if corpus := nabCorpus(); corpus != "" {
		real := "realKnownCause/machine_temperature_system_failure.csv"
		data, err := os.ReadFile(filepath.Join(corpus, "data", real))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(root, "data", "realKnownCause"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "data", real), data, 0o644); err != nil {
			t.Fatal(err)
		}
		var all map[string][][2]string
		raw, err := os.ReadFile(filepath.Join(corpus, "labels", "combined_windows.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &all); err != nil {
			t.Fatal(err)
		}
		labels[real] = all[real]
		files = append(files, real)
	} else {
		t.Log("NAB corpus not found; comparing on the synthetic series only")
	}
	lb, _ := json.Marshal(labels)
	if err := os.MkdirAll(filepath.Join(root, "labels"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "labels", "combined_windows.json"), lb, 0o644); err != nil {
		t.Fatal(err)
	}
	results := t.TempDir()
	cmd := exec.Command(gobin, "run", "../../bench/nab", "--data", root, "--out", results)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bench/nab: %v\n%s", err, out)
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			outPath := filepath.Join(t.TempDir(), "scores.csv")
			var stderr bytes.Buffer
			if code := run([]string{"analyze", "anomalies", "--in", filepath.Join(root, "data", f), "--out", outPath}, &stderr, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			got, err := os.ReadFile(outPath)
			if err != nil {
				t.Fatal(err)
			}
			cat, name, _ := strings.Cut(f, "/")
			want, err := os.ReadFile(filepath.Join(results, cat, "vigil_"+name))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
				for i := range min(len(gl), len(wl)) {
					if gl[i] != wl[i] {
						t.Fatalf("line %d differs from bench/nab's:\n got %s\nwant %s", i+1, gl[i], wl[i])
					}
				}
				t.Fatalf("%d lines, bench/nab wrote %d", len(gl), len(wl))
			}
			if !strings.Contains(stderr.String(), "anomaly events") || strings.Contains(stderr.String(), "; 0 anomaly events") {
				t.Errorf("summary %q: the series should raise events, or the comparison covers little but zeros", stderr.String())
			}
		})
	}
}

func TestAnalyzeAnomaliesInputs(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name     string
		in       string
		wantCode int
		wantOut  []string
	}{
		{name: "unix seconds and RFC 3339, extra columns", in: write("ok.csv", "host,timestamp,value\na,1700000000,1.50\na,2023-11-14T22:18:20Z,2\n"),
			wantOut: []string{"timestamp,value,anomaly_score\n1700000000,1.5,0\n2023-11-14T22:18:20Z,2,0\n", "scored 2 points; 0 anomaly events"}},
		{name: "missing column", in: write("nocol.csv", "time,value\n1,2\n"), wantCode: 1, wantOut: []string{`nocol.csv: the header "time,value" needs the columns timestamp and value`}},
		{name: "bad timestamp", in: write("badts.csv", "timestamp,value\n1700000000,1\nyesterday,2\n"), wantCode: 1, wantOut: []string{`badts.csv:3: timestamp: "yesterday" is not`}},
		{name: "bad value", in: write("badv.csv", "timestamp,value\n1700000000,fast\n"), wantCode: 1, wantOut: []string{`badv.csv:2: value "fast" is not a number`}},
		{name: "no such file", in: filepath.Join(dir, "nope.csv"), wantCode: 1, wantOut: []string{"nope.csv: no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if code := run([]string{"analyze", "anomalies", "--in", tt.in}, &out, &out); code != tt.wantCode {
				t.Errorf("exit %d, want %d: %s", code, tt.wantCode, out.String())
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

const testLogFormat = "<Date> <Time> <Level> <Component>: <Content>"

func TestAnalyzeLogs(t *testing.T) {
	in := filepath.Join("testdata", "analyze", "app.log")
	path := filepath.Join("testdata", "analyze", "app.log_structured.csv")
	out := filepath.Join(t.TempDir(), "structured.csv")
	var stderr bytes.Buffer
	if code := run([]string{"analyze", "logs", "--format", testLogFormat, "--in", in, "--out", out}, &stderr, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, path, got)
	// One row per input line, in order, with the Structurer's final templates.
	raw, _ := os.ReadFile(in)
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	f, _ := logmine.ParseFormat(testLogFormat)
	st := logmine.NewStructurer(f, logmine.DefaultConfig())
	for _, l := range lines {
		st.Add(l)
	}
	rows, err := csv.NewReader(bytes.NewReader(got)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], []string{"LineId", "EventId", "EventTemplate"}) || len(rows) != len(lines)+1 {
		t.Fatalf("header %v and %d rows for %d lines", rows[0], len(rows)-1, len(lines))
	}
	for i, r := range st.Rows() {
		if !slices.Equal(rows[i+1], r.Record()) || rows[i+1][0] != fmt.Sprint(i+1) {
			t.Errorf("row %d = %v, want %v", i+1, rows[i+1], r.Record())
		}
	}
	if !strings.Contains(stderr.String(), fmt.Sprintf("structured %d lines", len(lines))) || !strings.Contains(stderr.String(), "2 lines did not match the format") {
		t.Errorf("summary: %q", stderr.String())
	}

	var errOut bytes.Buffer
	if code := run([]string{"analyze", "logs", "--format", "<A> <A>", "--in", in}, &errOut, &errOut); code != 1 || !strings.Contains(errOut.String(), "--format:") {
		t.Errorf("bad format: exit %d: %s", code, errOut.String())
	}
}

func TestRCA(t *testing.T) {
	td := filepath.Join("..", "..", "internal", "rcainput", "testdata")
	args := []string{"rca", "--metrics", filepath.Join(td, "metrics.csv"), "--baseline", filepath.Join(td, "baseline.csv"),
		"--edges", filepath.Join(td, "edges.csv"), "--changes", filepath.Join(td, "changes.json")}
	var out bytes.Buffer
	if code := run(args, &out, &out); code != 0 {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	var got rcaOutput
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	in, err := rcainput.Load(rcainput.Files{Metrics: filepath.Join(td, "metrics.csv"), Baseline: filepath.Join(td, "baseline.csv"),
		Edges: filepath.Join(td, "edges.csv"), Changes: filepath.Join(td, "changes.json")})
	if err != nil {
		t.Fatal(err)
	}
	want := rca.Rank(in, rca.DefaultConfig())
	if len(got.Ranking) != len(want) {
		t.Fatalf("%d candidates, rca.Rank gives %d", len(got.Ranking), len(want))
	}
	for i, c := range got.Ranking {
		if c.Component != want[i].Component || math.Abs(c.Score-want[i].Score) > 1e-9 || len(c.Factors) != 5 {
			t.Errorf("candidate %d = %+v, want %s %.9f with 5 factors", i, c, want[i].Component, want[i].Score)
		}
		sum := 0.0
		for _, f := range c.Factors {
			sum += f.Contribution
			if f.Evidence == nil {
				t.Errorf("%s %s: evidence is null, want a list", c.Component, f.Name)
			}
		}
		if math.Abs(sum-c.Score) > 1e-6 {
			t.Errorf("%s: factors sum to %v, score %v", c.Component, sum, c.Score)
		}
	}

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"top", append(slices.Clone(args), "--top", "1"), `"component"`},
		{"explain", append(slices.Clone(args), "--explain", "--top", "1"), rca.Explain(want) + "\n"},
		{"no onset or baseline", []string{"rca", "--metrics", filepath.Join(td, "metrics.csv")}, "need an onset or a baseline file"},
		{"bad onset", []string{"rca", "--metrics", filepath.Join(td, "metrics.csv"), "--onset", "soon"}, `--onset "soon": want unix seconds or an RFC 3339 time`},
		{"unknown symptom", []string{"rca", "--metrics", filepath.Join(td, "metrics.csv"), "--onset", "1700000060", "--symptom", "cart/latency"}, `has no column "cart/latency"`},
		{"metrics required", []string{"rca"}, `required flag(s) "metrics" not set`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			code := run(tt.args, &out, &out)
			if !strings.Contains(out.String(), tt.want) {
				t.Errorf("exit %d, output lacks %q:\n%s", code, tt.want, out.String())
			}
			if tt.name == "explain" {
				if code != 0 || out.String() != tt.want {
					t.Errorf("--explain: exit %d, output %q, want %q (from the whole ranking, not the top 1)", code, out.String(), tt.want)
				}
				return
			}
			if tt.name == "top" {
				var r rcaOutput
				if err := json.Unmarshal(out.Bytes(), &r); err != nil || len(r.Ranking) != 1 || code != 0 {
					t.Errorf("--top 1: exit %d, %d candidates (%v)", code, len(r.Ranking), err)
				}
			} else if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
		})
	}
}

func TestEachLine(t *testing.T) {
	long := strings.Repeat("x", 3<<20)
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"LF and CRLF", "a\nb\r\n\nc\n", []string{"a", "b", "", "c"}},
		{"final line without newline", "a\r\nb\r", []string{"a", "b"}},
		{"empty", "", nil},
		{"a line longer than the buffer", "a\n" + long + "\nb", []string{"a", long, "b"}},
	}
	for _, tt := range tests {
		for _, r := range []struct {
			name string
			r    func(string) io.Reader
		}{
			{"whole", func(s string) io.Reader { return strings.NewReader(s) }},
			{"byte by byte", func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) }},
		} {
			if r.name == "byte by byte" && len(tt.in) > 1<<20 {
				continue
			}
			t.Run(tt.name+"/"+r.name, func(t *testing.T) {
				var got []string
				if err := eachLine(r.r(tt.in), func(l string) { got = append(got, l) }); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("lines = %.40q, want %.40q", got, tt.want)
				}
			})
		}
	}
	failing := iotest.ErrReader(errors.New("disk gone"))
	if err := eachLine(failing, func(string) {}); err == nil || !strings.Contains(err.Error(), "disk gone") {
		t.Errorf("read error = %v", err)
	}
}

func TestWriteStructuredIsCSV(t *testing.T) {
	rows := []logmine.StructuredRow{
		{LineID: 1, EventID: "E1", EventTemplate: `evicted <*> keys from "carts", in <*>`},
		{LineID: 2, EventID: "E2", EventTemplate: ""},
		{LineID: 3, EventID: "E3", EventTemplate: " leading space"},
		{LineID: 4, EventID: "E1", EventTemplate: `evicted <*> keys from "carts", in <*>`},
		{LineID: 5, EventID: "E4", EventTemplate: `\.`},
	}
	var got, want bytes.Buffer
	if err := writeStructured(&got, rows); err != nil {
		t.Fatal(err)
	}
	cw := csv.NewWriter(&want)
	_ = cw.Write(logmine.StructuredHeader())
	for _, r := range rows {
		_ = cw.Write(r.Record())
	}
	cw.Flush()
	if got.String() != want.String() {
		t.Errorf("writeStructured:\n%s\nencoding/csv:\n%s", got.String(), want.String())
	}
}
