// Command vus measures Vigil's anomaly detector with range-based measures,
// beside NAB's own scoring (which is disputed: it rewards early detections
// in wide windows and counts every flagged row as a false positive).
//
//	go run ./bench/vus [--data DIR] [--synthetic N] [--seed S] [--max-buffer B] [--alpha A]
//
// Two corpora are scored. NAB: the 58 series of DIR (default
// $VIGIL_EXTERNAL/nab, else ../shared/external/nab from the repository root)
// with its combined_windows.json as the anomalous spans. Synthetic: N seeded
// series (default 10) of each anomaly type (spike, level shift, trend change,
// seasonality break, variance change), two weeks of 5-minute points with a
// daily wave and noise, each with one labelled anomaly; it is reported per
// type.
//
// For every corpus it prints:
//   - VUS-PR (Paparrizos et al., VLDB 2022), the volume under the range-PR
//     surface over buffer sizes 0..B (default 100 points), averaged over the
//     series that have anomalies. Threshold-free.
//   - range-F1 (Tatbul et al., NeurIPS 2018; flat bias, reciprocal
//     cardinality, recall existence weight A, default 0.2) at one threshold
//     for the whole corpus, the one that maximises the mean F1, as NAB picks
//     one threshold per profile.
//   - what the product sees at the default alert level: the share of
//     anomalies with an event inside their span, the median delay from span
//     start to that event, and events outside spans per 10,000 points.
//
// The detector sees each series once, in order, with anomaly.DefaultConfig;
// labels are read only by the scorer.
package main

import (
	"cmp"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/vigilops/vigil/analyzers/anomaly"
	"github.com/vigilops/vigil/bench/internal/external"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vus", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "", "NAB root holding data/ and labels/ (default $VIGIL_EXTERNAL/nab or ../shared/external/nab from the repo root); \"none\" skips NAB")
	perKind := fs.Int("synthetic", 10, "synthetic series per anomaly type (0 skips them)")
	seed := fs.Uint64("seed", 1, "seed of the synthetic series")
	maxBuffer := fs.Int("max-buffer", 100, "largest buffer, in points, of the VUS-PR surface")
	alpha := fs.Float64("alpha", 0.2, "weight of the existence reward in range recall, in [0, 1]")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || *perKind < 0 || *maxBuffer < 0 || *alpha < 0 || *alpha > 1 {
		fmt.Fprintf(stderr, "vus: bad arguments (want no positional arguments, --synthetic ≥ 0, --max-buffer ≥ 0, --alpha in [0, 1])\n")
		return 2
	}
	var corpora []corpus
	if *data != "none" {
		root := *data
		if root == "" {
			var err error
			if root, err = defaultDataDir(); err != nil {
				fmt.Fprintln(stderr, "vus:", err)
				return 1
			}
		}
		nab, err := loadNAB(root)
		if err != nil {
			fmt.Fprintln(stderr, "vus:", err)
			return 1
		}
		corpora = append(corpora, corpus{name: "NAB (" + strconv.Itoa(len(nab)) + " series)", series: nab})
	}
	if *perKind > 0 {
		syn := synthesize(*perKind, *seed)
		for _, k := range Kinds {
			var sub []Series
			for _, s := range syn {
				if s.Kind == k {
					sub = append(sub, s)
				}
			}
			corpora = append(corpora, corpus{name: "synthetic " + string(k), series: sub})
		}
	}
	var reports []report
	for _, c := range corpora {
		r, err := evaluate(c, *maxBuffer, *alpha)
		if err != nil {
			fmt.Fprintln(stderr, "vus:", err)
			return 1
		}
		reports = append(reports, r)
	}
	printReports(stdout, reports, *maxBuffer, *alpha)
	return 0
}

type corpus struct {
	name   string
	series []Series
}

// report is one corpus' measures.
type report struct {
	name      string
	series    int // series with anomalies
	vus       float64
	f1        RangePR
	threshold float64
	// at the default alert level
	hit, spans  int
	delay       float64 // median rows from span start to its first event; NaN if none
	falseEvents int
	normalRows  int
}

// evaluate runs the detector over every series of c and scores it.
func evaluate(c corpus, maxBuffer int, alpha float64) (report, error) {
	r := report{name: c.name}
	scores := make([][]float64, len(c.series))
	var pooled, vus, delays []float64
	for i, s := range c.series {
		sc, events, err := detect(s)
		if err != nil {
			return report{}, fmt.Errorf("%s: %w", s.Name, err)
		}
		scores[i] = sc
		pooled = append(pooled, sc...)
		inSpan := make([]bool, len(sc))
		for _, sp := range s.Spans {
			r.spans++
			for k := sp.Start; k <= sp.End; k++ {
				inSpan[k] = true
			}
			if k := slices.IndexFunc(events, func(e int) bool { return e >= sp.Start && e <= sp.End }); k >= 0 {
				r.hit++
				delays = append(delays, float64(events[k]-sp.Start))
			}
		}
		for k, in := range inSpan {
			if !in {
				r.normalRows++
				if slices.Contains(events, k) {
					r.falseEvents++
				}
			}
		}
		if len(s.Spans) > 0 {
			r.series++
			vus = append(vus, VUSPR(sc, s.Spans, maxBuffer))
		}
	}
	r.vus = mean(vus)
	r.delay = median(delays)
	// One threshold for the corpus: the one with the best mean range-F1.
	r.threshold = math.Inf(1)
	best := -1.0
	for _, t := range rankThresholds(pooled) {
		var p, rec, f1 []float64
		for i, s := range c.series {
			if len(s.Spans) == 0 {
				continue
			}
			m := rangePRAt(scores[i], s.Spans, t, alpha)
			p, rec, f1 = append(p, m.Precision), append(rec, m.Recall), append(f1, m.F1())
		}
		if f := mean(f1); f > best {
			best, r.threshold = f, t
			r.f1 = RangePR{Precision: mean(p), Recall: mean(rec)}
			r.f1.meanF1 = f
		}
	}
	return r, nil
}

