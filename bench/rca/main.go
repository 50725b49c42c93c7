// Command rca measures rca.Rank on synthetic incidents of several service
// topologies, next to the N-Sigma and BARO baselines.
//
//	go run ./bench/rca [--cases N] [--split PART] [--fresh-seed S] [--misses MODE] [--explain ID]
//
// It generates N incidents (default 60) per topology, deterministically
// (see synth.go for what they contain), and ranks each:
//
//   - vigil: `vigil rca --metrics M --baseline B`, no onset, no graph;
//   - vigil+graph: the same with the call graph (--edges);
//   - vigil+symptom: with the graph and the gateway's p90 latency as symptom;
//   - n-sigma and baro: the published baselines (baselines.go), no graph.
//
// It prints AC@1 (the root cause ranked first) and Avg@5 (the mean of AC@1
// … AC@5) per topology and per fault kind, for the tuning part and the
// held-out part separately. The tuning part is the first 60% of the cases
// of the topologies chain, fanout, shared-db and queue; the held-out part is
// the rest of them and every case of shop and mesh, which took no part in
// tuning. The tuning-more part is more of the tuning topologies drawn with
// another seed (tuningMoreSeed), to tune on when the tuning part has too
// few misses left to learn from; the fresh part is every topology drawn
// with the seed --fresh-seed (default freshSeed), run once when the method
// is final.
//
// --misses MODE lists the cases of the selected split whose root cause MODE
// did not rank first; --explain ID prints that case's top candidates with
// their factors, as a chat thread would show them.
package main

import (
	"cmp"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/vigilops/vigil/analyzers/rca"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// datasetSeed fixes the dataset: every run generates the same incidents.
const datasetSeed = 19

// tuningShare is the share of each tuning topology's cases used for tuning.
const tuningShare = 0.6

// Split names.
const (
	splitTuning  = "tuning"
	splitMore    = "tuning-more"
	splitHeldOut = "held-out"
	splitFresh   = "fresh"
	splitAll     = "all"
)

// freshSeed generates the fresh part: incidents of every topology drawn
// with another seed, run for the first time when the method was final.
const freshSeed = datasetSeed + 1

// tuningMoreSeed generates the tuning-more part: tuningMorePerTopology
// incidents of each tuning topology, never of a held-out one.
const (
	tuningMoreSeed        = datasetSeed + 1000
	tuningMorePerTopology = 150
)

// method ranks one incident, best first.
type method struct {
	name string
	rank func(incident) []rca.Candidate
}

// methods are the columns of the report, in order.
var methods = []method{
	{"vigil", func(c incident) []rca.Candidate { return vigil(c, false, false) }},
	{"vigil+graph", func(c incident) []rca.Candidate { return vigil(c, true, false) }},
	{"vigil+symptom", func(c incident) []rca.Candidate { return vigil(c, true, true) }},
	{"n-sigma", func(c incident) []rca.Candidate { return asCandidates(nSigma(c.Input)) }},
	{"baro", func(c incident) []rca.Candidate { return asCandidates(baro(c.Input)) }},
}

// vigil ranks as `vigil rca` does: metrics and baseline, no onset, and
// optionally the call graph and the symptom.
func vigil(c incident, graph, symptom bool) []rca.Candidate {
	in := rca.Input{Series: c.Input.Series, Baseline: c.Input.Baseline}
	if graph {
		in.Edges = c.Input.Edges
	}
	if symptom {
		in.Target = c.Symptom
	}
	return rca.Rank(in, rca.DefaultConfig())
}

func asCandidates(names []string) []rca.Candidate {
	out := make([]rca.Candidate, len(names))
	for i, n := range names {
		out[i] = rca.Candidate{Component: n}
	}
	return out
}

func run(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("rca", flag.ContinueOnError)
	fl.SetOutput(stderr)
	cases := fl.Int("cases", 60, "incidents per topology")
	split := fl.String("split", splitAll, "which part to report: tuning, tuning-more, held-out, fresh or all")
	fresh := fl.Uint64("fresh-seed", freshSeed, "the `seed` of the fresh part")
	misses := fl.String("misses", "", "list the cases whose root cause `MODE` (a method name) did not rank first")
	explain := fl.String("explain", "", "print the top candidates of the case with this `ID` (e.g. chain/007)")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if *cases < 1 {
		fmt.Fprintln(stderr, "rca: --cases must be at least 1")
		return 2
	}
	if !slices.Contains([]string{splitTuning, splitMore, splitHeldOut, splitFresh, splitAll}, *split) {
		fmt.Fprintf(stderr, "rca: --split %q: want tuning, tuning-more, held-out, fresh or all\n", *split)
		return 2
	}
	if *misses != "" && !slices.ContainsFunc(methods, func(m method) bool { return m.name == *misses }) {
		fmt.Fprintf(stderr, "rca: --misses %q: not a method\n", *misses)
		return 2
	}
	parts := dataset(*cases, *fresh)
	if *explain != "" {
		for _, p := range parts {
			for _, c := range p.cases {
				if c.ID == *explain {
					printExplanation(stdout, c)
					return 0
				}
			}
		}
		fmt.Fprintf(stderr, "rca: no case %q\n", *explain)
		return 1
	}
	for _, p := range parts {
		if *split != splitAll && p.name != *split {
			continue
		}
		res := evaluate(p.cases)
		if *misses != "" {
			printMisses(stdout, res, *misses)
			continue
		}
		fmt.Fprintf(stdout, "%s: %d incidents\n", p.name, len(p.cases))
		if err := printTable(stdout, res); err != nil {
			fmt.Fprintln(stderr, "rca:", err)
			return 1
		}
		fmt.Fprintln(stdout)
	}
	return 0
}

// part is one split of the dataset.
type part struct {
	name  string
	cases []incident
}

// dataset generates every incident and splits it; the fresh part is drawn
// with freshSeed.
func dataset(perTopology int, freshSeed uint64) []part {
	tune := part{name: splitTuning}
	held := part{name: splitHeldOut}
	cut := int(tuningShare * float64(perTopology))
	for _, topo := range tuningTopologies {
		for i := range perTopology {
			c := generate(topo, i, datasetSeed)
			if i < cut {
				tune.cases = append(tune.cases, c)
			} else {
				held.cases = append(held.cases, c)
			}
		}
	}
	for _, topo := range heldOutTopologies {
		for i := range perTopology {
			held.cases = append(held.cases, generate(topo, i, datasetSeed))
		}
	}
	more := part{name: splitMore}
	for _, topo := range tuningTopologies {
		for i := range tuningMorePerTopology {
			c := generate(topo, i, tuningMoreSeed)
			c.ID = "more-" + c.ID
			more.cases = append(more.cases, c)
		}
	}
	fresh := part{name: splitFresh}
	for _, topo := range append(slices.Clone(tuningTopologies), heldOutTopologies...) {
		for i := range perTopology {
			c := generate(topo, i, freshSeed)
			c.ID = "fresh-" + c.ID
			fresh.cases = append(fresh.cases, c)
		}
	}
	return []part{tune, more, held, fresh}
}

// result is where each method ranked one incident's root cause: 1 for
// first, 0 when it did not rank it at all.
type result struct {
	c     incident
	ranks []int // per method
}

func evaluate(cases []incident) []result {
	out := make([]result, len(cases))
	for i, c := range cases {
		r := result{c: c, ranks: make([]int, len(methods))}
		for m, meth := range methods {
			cands := meth.rank(c)
			r.ranks[m] = 1 + slices.IndexFunc(cands, func(x rca.Candidate) bool { return x.Component == c.RootCause })
		}
		out[i] = r
	}
	return out
}

// acAt is the share of results whose root cause method m ranked in the top k.
func acAt(rs []result, m, k int) float64 {
	hits := 0
	for _, r := range rs {
		if r.ranks[m] >= 1 && r.ranks[m] <= k {
			hits++
		}
	}
	return float64(hits) / float64(len(rs))
}

// avgAt5 is the mean of AC@1 … AC@5.
func avgAt5(rs []result, m int) float64 {
	var s float64
	for k := 1; k <= 5; k++ {
		s += acAt(rs, m, k)
	}
	return s / 5
}

func printTable(w io.Writer, rs []result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "group\tn\t")
	for _, m := range methods {
		fmt.Fprintf(tw, "%s AC@1\tAvg@5\t", m.name)
	}
	fmt.Fprintln(tw)
	groups := func(key func(incident) string) {
		byKey := map[string][]result{}
		for _, r := range rs {
			byKey[key(r.c)] = append(byKey[key(r.c)], r)
		}
		keys := make([]string, 0, len(byKey))
		for k := range byKey {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			printRow(tw, k, byKey[k])
		}
	}
	groups(func(c incident) string { return "topology " + c.Topology })
	groups(func(c incident) string { return "fault " + c.Fault })
	printRow(tw, "all", rs)
	return tw.Flush()
}

