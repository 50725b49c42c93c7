package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestRunScoreOnlyPrintsTable(t *testing.T) {
	root := externalNAB(t)
	var out, errb bytes.Buffer
	code := run([]string{"--data", root, "--score-only", filepath.Join(root, "results", "windowedGaussian")}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"standard", "39.65", "reward_low_FP_rate", "20.87", "reward_low_FN_rate", "47.41", "73/116"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

func TestRunRejectsBadArguments(t *testing.T) {
	for _, args := range [][]string{{"extra"}, {"--no-such-flag"}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("run(%q) = %d, want 2", args, code)
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"--data", t.TempDir()}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "combined_windows.json") {
		t.Errorf("missing corpus: exit %d, stderr %q", code, errb.String())
	}
}

// TestVigilDetectorOnNAB runs the whole benchmark: the detector's results
// must be readable in NAB's layout and must keep the standard score at or
// above 60 (NAB leaderboard: Skyline 58.2, KNN-CAD 58.0). A change that
// drops it fails here.
func TestVigilDetectorOnNAB(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole NAB corpus")
	}
	root := externalNAB(t)
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := run([]string{"--data", root, "--out", dir}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, p := range []string{
		"realKnownCause/vigil_nyc_taxi.csv",
		"artificialNoAnomaly/vigil_art_flatline.csv",
		"vigil_standard_scores.csv",
	} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("results layout: %v", err)
		}
	}
	m := regexp.MustCompile(`(?m)^\s*standard\s+(-?[0-9.]+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no standard score in:\n%s", out.String())
	}
	score, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("NAB standard score %.2f\n%s", score, out.String())
	if score < 60 {
		t.Errorf("NAB standard score %.2f, want ≥ 60", score)
	}
}

func TestRunAlertLevelSweep(t *testing.T) {
	root := externalNAB(t)
	var out, errb bytes.Buffer
	if code := run([]string{"--data", root, "--alert-levels", "0.5,0.55"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "0.5 ") || !strings.HasPrefix(lines[2], "0.55 ") {
		t.Fatalf("want a header and one row per level:\n%s", out.String())
	}
	if strings.Count(out.String(), "best reward_low_FP_rate") != 1 {
		t.Errorf("one level must be marked best for reward_low_FP_rate:\n%s", out.String())
	}
	for _, bad := range []string{"0.5,x", "0,0.5", "1.5"} {
		var out, errb bytes.Buffer
		if code := run([]string{"--data", root, "--alert-levels", bad}, &out, &errb); code != 2 {
			t.Errorf("--alert-levels %q: exit %d, want 2", bad, code)
		}
	}
}
