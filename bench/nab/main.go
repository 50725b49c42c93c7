// Command nab runs Vigil's streaming anomaly detector over the Numenta
// Anomaly Benchmark and scores the results with a Go port of NAB's scorer.
//
//	go run ./bench/nab [--data DIR] [--out DIR]
//	go run ./bench/nab [--data DIR] --score-only RESULTS_DIR
//	go run ./bench/nab [--data DIR] --alert-levels 0.45,0.5,0.55
//
// --data is NAB's root (data/, labels/); it defaults to $VIGIL_EXTERNAL/nab,
// else ../shared/external/nab from the repository root. Results are written
// in NAB's layout (OUT/<category>/vigil_<file>.csv with
// timestamp,value,anomaly_score), with per-file scores in
// OUT/vigil_<profile>_scores.csv. The score table goes to stdout and
// progress to stderr.
//
// --alert-levels runs the detector once per listed Config.AlertLevel (the
// score that opens an event and its hold; the rest of DefaultConfig
// unchanged), writes nothing, and prints the three profiles' scores per
// level, marking the level with the best reward-low-FP score: that is how
// the product's default alert level is chosen.
//
// The detector sees each series once, in order, with one configuration for
// the whole corpus (anomaly.DefaultConfig); labels are read only by the
// scorer.
package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vigilops/vigil/analyzers/anomaly"
	"github.com/vigilops/vigil/bench/internal/external"
)

// detectorName prefixes result files, as NAB's detector names do.
const detectorName = "vigil"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nab", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "", "NAB root holding data/ and labels/ (default $VIGIL_EXTERNAL/nab or ../shared/external/nab from the repo root)")
	out := fs.String("out", "", "directory for results (default: a new temporary directory)")
	scoreOnly := fs.String("score-only", "", "score an existing results directory laid out like NAB's results/<detector>/ instead of running the detector")
	levels := fs.String("alert-levels", "", "comma-separated alert levels to compare instead of writing results")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *levels != "" {
		ls, err := parseLevels(*levels)
		if err != nil {
			fmt.Fprintln(stderr, "nab: --alert-levels:", err)
			return 2
		}
		if err := sweep(*data, ls, stdout, stderr); err != nil {
			fmt.Fprintln(stderr, "nab:", err)
			return 1
		}
		return 0
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "nab: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if err := bench(*data, *out, *scoreOnly, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "nab:", err)
		return 1
	}
	return 0
}

func bench(data, out, scoreOnly string, stdout, stderr io.Writer) error {
	if data == "" {
		var err error
		if data, err = defaultDataDir(); err != nil {
			return err
		}
	}
	files, err := loadCorpus(data)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "loaded %d series from %s\n", len(files), data)

	dir := scoreOnly
	if dir == "" {
		if dir = out; dir == "" {
			if dir, err = os.MkdirTemp("", "vigil-nab-"); err != nil {
				return fmt.Errorf("results directory: %w", err)
			}
		}
		if err := detectCorpus(files, dir, stderr); err != nil {
			return err
		}
	}
	series, err := readResults(dir, files)
	if err != nil {
		return err
	}
	results := make([]Result, 0, len(Profiles))
	for _, p := range Profiles {
		r, err := scoreCorpus(series, p)
		if err != nil {
			return fmt.Errorf("profile %s: %w", p.Name, err)
		}
		results = append(results, r)
		if scoreOnly == "" {
			if err := writeScores(filepath.Join(dir, detectorName+"_"+p.Name+"_scores.csv"), r); err != nil {
				return err
			}
		}
	}
	printTable(stdout, dir, results)
	return nil
}

// defaultDataDir is where the harness reads its data unless told.
func defaultDataDir() (string, error) { return external.Dir("--data", "nab") }

// detectCorpus runs a fresh detector over every series and writes its
// scores under dir.
func detectCorpus(files []DataFile, dir string, stderr io.Writer) error {
	start := time.Now()
	points := 0
	for i, f := range files {
		scores, err := detect(f, anomaly.DefaultConfig())
		if err != nil {
			return err
		}
		if err := writeResults(dir, detectorName, f, scores); err != nil {
			return err
		}
		points += len(scores)
		fmt.Fprintf(stderr, "[%2d/%d] %-58s %6d points\n", i+1, len(files), f.Name, len(scores))
	}
	el := time.Since(start)
	fmt.Fprintf(stderr, "scored %d points in %v (including I/O) into %s\n", points, el.Round(time.Millisecond), dir)
	return nil
}

