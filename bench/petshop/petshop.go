package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/vigilops/vigil/analyzers/rca"
	"github.com/vigilops/vigil/internal/rcainput"
)

// issue is one PetShop issue directory, converted to the generic input.
type issue struct {
	Path      string // relative to the dataset directory, slash-separated
	Scenario  string // the directory holding graph.csv, relative to the dataset
	Metric    string // the alerted metric: latency or availability
	RootCause string // ground truth; only ever compared with the ranking
	Input     rca.Input
}

// target is target.json: the alert (target) and the ground truth (root_cause).
type target struct {
	Target struct {
		Node      string  `json:"node"`
		Metric    string  `json:"metric"`
		Agg       string  `json:"agg"`
		Timestamp float64 `json:"timestamp"`
	} `json:"target"`
	RootCause struct {
		Node string `json:"node"`
	} `json:"root_cause"`
}

// scenario caches what the issues of one scenario share.
type scenario struct {
	edges    [][2]string
	baseline []rca.Series // nil when the scenario has no noissue recording
}

// loadIssues finds every issue_* directory under root, at any depth, and
// converts it. Issues are returned in path order.
func loadIssues(root string) ([]issue, error) {
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), "issue_") {
			dirs = append(dirs, p)
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("%s: no issue_* directories", root)
	}
	slices.Sort(dirs)
	scenarios := map[string]*scenario{}
	issues := make([]issue, 0, len(dirs))
	for _, dir := range dirs {
		is, err := loadIssue(root, dir, scenarios)
		if err != nil {
			return nil, err
		}
		issues = append(issues, is)
	}
	return issues, nil
}

func loadIssue(root, dir string, scenarios map[string]*scenario) (issue, error) {
	var is issue
	rel, err := filepath.Rel(root, dir)
	if err != nil {
		return is, err
	}
	is.Path = filepath.ToSlash(rel)

	scDir, err := scenarioDir(root, dir)
	if err != nil {
		return is, err
	}
	scRel, err := filepath.Rel(root, scDir)
	if err != nil {
		return is, err
	}
	is.Scenario = filepath.ToSlash(scRel)
	sc, ok := scenarios[scDir]
	if !ok {
		if sc, err = loadScenario(scDir); err != nil {
			return is, err
		}
		scenarios[scDir] = sc
	}

	tpath := filepath.Join(dir, "target.json")
	raw, err := os.ReadFile(tpath)
	if err != nil {
		return is, err
	}
	var t target
	if err := json.Unmarshal(raw, &t); err != nil {
		return is, fmt.Errorf("%s: %w", tpath, err)
	}
	if t.Target.Node == "" || t.Target.Metric == "" || t.Target.Timestamp == 0 {
		return is, fmt.Errorf("%s: target node, metric and timestamp are required", tpath)
	}
	series, err := readMetrics(filepath.Join(dir, "metrics.csv"))
	if err != nil {
		return is, err
	}
	agg := t.Target.Agg
	if agg == "" {
		agg = "Average"
	}
	is.Metric = t.Target.Metric
	is.RootCause = t.RootCause.Node
	is.Input = rca.Input{
		Series:   series,
		Baseline: sc.baseline,
		Onset:    int64(t.Target.Timestamp),
		Edges:    sc.edges,
		Target:   rca.Symptom{Component: t.Target.Node, Metric: seriesMetric(t.Target.Metric, agg)},
	}
	return is, nil
}

// scenarioDir is the nearest directory above an issue, up to root, that
// holds graph.csv.
func scenarioDir(root, dir string) (string, error) {
	root = filepath.Clean(root)
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "graph.csv")); err == nil {
			return d, nil
		}
		if d == root || d == filepath.Dir(d) {
			return "", fmt.Errorf("%s: no graph.csv in any directory above it", dir)
		}
	}
}

func loadScenario(dir string) (*scenario, error) {
	edges, err := readGraph(filepath.Join(dir, "graph.csv"))
	if err != nil {
		return nil, err
	}
	sc := &scenario{edges: edges}
	base := filepath.Join(dir, "noissue", "metrics.csv")
	if _, err := os.Stat(base); errors.Is(err, fs.ErrNotExist) {
		return sc, nil
	}
	if sc.baseline, err = readMetrics(base); err != nil {
		return nil, err
	}
	return sc, nil
}

// seriesMetric names a PetShop (metric, statistic) pair as one generic metric.
func seriesMetric(metric, statistic string) string { return metric + "_" + statistic }

// readMetrics converts a PetShop metrics CSV (header rows microservice,
// metric, statistic and unix_timestamp, then one row per sample) into the
// generic metrics CSV and reads that back with rcainput, so the benchmark
// measures exactly what `vigil rca` would see.
func readMetrics(path string) ([]rca.Series, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	recs, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	heads := []string{"microservice", "metric", "statistic", "unix_timestamp"}
	if len(recs) < len(heads) {
		return nil, fmt.Errorf("%s: want %d header rows", path, len(heads))
	}
	for i, h := range heads {
		if recs[i][0] != h {
			return nil, fmt.Errorf("%s:%d: want a %q header row, got %q", path, i+1, h, recs[i][0])
		}
	}
	header := []string{"timestamp"}
	for j := 1; j < len(recs[0]); j++ {
		header = append(header, recs[0][j]+"/"+seriesMetric(recs[1][j], recs[2][j]))
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write(header); err != nil {
		return nil, err
	}
	if err := w.WriteAll(recs[len(heads):]); err != nil {
		return nil, err
	}
	return rcainput.ReadMetrics(&buf, path+" (as generic CSV)")
}

// readGraph converts graph.csv, an adjacency matrix whose row calls the
// column when the cell is non-zero, into a generic edge list and reads it.
func readGraph(path string) ([][2]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	recs, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%s: empty", path)
	}
	cols := recs[0]
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write([]string{"caller", "callee"}); err != nil {
		return nil, err
	}
	for i, row := range recs[1:] {
		for j := 1; j < len(row); j++ {
			v, err := strconv.ParseFloat(row[j], 64)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: column %d: %w", path, i+2, j+1, err)
			}
			if v != 0 {
				if err := w.Write([]string{row[0], cols[j]}); err != nil {
					return nil, err
				}
			}
		}
	}
	w.Flush()
	return rcainput.ReadEdges(&buf, path+" (as edge list)")
}
