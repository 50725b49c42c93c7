package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// timeLayout is NAB's timestamp format. Parsing also accepts the fractional
// seconds the label file carries ("2014-04-10 07:15:00.000000").
const timeLayout = "2006-01-02 15:04:05"

// DataFile is one NAB series with its labelled windows.
type DataFile struct {
	Name    string // path under data/ with forward slashes, e.g. "realTraffic/speed_6005.csv"
	Times   []time.Time
	Values  []float64
	Windows []Window
}

// loadCorpus reads every data/<category>/<name>.csv under root and the
// windows of labels/combined_windows.json, in a stable (lexical) order.
func loadCorpus(root string) ([]DataFile, error) {
	labels, err := loadWindows(filepath.Join(root, "labels", "combined_windows.json"))
	if err != nil {
		return nil, err
	}
	paths, err := filepath.Glob(filepath.Join(root, "data", "*", "*.csv"))
	if err != nil {
		return nil, fmt.Errorf("list NAB data: %w", err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no data/*/*.csv under %s", root)
	}
	slices.Sort(paths)
	var files []DataFile
	for _, p := range paths {
		name := filepath.Base(filepath.Dir(p)) + "/" + filepath.Base(p)
		f, err := readData(p)
		if err != nil {
			return nil, err
		}
		f.Name = name
		spans, ok := labels[name]
		if !ok {
			return nil, fmt.Errorf("%s: no entry in combined_windows.json", name)
		}
		if f.Windows, err = windowRows(f.Times, spans); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		files = append(files, f)
	}
	return files, nil
}

// loadWindows reads NAB's combined_windows.json: data path → [[start, end]]
// timestamps.
func loadWindows(path string) (map[string][][2]time.Time, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read labels: %w", err)
	}
	var raw map[string][][2]string
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	out := make(map[string][][2]time.Time, len(raw))
	for name, spans := range raw {
		for _, s := range spans {
			var w [2]time.Time
			for k := range s {
				if w[k], err = time.Parse(timeLayout, s[k]); err != nil {
					return nil, fmt.Errorf("%s: window of %s: %w", path, name, err)
				}
			}
			out[name] = append(out[name], w)
		}
		if len(spans) == 0 {
			out[name] = nil
		}
	}
	return out, nil
}

// windowRows maps label windows to row indexes. NAB enters a window only on a
// row whose timestamp equals the window's start, so both ends must be rows of
// the file.
func windowRows(times []time.Time, spans [][2]time.Time) ([]Window, error) {
	index := make(map[time.Time]int, len(times))
	for i, t := range times {
		index[t] = i
	}
	ws := make([]Window, 0, len(spans))
	for _, s := range spans {
		a, okA := index[s[0]]
		b, okB := index[s[1]]
		if !okA || !okB {
			return nil, fmt.Errorf("window %s..%s does not start and end on rows of the file", s[0].Format(timeLayout), s[1].Format(timeLayout))
		}
		ws = append(ws, Window{Start: a, End: b})
	}
	slices.SortFunc(ws, func(x, y Window) int { return x.Start - y.Start })
	return ws, nil
}

// readData reads a timestamp,value CSV.
func readData(path string) (DataFile, error) {
	var f DataFile
	err := readCSV(path, []string{"timestamp", "value"}, func(rec []string) error {
		t, err := time.Parse(timeLayout, rec[0])
		if err != nil {
			return err
		}
		v, err := strconv.ParseFloat(rec[1], 64)
		if err != nil {
			return err
		}
		f.Times = append(f.Times, t)
		f.Values = append(f.Values, v)
		return nil
	})
	return f, err
}

// readCSV calls row with the named columns of every record of a CSV file
// with a header, in the order of cols.
func readCSV(path string, cols []string, row func([]string) error) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	r := csv.NewReader(fh)
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return fmt.Errorf("%s: header: %w", path, err)
	}
	idx := make([]int, len(cols))
	for k, c := range cols {
		if idx[k] = slices.Index(header, c); idx[k] < 0 {
			return fmt.Errorf("%s: no %q column in header %v", path, c, header)
		}
	}
	picked := make([]string, len(cols))
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for k, i := range idx {
			picked[k] = rec[i]
		}
		if err := row(picked); err != nil {
			return fmt.Errorf("%s:%d: %w", path, line, err)
		}
	}
}

// resultPath is where a detector's scores for data file name go, mirroring
// NAB's results/<detector>/<category>/<detector>_<file>.csv layout below dir.
func resultPath(dir, detector, name string) string {
	cat, file, _ := strings.Cut(name, "/")
	return filepath.Join(dir, cat, detector+"_"+file)
}

// writeResults writes a NAB results file (timestamp,value,anomaly_score) for
// f under dir.
func writeResults(dir, detector string, f DataFile, scores []float64) error {
	path := resultPath(dir, detector, f.Name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("results for %s: %w", f.Name, err)
	}
	fh, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("results for %s: %w", f.Name, err)
	}
	w := csv.NewWriter(fh)
	_ = w.Write([]string{"timestamp", "value", "anomaly_score"})
	for i := range scores {
		_ = w.Write([]string{
			f.Times[i].Format(timeLayout),
			strconv.FormatFloat(f.Values[i], 'g', -1, 64),
			strconv.FormatFloat(scores[i], 'g', -1, 64),
		})
	}
	w.Flush()
	if err := errors.Join(w.Error(), fh.Close()); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// readResults reads a detector's results for every data file from dir, which
// is laid out like NAB's results/<detector>/: <category>/<prefix><file>.csv,
// where the prefix (usually "<detector>_") is whatever precedes the data file
// name. Exactly one results file must match each data file, and its
// timestamps must be the data file's.
func readResults(dir string, files []DataFile) ([]Series, error) {
	out := make([]Series, 0, len(files))
	for _, f := range files {
		cat, file, _ := strings.Cut(f.Name, "/")
		entries, err := os.ReadDir(filepath.Join(dir, cat))
		if err != nil {
			return nil, fmt.Errorf("results for %s: %w", f.Name, err)
		}
		var match []string
		for _, e := range entries {
			n := e.Name()
			if n == file || strings.HasSuffix(n, "_"+file) {
				match = append(match, n)
			}
		}
		if len(match) != 1 {
			return nil, fmt.Errorf("results for %s: want one file named [<detector>_]%s in %s, found %d", f.Name, file, filepath.Join(dir, cat), len(match))
		}
		path := filepath.Join(dir, cat, match[0])
		s := Series{Name: f.Name, Windows: f.Windows, Scores: make([]float64, 0, len(f.Times))}
		err = readCSV(path, []string{"timestamp", "anomaly_score"}, func(rec []string) error {
			i := len(s.Scores)
			if i >= len(f.Times) {
				return fmt.Errorf("more rows than the data file's %d", len(f.Times))
			}
			t, err := time.Parse(timeLayout, rec[0])
			if err != nil {
				return err
			}
			if !t.Equal(f.Times[i]) {
				return fmt.Errorf("timestamp %s, data row has %s", rec[0], f.Times[i].Format(timeLayout))
			}
			v, err := strconv.ParseFloat(rec[1], 64)
			if err != nil {
				return err
			}
			s.Scores = append(s.Scores, v)
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(s.Scores) != len(f.Times) {
			return nil, fmt.Errorf("%s: %d rows, data file has %d", path, len(s.Scores), len(f.Times))
		}
		out = append(out, s)
	}
	return out, nil
}