// detect runs one detector with cfg over a series, oldest row first, and
// returns its score for every row.
func detect(f DataFile, cfg anomaly.Config) ([]float64, error) {
	d, err := anomaly.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	scores := make([]float64, len(f.Values))
	for i, v := range f.Values {
		scores[i] = d.Update(f.Times[i].Unix(), v)
	}
	return scores, nil
}

// writeScores writes per-file scores like NAB's
// <detector>_<profile>_scores.csv.
func writeScores(path string, r Result) error {
	fh, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("scores: %w", err)
	}
	fmt.Fprintln(fh, "Detector,Profile,File,Threshold,Score,TP,TN,FP,FN,Total_Count")
	var tp, tn, fp, fn, total int
	for _, f := range r.Files {
		n := f.TP + f.TN + f.FP + f.FN
		fmt.Fprintf(fh, "%s,%s,%s,%s,%s,%d,%d,%d,%d,%d\n", detectorName, r.Profile.Name, f.Name,
			formatFloat(r.Threshold), formatFloat(f.Score), f.TP, f.TN, f.FP, f.FN, n)
		tp, tn, fp, fn, total = tp+f.TP, tn+f.TN, fp+f.FP, fn+f.FN, total+n
	}
	fmt.Fprintf(fh, "Totals,,,,%s,%d,%d,%d,%d,%d\n", formatFloat(r.Raw), tp, tn, fp, fn, total)
	if err := fh.Close(); err != nil {
		return fmt.Errorf("scores: %w", err)
	}
	return nil
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// printTable prints one line per profile: the normalised NAB score and what
// it is made of.
func printTable(w io.Writer, dir string, results []Result) {
	fmt.Fprintf(w, "NAB scores of %s\n", dir)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "profile\tscore\traw\tthreshold\twindows hit\tFP rows")
	for _, r := range results {
		hit, windows, fp := 0, 0, 0
		for _, f := range r.Files {
			hit, windows, fp = hit+f.WindowsHit, windows+f.Windows, fp+f.FP
		}
		th := "none"
		if !math.IsInf(r.Threshold, 1) {
			th = strconv.FormatFloat(r.Threshold, 'f', 4, 64)
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%s\t%d/%d\t%d\n", r.Profile.Name, r.Normalized, r.Raw, th, hit, windows, fp)
	}
	tw.Flush()
}

func parseLevels(list string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(list, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return nil, err
		}
		cfg := anomaly.DefaultConfig()
		cfg.AlertLevel = v
		if err := cfg.Validate(); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// sweep scores the corpus once per alert level and prints one row per level.
func sweep(data string, levels []float64, stdout, stderr io.Writer) error {
	if data == "" {
		var err error
		if data, err = defaultDataDir(); err != nil {
			return err
		}
	}
	files, err := loadCorpus(data)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "loaded %d series from %s\n", len(files), data)
	rows := make([][]Result, len(levels))
	bestLowFP := 0
	for i, level := range levels {
		cfg := anomaly.DefaultConfig()
		cfg.AlertLevel = level
		series := make([]Series, len(files))
		for k, f := range files {
			sc, err := detect(f, cfg)
			if err != nil {
				return err
			}
			series[k] = Series{Name: f.Name, Scores: sc, Windows: f.Windows}
		}
		for _, p := range Profiles {
			r, err := scoreCorpus(series, p)
			if err != nil {
				return fmt.Errorf("alert level %v, profile %s: %w", level, p.Name, err)
			}
			rows[i] = append(rows[i], r)
		}
		if rows[i][1].Normalized > rows[bestLowFP][1].Normalized {
			bestLowFP = i
		}
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "alert level")
	for _, p := range Profiles {
		fmt.Fprintf(tw, "\t%s", p.Name)
	}
	fmt.Fprintln(tw, "\t")
	for i, level := range levels {
		fmt.Fprintf(tw, "%v", level)
		for _, r := range rows[i] {
			fmt.Fprintf(tw, "\t%.2f", r.Normalized)
		}
		mark := ""
		if i == bestLowFP {
			mark = "best reward_low_FP_rate"
		}
		fmt.Fprintf(tw, "\t%s\n", mark)
	}
	return tw.Flush()
}