// detect runs a fresh detector with the default configuration over s and
// returns every row's score and the rows that opened events.
func detect(s Series) ([]float64, []int, error) {
	d, err := anomaly.New(anomaly.DefaultConfig())
	if err != nil {
		return nil, nil, err
	}
	scores := make([]float64, len(s.Values))
	var events []int
	for i, v := range s.Values {
		scores[i] = d.Update(s.Times[i], v)
		if d.Explain().Event {
			events = append(events, i)
		}
	}
	return scores, events, nil
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

func printReports(w io.Writer, reports []report, maxBuffer int, alpha float64) {
	fmt.Fprintf(w, "anomaly.DefaultConfig (alert level %v); VUS-PR buffers 0..%d; range-F1 alpha %v at one threshold per corpus\n",
		anomaly.DefaultConfig().AlertLevel, maxBuffer, alpha)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "corpus\tseries\tVUS-PR\trange-F1\tprecision\trecall\tthreshold\thit at alert level\tmedian delay\tfalse events/10k")
	for _, r := range reports {
		delay := "-"
		if !math.IsNaN(r.delay) {
			delay = strconv.FormatFloat(r.delay, 'f', 0, 64)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t%.4f\t%d/%d\t%s\t%.2f\n", r.name, r.series, r.vus,
			r.f1.meanF1, r.f1.Precision, r.f1.Recall, r.threshold, r.hit, r.spans, delay,
			1e4*float64(r.falseEvents)/float64(max(r.normalRows, 1)))
	}
	tw.Flush()
}

// defaultDataDir is where the harness reads its data unless told.
func defaultDataDir() (string, error) { return external.Dir("--data", "nab") }

// nabTime is NAB's timestamp layout; label times may add fractional seconds.
const nabTime = "2006-01-02 15:04:05"

// loadNAB reads data/<category>/<file>.csv under root, in lexical order, and
// turns labels/combined_windows.json into spans of rows.
func loadNAB(root string) ([]Series, error) {
	b, err := os.ReadFile(filepath.Join(root, "labels", "combined_windows.json"))
	if err != nil {
		return nil, fmt.Errorf("read NAB labels: %w", err)
	}
	var windows map[string][][2]string
	if err := json.Unmarshal(b, &windows); err != nil {
		return nil, fmt.Errorf("parse NAB labels: %w", err)
	}
	paths, err := filepath.Glob(filepath.Join(root, "data", "*", "*.csv"))
	if err != nil || len(paths) == 0 {
		return nil, fmt.Errorf("no data/*/*.csv under %s (%v)", root, err)
	}
	slices.Sort(paths)
	var out []Series
	for _, p := range paths {
		name := filepath.Base(filepath.Dir(p)) + "/" + filepath.Base(p)
		s, err := readNAB(p)
		if err != nil {
			return nil, err
		}
		s.Name = name
		ws, ok := windows[name]
		if !ok {
			return nil, fmt.Errorf("%s: no entry in combined_windows.json", name)
		}
		row := make(map[int64]int, len(s.Times))
		for i, t := range s.Times {
			row[t] = i
		}
		for _, w := range ws {
			var sp [2]int
			for k := range w {
				t, err := time.Parse(nabTime, w[k])
				if err != nil {
					return nil, fmt.Errorf("%s: window %v: %w", name, w, err)
				}
				i, ok := row[t.Unix()]
				if !ok {
					return nil, fmt.Errorf("%s: window %v does not start and end on rows", name, w)
				}
				sp[k] = i
			}
			s.Spans = append(s.Spans, Span{sp[0], sp[1]})
		}
		slices.SortFunc(s.Spans, func(a, b Span) int { return cmp.Compare(a.Start, b.Start) })
		out = append(out, s)
	}
	return out, nil
}

func readNAB(path string) (Series, error) {
	fh, err := os.Open(path)
	if err != nil {
		return Series{}, err
	}
	defer fh.Close()
	recs, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		return Series{}, fmt.Errorf("%s: %w", path, err)
	}
	if len(recs) < 2 || len(recs[0]) < 2 || recs[0][0] != "timestamp" || recs[0][1] != "value" {
		return Series{}, fmt.Errorf("%s: want a timestamp,value header and rows", path)
	}
	var s Series
	for i, rec := range recs[1:] {
		t, err := time.Parse(nabTime, rec[0])
		if err != nil {
			return Series{}, fmt.Errorf("%s:%d: %w", path, i+2, err)
		}
		v, err := strconv.ParseFloat(rec[1], 64)
		if err != nil {
			return Series{}, fmt.Errorf("%s:%d: %w", path, i+2, err)
		}
		s.Times = append(s.Times, t.Unix())
		s.Values = append(s.Values, v)
	}
	return s, nil
}
