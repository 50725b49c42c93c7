package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vigilops/vigil/analyzers/logmine"
)

// Floors for one shared miner configuration on the Loghub 2k systems. Drain,
// tuned per system, averages 0.906 GA on these ten; LLM parsers (LILAC,
// LogBatcher) publish 0.87 to 0.895 canonical PA.
const (
	minMeanGA   = 0.97
	minSystemGA = 0.90
	minMeanPA   = 0.90
)

// loghubData returns the Loghub 2k folder and its systems, or skips the test
// when the external data is not there (CI may not have it).
func loghubData(tb testing.TB) (string, []system) {
	tb.Helper()
	dir, err := defaultDataDir()
	if err != nil {
		tb.Skipf("Loghub data not located (%v); set VIGIL_EXTERNAL to the folder holding loghub2k", err)
	}
	systems, err := loadFormats(filepath.Join(dir, "formats.json"))
	if os.IsNotExist(err) {
		tb.Skipf("Loghub data not found at %s; set VIGIL_EXTERNAL to the folder holding loghub2k", dir)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return dir, systems
}

func TestLoghubAccuracy(t *testing.T) {
	dir, systems := loghubData(t)
	if len(systems) == 0 {
		t.Fatal("formats.json lists no systems")
	}
	sum, sumPA := 0.0, 0.0
	for _, sys := range systems {
		res, err := evaluate(dir, sys)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%-10s GA %.4f PA %.4f exact PA %.4f F1 %.4f", sys.Name, res.Score.GA, res.Score.PA, res.Score.ExactPA, res.Score.F1)
		if res.Score.GA < minSystemGA {
			t.Errorf("%s: GA %.4f below %.2f", sys.Name, res.Score.GA, minSystemGA)
		}
		sum += res.Score.GA
		sumPA += res.Score.PA
	}
	if mean := sumPA / float64(len(systems)); mean < minMeanPA {
		t.Errorf("mean canonical PA %.4f below %.2f", mean, minMeanPA)
	}
	if mean := sum / float64(len(systems)); mean < minMeanGA {
		t.Errorf("mean GA %.4f below %.2f", mean, minMeanGA)
	} else {
		t.Logf("mean GA %.4f", mean)
	}
}

// BenchmarkLoghub mines every system's messages with a fresh miner, so it
// includes template creation, not only cache hits.
func BenchmarkLoghub(b *testing.B) {
	dir, systems := loghubData(b)
	var contents [][]string
	lines := 0
	for _, sys := range systems {
		format, err := logmine.ParseFormat(sys.Format)
		if err != nil {
			b.Fatal(err)
		}
		logPath, _ := systemFiles(dir, sys.Name)
		raw, err := loadLines(logPath)
		if err != nil {
			b.Fatal(err)
		}
		c := make([]string, len(raw))
		for i, l := range raw {
			c[i], _ = format.Content(l)
		}
		contents = append(contents, c)
		lines += len(c)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, c := range contents {
			m := logmine.New(logmine.DefaultConfig())
			for _, l := range c {
				m.Add(l)
			}
		}
	}
	b.ReportMetric(float64(b.N*lines)/b.Elapsed().Seconds(), "lines/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*lines), "ns/line")
}
