// Command petshop measures rca.Rank on the PetShop root-cause dataset.
//
//	go run ./bench/petshop [--dataset DIR] [--out results.jsonl] [--explain N]
//
// It ranks every issue_* directory under DIR (any split, any scenario) with
// rca.DefaultConfig, writes one JSON line per issue
// {"issue": "<path relative to DIR>", "ranking": ["node", …]} and prints
// recall@1 and recall@3 against target.json's root_cause.node per scenario
// and alerted metric, and overall. --explain prints each issue's top N
// candidates with the factors behind their scores.
//
// An issue gives the ranking what an on-call tool would know: the metrics
// (each "<microservice>/<metric>_<statistic>" series), the call graph, the
// scenario's noissue recording as baseline when there is one, and the alert
// (target.json's target: node, metric, statistic and time, used as symptom
// and onset). The ground truth is only compared with the ranking.
//
// DIR defaults to $VIGIL_EXTERNAL/petshop/dataset, or to
// ../shared/external/petshop/dataset from the repository root.
package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/vigilops/vigil/analyzers/rca"
	"github.com/vigilops/vigil/bench/internal/external"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("petshop", flag.ContinueOnError)
	fl.SetOutput(stderr)
	dataset := fl.String("dataset", "", "PetShop dataset directory (default: $VIGIL_EXTERNAL or ../shared/external, + petshop/dataset)")
	out := fl.String("out", "", "write one JSON line per issue to this file")
	explain := fl.Int("explain", 0, "print the top `N` candidates of every issue with their factors")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if *dataset == "" {
		d, err := defaultDataset()
		if err != nil {
			fmt.Fprintln(stderr, "petshop:", err)
			return 1
		}
		*dataset = d
	}
	results, err := evaluate(*dataset, rca.DefaultConfig())
	if err != nil {
		fmt.Fprintln(stderr, "petshop:", err)
		return 1
	}
	if *out != "" {
		if err := writeResults(*out, results); err != nil {
			fmt.Fprintln(stderr, "petshop:", err)
			return 1
		}
	}
	if *explain > 0 {
		printExplanations(stdout, results, *explain)
	}
	if err := printTable(stdout, summarize(results)); err != nil {
		fmt.Fprintln(stderr, "petshop:", err)
		return 1
	}
	return 0
}

// defaultDataset is where the harness reads its data unless told.
func defaultDataset() (string, error) { return external.Dir("--dataset", "petshop", "dataset") }

// result is one ranked issue.
type result struct {
	issue      issue
	ranking    []string
	candidates []rca.Candidate
}

func evaluate(dataset string, cfg rca.Config) ([]result, error) {
	issues, err := loadIssues(dataset)
	if err != nil {
		return nil, err
	}
	out := make([]result, len(issues))
	for i, is := range issues {
		cands := rca.Rank(is.Input, cfg)
		ranking := make([]string, len(cands))
		for j, c := range cands {
			ranking[j] = c.Component
		}
		out[i] = result{issue: is, ranking: ranking, candidates: cands}
	}
	return out, nil
}

func writeResults(path string, results []result) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for _, r := range results {
		line := struct {
			Issue   string   `json:"issue"`
			Ranking []string `json:"ranking"`
		}{r.issue.Path, r.ranking}
		if err := enc.Encode(line); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// row is recall over one group of issues.
type row struct {
	scenario, metric string
	n, hit1, hit3    int
}

func (r row) recall(hits int) float64 { return float64(hits) / float64(r.n) }

const overall = "overall"

// summarize groups results by scenario and metric, then adds a row per metric
// and one for everything; rows are sorted with the totals last.
func summarize(results []result) []row {
	groups := map[[2]string]*row{}
	add := func(scenario, metric string, r result) {
		k := [2]string{scenario, metric}
		g, ok := groups[k]
		if !ok {
			g = &row{scenario: scenario, metric: metric}
			groups[k] = g
		}
		g.n++
		if slices.Contains(r.ranking[:min(1, len(r.ranking))], r.issue.RootCause) {
			g.hit1++
		}
		if slices.Contains(r.ranking[:min(3, len(r.ranking))], r.issue.RootCause) {
			g.hit3++
		}
	}
	for _, r := range results {
		add(r.issue.Scenario, r.issue.Metric, r)
		add(overall, r.issue.Metric, r)
		add(overall, overall, r)
	}
	rows := make([]row, 0, len(groups))
	for _, g := range groups {
		rows = append(rows, *g)
	}
	rank := func(s string) int {
		if s == overall {
			return 1
		}
		return 0
	}
	slices.SortFunc(rows, func(x, y row) int {
		return cmp.Or(
			cmp.Compare(rank(x.scenario), rank(y.scenario)),
			strings.Compare(x.scenario, y.scenario),
			cmp.Compare(rank(x.metric), rank(y.metric)),
			strings.Compare(x.metric, y.metric),
		)
	})
	return rows
}

// printExplanations shows, per issue, the top n candidates the way a chat
// thread would: score, then each factor's weight × value and evidence.
func printExplanations(w io.Writer, results []result, n int) {
	for _, r := range results {
		fmt.Fprintf(w, "%s (%s on %s; root cause %s)\n", r.issue.Path, r.issue.Metric, r.issue.Input.Target.Component, r.issue.RootCause)
		fmt.Fprintf(w, "  %s\n", rca.Explain(r.candidates))
		for i, c := range r.candidates[:min(n, len(r.candidates))] {
			fmt.Fprintf(w, "  %d. %-50s %.3f\n", i+1, c.Component, c.Score)
			for _, f := range c.Factors {
				if f.Value == 0 {
					continue
				}
				fmt.Fprintf(w, "       %-8s %.2f × %.2f  %s\n", f.Name, f.Weight, f.Value, strings.Join(f.Evidence, ", "))
			}
		}
	}
}

func printTable(w io.Writer, rows []row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tmetric\tissues\trecall@1\trecall@3\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.2f\t%.2f\t\n", r.scenario, r.metric, r.n, r.recall(r.hit1), r.recall(r.hit3))
	}
	return tw.Flush()
}
