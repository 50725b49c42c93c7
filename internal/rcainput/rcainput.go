// Package rcainput reads the generic root-cause-analysis input from files and
// turns it into an rca.Input.
//
// # Input format
//
// One incident is described by up to four files and two values.
//
// Metrics (required) is a CSV file with one row per sample time and one
// column per series:
//
//	timestamp,checkout/latency_p95,payments/latency_p95,payments/error_rate
//	1700000000,0.21,0.05,0
//	1700000060,0.22,,0
//
// The rules:
//
//   - The header's first field is "timestamp"; every other field names a
//     series "<component>/<metric>". The name splits at its last "/", so a
//     metric never contains "/" and a component may:
//     "PetAdoptionStatusUpdater/prod/latency" is metric "latency" of
//     component "PetAdoptionStatusUpdater/prod". Series names are unique.
//   - Timestamps are unix seconds (a decimal fraction is dropped) and strictly
//     increasing. Each labels the start of the interval its values summarise.
//   - A value is a decimal number; an empty cell or NaN is a missing value.
//
// Baseline (optional) is a CSV file of the same shape recorded during normal
// operation; its series are matched to the metrics' by name, and it may span
// any other time range.
//
// Onset (optional) is when the incident started, in unix seconds. The sample
// whose interval contains the onset, and every later one, form the incident
// window; earlier samples show the system just before it. Without an onset
// every metrics sample belongs to the incident and the baseline is the only
// reference, so at least one of onset and baseline is required.
//
// Symptom (optional) is the series the alert fired on, named like a metrics
// column, e.g. "checkout/latency_p95". With a symptom the ranking compares
// the series of the symptom's metric, follows the direction it moved, and
// favours what the symptom depends on.
//
// Dependencies (optional) are a CSV edge list with the header
// "caller,callee"; each row says that the caller calls, or depends on, the
// callee:
//
//	caller,callee
//	checkout,payments
//
// Changes (optional) are a JSON array of recent changes such as deploys and
// config edits; component, time and id are required, time is unix seconds or
// an RFC 3339 string, and id is what the ranking cites as evidence:
//
//	[
//	  {"component": "payments", "time": 1699999800, "id": "deploy-4711", "summary": "payments v2.3.1"},
//	  {"component": "checkout", "time": "2023-11-14T22:00:00Z", "id": "cfg-12", "summary": "pool size 20"}
//	]
//
// Errors name the file and, where there is one, the line.
package rcainput

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilops/vigil/analyzers/rca"
)

// Files names the input files of one incident.
type Files struct {
	Metrics  string // required
	Baseline string // optional
	Edges    string // optional
	Changes  string // optional
	// Onset is the incident start in unix seconds; zero means unknown, and
	// then Baseline is required.
	Onset int64
	// Symptom is the alerted series, "<component>/<metric>"; optional.
	Symptom string
}

// Load reads the files and assembles the input for rca.Rank.
func Load(f Files) (rca.Input, error) {
	var in rca.Input
	if f.Metrics == "" {
		return in, errors.New("rcainput: a metrics file is required")
	}
	if f.Onset == 0 && f.Baseline == "" {
		return in, errors.New("rcainput: need an onset or a baseline file")
	}
	var err error
	if in.Series, err = readFile(f.Metrics, ReadMetrics); err != nil {
		return in, err
	}
	if f.Baseline != "" {
		if in.Baseline, err = readFile(f.Baseline, ReadMetrics); err != nil {
			return in, err
		}
	}
	if f.Edges != "" {
		if in.Edges, err = readFile(f.Edges, ReadEdges); err != nil {
			return in, err
		}
	}
	if f.Changes != "" {
		if in.Changes, err = readFile(f.Changes, ReadChanges); err != nil {
			return in, err
		}
	}
	if f.Symptom != "" {
		c, m, err := SplitSeriesName(f.Symptom)
		if err != nil {
			return in, fmt.Errorf("symptom: %w", err)
		}
		if !slices.ContainsFunc(in.Series, func(s rca.Series) bool { return s.Component == c && s.Metric == m }) {
			return in, fmt.Errorf("symptom: %s has no column %q", f.Metrics, f.Symptom)
		}
		in.Target = rca.Symptom{Component: c, Metric: m}
	}
	in.Onset = f.Onset
	return in, nil
}

func readFile[T any](path string, read func(io.Reader, string) (T, error)) (T, error) {
	fh, err := os.Open(path)
	if err != nil {
		var zero T
		return zero, err
	}
	defer fh.Close()
	return read(fh, path)
}

// SplitSeriesName splits "<component>/<metric>" at the last "/".
func SplitSeriesName(name string) (component, metric string, err error) {
	i := strings.LastIndexByte(name, '/')
	if i <= 0 || i == len(name)-1 {
		return "", "", fmt.Errorf("series %q is not <component>/<metric>", name)
	}
	return name[:i], name[i+1:], nil
}

