// Command loghub scores the logmine template miner on the Loghub 2k
// benchmark: for each system it mines the log with the system's header
// format and one shared miner configuration, then reports grouping accuracy
// (GA), parsing accuracy (PA, canonical, and ExactPA) and the pairwise
// precision, recall and F1 of the grouping against Loghub's labels, per
// system and as the mean.
//
//	go run ./bench/loghub [--data DIR] [--systems A,B] [--out DIR] [--explain N]
//
// The data folder defaults to $VIGIL_EXTERNAL/loghub2k, else
// ../shared/external/loghub2k beside the repository; it holds formats.json
// and <Sys>/<Sys>_2k.log with <Sys>_2k.log_structured.csv.
//
// GA counts a line when its parsed group holds exactly the lines of one true
// event. PA counts a line when its parsed template equals the true one after
// both are put in Loghub-2.0's canonical form (see canonicalTemplate);
// ExactPA when they are equal as written.
//
// --out writes <Sys>_structured.csv (LineId,EventId,EventTemplate; LineId
// from 1) per system so that any Loghub-style evaluator can score the parse.
// --explain prints the largest wrongly grouped templates of each system.
package main

import (
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/vigilops/vigil/analyzers/logmine"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loghub", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "", "Loghub 2k folder (default $VIGIL_EXTERNAL/loghub2k or ../shared/external/loghub2k beside the repository)")
	only := fs.String("systems", "", "comma-separated systems to run (default all in formats.json)")
	out := fs.String("out", "", "folder to write <Sys>_structured.csv files to")
	explain := fs.Int("explain", 0, "print the N largest wrongly grouped templates of each system")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	dir := *data
	if dir == "" {
		var err error
		if dir, err = defaultDataDir(); err != nil {
			fmt.Fprintln(stderr, "loghub:", err)
			return 1
		}
	}
	systems, err := loadFormats(filepath.Join(dir, "formats.json"))
	if err != nil {
		fmt.Fprintln(stderr, "loghub:", err)
		return 1
	}
	if *only != "" {
		want := strings.Split(*only, ",")
		systems = slices.DeleteFunc(systems, func(s system) bool { return !slices.Contains(want, s.Name) })
	}
	if *out != "" {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			fmt.Fprintln(stderr, "loghub:", err)
			return 1
		}
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "system\tlines\tunmatched\ttemplates\tGA\tPA\tExactPA\tprecision\trecall\tF1\t")
	var sum score
	for _, sys := range systems {
		res, err := evaluate(dir, sys)
		if err != nil {
			fmt.Fprintln(stderr, "loghub:", err)
			return 1
		}
		s := res.Score
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t\n",
			sys.Name, s.Lines, res.Unmatched, res.Templates, s.GA, s.PA, s.ExactPA, s.Precision, s.Recall, s.F1)
		sum.GA += s.GA
		sum.PA += s.PA
		sum.ExactPA += s.ExactPA
		sum.Precision += s.Precision
		sum.Recall += s.Recall
		sum.F1 += s.F1
		if *out != "" {
			if err := writeRows(filepath.Join(*out, sys.Name+"_structured.csv"), res.Rows); err != nil {
				fmt.Fprintln(stderr, "loghub:", err)
				return 1
			}
		}
		if *explain > 0 {
			defer explainErrors(stderr, sys.Name, res.Lines, *explain)
		}
	}
	if n := float64(len(systems)); n > 0 {
		fmt.Fprintf(tw, "mean\t\t\t\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t\n",
			sum.GA/n, sum.PA/n, sum.ExactPA/n, sum.Precision/n, sum.Recall/n, sum.F1/n)
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintln(stderr, "loghub:", err)
		return 1
	}
	return 0
}

// result is the outcome of mining one system.
type result struct {
	Score     score
	Unmatched int // lines that did not match the header format
	Templates int
	Rows      []logmine.StructuredRow
	Lines     []line
}

// evaluate mines one system with the default miner, through the same
// Structurer a CLI would use, and scores it. Each line is reported with its
// template's final text, looked up by the ID the miner gave the line.
func evaluate(dir string, sys system) (result, error) {
	logPath, truthPath := systemFiles(dir, sys.Name)
	format, err := logmine.ParseFormat(sys.Format)
	if err != nil {
		return result{}, fmt.Errorf("%s: %w", sys.Name, err)
	}
	raw, err := loadLines(logPath)
	if err != nil {
		return result{}, err
	}
	tr, err := loadTruth(truthPath)
	if err != nil {
		return result{}, err
	}
	if len(tr.EventIDs) != len(raw) {
		return result{}, fmt.Errorf("%s: %d log lines but %d labelled lines", sys.Name, len(raw), len(tr.EventIDs))
	}
	st := logmine.NewStructurer(format, logmine.DefaultConfig())
	for _, l := range raw {
		st.Add(l)
	}
	var res result
	_, res.Unmatched = st.Lines()
	res.Rows = st.Rows()
	res.Templates = len(st.Miner().Templates())
	res.Lines = make([]line, len(raw))
	for i, r := range res.Rows {
		res.Lines[i] = line{TrueID: tr.EventIDs[i], TrueTemplate: tr.Templates[i], ParsedID: r.EventID, Parsed: r.EventTemplate}
	}
	res.Score = scoreLines(res.Lines)
	return res, nil
}

// writeRows writes a structured file.
func writeRows(path string, rows []logmine.StructuredRow) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	w := csv.NewWriter(f)
	if err := w.Write(logmine.StructuredHeader()); err != nil {
		return err
	}
	for _, r := range rows {
		if err := w.Write(r.Record()); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}

// explainErrors prints the largest parsed groups that are not exactly one
// true event, with the true events they mix or split.
func explainErrors(w io.Writer, name string, lines []line, n int) {
	type group struct {
		id, template string
		trues        map[string]int
		size         int
	}
	groups := map[string]*group{}
	trueSize := map[string]int{}
	trueTpl := map[string]string{}
	for _, l := range lines {
		if l.TrueID == "" {
			continue
		}
		trueSize[l.TrueID]++
		trueTpl[l.TrueID] = l.TrueTemplate
		g := groups[l.ParsedID]
		if g == nil {
			g = &group{id: l.ParsedID, template: l.Parsed, trues: map[string]int{}}
			groups[l.ParsedID] = g
		}
		g.trues[l.TrueID]++
		g.size++
	}
	var wrong []*group
	for _, g := range groups {
		if len(g.trues) != 1 {
			wrong = append(wrong, g)
			continue
		}
		for id, c := range g.trues {
			if c != trueSize[id] {
				wrong = append(wrong, g)
			}
		}
	}
	slices.SortFunc(wrong, func(a, b *group) int {
		if a.size != b.size {
			return b.size - a.size
		}
		return strings.Compare(a.id, b.id)
	})
	fmt.Fprintf(w, "== %s: %d wrongly grouped templates\n", name, len(wrong))
	for i, g := range wrong {
		if i == n {
			break
		}
		fmt.Fprintf(w, "%s (%d lines) %s\n", g.id, g.size, g.template)
		ids := make([]string, 0, len(g.trues))
		for id := range g.trues {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			fmt.Fprintf(w, "    %s %d of %d: %s\n", id, g.trues[id], trueSize[id], trueTpl[id])
		}
	}
}