func printRow(tw io.Writer, name string, rs []result) {
	fmt.Fprintf(tw, "%s\t%d\t", name, len(rs))
	for m := range methods {
		fmt.Fprintf(tw, "%.3f\t%.3f\t", acAt(rs, m, 1), avgAt5(rs, m))
	}
	fmt.Fprintln(tw)
}

func printMisses(w io.Writer, rs []result, name string) {
	m := slices.IndexFunc(methods, func(x method) bool { return x.name == name })
	slices.SortStableFunc(rs, func(x, y result) int { return cmp.Compare(x.c.ID, y.c.ID) })
	for _, r := range rs {
		if r.ranks[m] != 1 {
			fmt.Fprintf(w, "%s\t%s\troot %s ranked %d\n", r.c.ID, r.c.Fault, r.c.RootCause, r.ranks[m])
		}
	}
}

// printExplanation prints, for each Vigil mode, the top candidates of one
// case with their factors.
func printExplanation(w io.Writer, c incident) {
	fmt.Fprintf(w, "%s: %s fault on %s (onset %d, not given to the ranking)\n", c.ID, c.Fault, c.RootCause, c.Onset)
	for _, m := range methods[:3] {
		ranking := m.rank(c)
		fmt.Fprintf(w, "%s: %s\n", m.name, rca.Explain(ranking))
		for i, cand := range ranking[:min(6, len(ranking))] {
			fmt.Fprintf(w, "  %d. %-10s %.4f\n", i+1, cand.Component, cand.Score)
			for _, f := range cand.Factors {
				if f.Value != 0 {
					fmt.Fprintf(w, "       %-8s %.2f × %.4f  %s\n", f.Name, f.Weight, f.Value, strings.Join(f.Evidence, ", "))
				}
			}
		}
	}
}