// ReadMetrics reads a metrics CSV; name identifies the source in errors.
func ReadMetrics(r io.Reader, name string) ([]rca.Series, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file", name)
	}
	if err != nil {
		return nil, csvError(name, err)
	}
	if len(header) < 2 || strings.TrimSpace(strings.TrimPrefix(header[0], "\ufeff")) != "timestamp" {
		return nil, fmt.Errorf("%s:1: header must be timestamp,<component>/<metric>,…", name)
	}
	series := make([]rca.Series, len(header)-1)
	seen := make(map[string]bool, len(series))
	for j, col := range header[1:] {
		col = strings.TrimSpace(col)
		c, m, err := SplitSeriesName(col)
		if err != nil {
			return nil, fmt.Errorf("%s:1: column %d: %w", name, j+2, err)
		}
		if seen[col] {
			return nil, fmt.Errorf("%s:1: column %d: series %q repeated", name, j+2, col)
		}
		seen[col] = true
		series[j] = rca.Series{Component: c, Metric: m}
	}
	var last int64
	for row := 0; ; row++ {
		rec, err := cr.Read()
		if err == io.EOF {
			if row == 0 {
				return nil, fmt.Errorf("%s: no samples", name)
			}
			break
		}
		if err != nil {
			return nil, csvError(name, err)
		}
		line, _ := cr.FieldPos(0)
		ts, err := parseUnix(rec[0])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: timestamp: %w", name, line, err)
		}
		if row > 0 && ts <= last {
			return nil, fmt.Errorf("%s:%d: timestamp %d is not after %d", name, line, ts, last)
		}
		last = ts
		for j, cell := range rec[1:] {
			v, err := parseValue(cell)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: column %d: %w", name, line, j+2, err)
			}
			series[j].Times = append(series[j].Times, ts)
			series[j].Values = append(series[j].Values, v)
		}
	}
	return series, nil
}

func parseUnix(s string) (int64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1<<53 {
		return 0, fmt.Errorf("%q is not unix seconds", s)
	}
	return int64(f), nil
}

func parseValue(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return math.NaN(), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return v, nil
}

// csvError puts the file name in front of encoding/csv's line-numbered error.
func csvError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s:%d: %w", name, pe.Line, pe.Err)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// ReadEdges reads a "caller,callee" CSV edge list.
func ReadEdges(r io.Reader, name string) ([][2]string, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 2
	header, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file", name)
	}
	if err != nil {
		return nil, csvError(name, err)
	}
	if strings.TrimSpace(header[0]) != "caller" || strings.TrimSpace(header[1]) != "callee" {
		return nil, fmt.Errorf("%s:1: header must be caller,callee", name)
	}
	var edges [][2]string
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return edges, nil
		}
		if err != nil {
			return nil, csvError(name, err)
		}
		line, _ := cr.FieldPos(0)
		caller, callee := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		if caller == "" || callee == "" {
			return nil, fmt.Errorf("%s:%d: caller and callee must not be empty", name, line)
		}
		edges = append(edges, [2]string{caller, callee})
	}
}

// change is the JSON form of rca.Change.
type change struct {
	Component string          `json:"component"`
	Time      json.RawMessage `json:"time"`
	ID        string          `json:"id"`
	Summary   string          `json:"summary"`
}

// ReadChanges reads a JSON array of changes.
func ReadChanges(r io.Reader, name string) ([]rca.Change, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	lineAt := func(off int64) int { return 1 + bytes.Count(data[:min(int(off), len(data))], []byte{'\n'}) }
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, fmt.Errorf("%s:%d: want a JSON array of changes", name, lineAt(dec.InputOffset()))
	}
	var out []rca.Change
	for dec.More() {
		line := lineAt(elementStart(data, dec.InputOffset()))
		var c change
		if err := dec.Decode(&c); err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				line = lineAt(se.Offset)
			}
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		t, err := parseChangeTime(c.Time)
		switch {
		case err != nil:
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		case c.Component == "":
			return nil, fmt.Errorf("%s:%d: component is required", name, line)
		case c.ID == "":
			return nil, fmt.Errorf("%s:%d: id is required", name, line)
		}
		out = append(out, rca.Change{ID: c.ID, Component: c.Component, Time: t, Summary: c.Summary})
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, lineAt(dec.InputOffset()), err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%s:%d: unexpected data after the array", name, lineAt(dec.InputOffset()))
	}
	return out, nil
}

// elementStart skips the separator between the decoder's offset, which sits
// at the end of the previous token, and the next array element.
func elementStart(data []byte, off int64) int64 {
	for off < int64(len(data)) && strings.IndexByte(" \t\r\n,", data[off]) >= 0 {
		off++
	}
	return off
}

// parseChangeTime accepts unix seconds or an RFC 3339 string.
func parseChangeTime(raw json.RawMessage) (int64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, errors.New("time is required")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return 0, fmt.Errorf("time %q is not RFC 3339", s)
		}
		return t.Unix(), nil
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		return 0, fmt.Errorf("time %s is neither unix seconds nor an RFC 3339 string", raw)
	}
	return int64(f), nil
}
