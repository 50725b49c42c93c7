package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestRunSyntheticReportsEveryKind(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"--data", "none", "--synthetic", "2"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, k := range Kinds {
		if !strings.Contains(out.String(), "synthetic "+string(k)) {
			t.Errorf("no row for %s:\n%s", k, out.String())
		}
	}
}

func TestRunRejectsBadArguments(t *testing.T) {
	for _, args := range [][]string{{"extra"}, {"--alpha", "2"}, {"--synthetic", "-1"}, {"--no-such-flag"}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("run(%q) = %d, want 2", args, code)
		}
	}
}

// Synthetic series are reproducible, and each anomaly lies in the second
// half, after the detector has learnt the series.
func TestSynthesizeIsSeededAndLabelled(t *testing.T) {
	a, b := synthesize(3, 7), synthesize(3, 7)
	if len(a) != 3*len(Kinds) {
		t.Fatalf("%d series, want %d", len(a), 3*len(Kinds))
	}
	for i := range a {
		if !slices.Equal(a[i].Values, b[i].Values) || !slices.Equal(a[i].Spans, b[i].Spans) {
			t.Fatalf("%s differs between two runs with one seed", a[i].Name)
		}
		sp := a[i].Spans[0]
		if len(a[i].Spans) != 1 || sp.Start < syntheticPoints/2 || sp.End >= syntheticPoints || sp.End < sp.Start {
			t.Errorf("%s: spans %v", a[i].Name, a[i].Spans)
		}
	}
	if c := synthesize(1, 8); slices.Equal(c[0].Values, a[0].Values) {
		t.Error("another seed gives the same series")
	}
}

func TestNABLoads(t *testing.T) {
	root := filepath.Join("..", "..", "..", "shared", "external", "nab")
	if ext := os.Getenv("VIGIL_EXTERNAL"); ext != "" {
		root = filepath.Join(ext, "nab")
	}
	if _, err := os.Stat(filepath.Join(root, "labels", "combined_windows.json")); err != nil {
		t.Skipf("NAB data not found at %s: %v", root, err)
	}
	series, err := loadNAB(root)
	if err != nil {
		t.Fatal(err)
	}
	spans := 0
	for _, s := range series {
		spans += len(s.Spans)
	}
	if len(series) != 58 || spans != 116 {
		t.Errorf("%d series with %d windows, want 58 and 116", len(series), spans)
	}
}
