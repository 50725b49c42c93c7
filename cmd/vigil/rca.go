package main

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/analyzers/rca"
	"github.com/vigilops/vigil/internal/rcainput"
)

// rcaOutput is what vigil rca prints.
type rcaOutput struct {
	Ranking []rcaCandidate `json:"ranking"`
}

type rcaCandidate struct {
	Component string      `json:"component"`
	Score     float64     `json:"score"`
	Factors   []rcaFactor `json:"factors"`
}

type rcaFactor struct {
	Name         string   `json:"name"`
	Weight       float64  `json:"weight"`
	Value        float64  `json:"value"`
	Contribution float64  `json:"contribution"`
	Evidence     []string `json:"evidence"`
}

func newRCACmd() *cobra.Command {
	var files rcainput.Files
	var onset string
	var top int
	var explain bool
	cmd := &cobra.Command{
		Use:   "rca --metrics metrics.csv (--onset T | --baseline baseline.csv) [flags]",
		Short: "Rank the likely root causes of an incident from files, with the reasons",
		Long: `Ranks every component named in the metrics by how likely it is the root cause, as
Vigil does for a live incident, and prints the ranking as JSON, best first: each
candidate's score and the factors behind it (anomaly, onset, graph, change, logs),
each with its weight, value in [0, 1], contribution to the score and evidence ids.

The input is the generic root-cause input:
  --metrics    CSV: timestamp (unix seconds), then one column per series named
               <component>/<metric>; empty cells are missing values
  --onset      when the incident started (unix seconds or RFC 3339); samples from
               then on are the incident, earlier ones the reference
  --baseline   CSV like --metrics recorded during normal operation
  --symptom    the alerted series, <component>/<metric>
  --edges      CSV with the header caller,callee: who depends on whom
  --changes    JSON array of {"component", "time", "id", "summary"}: deploys, edits
At least one of --onset and --baseline is required.

--explain prints, instead of the JSON, one line saying why the first candidate
beats the second: the factors that put it ahead, with their evidence.`,
		Example: `  vigil rca --metrics metrics.csv --onset 2026-11-24T03:00:00Z --edges edges.csv
  vigil rca --metrics metrics.csv --baseline normal.csv --symptom checkout/latency_p95 --top 3
  vigil rca --metrics metrics.csv --baseline normal.csv --edges edges.csv --explain`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if onset != "" {
				t, err := parseOnset(onset)
				if err != nil {
					return err
				}
				files.Onset = t
			}
			in, err := rcainput.Load(files)
			if err != nil {
				return err
			}
			cands := rca.Rank(in, rca.DefaultConfig())
			if explain {
				_, err := fmt.Fprintln(cmd.OutOrStdout(), rca.Explain(cands))
				return err
			}
			if top > 0 && len(cands) > top {
				cands = cands[:top]
			}
			out := rcaOutput{Ranking: make([]rcaCandidate, len(cands))}
			for i, c := range cands {
				rc := rcaCandidate{Component: c.Component, Score: round9(c.Score), Factors: make([]rcaFactor, len(c.Factors))}
				for j, f := range c.Factors {
					ev := f.Evidence
					if ev == nil {
						ev = []string{}
					}
					rc.Factors[j] = rcaFactor{Name: f.Name, Weight: f.Weight, Value: round9(f.Value), Contribution: round9(f.Contribution()), Evidence: ev}
				}
				out.Ranking[i] = rc
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		},
	}
	f := cmd.Flags()
	f.StringVar(&files.Metrics, "metrics", "", "metrics CSV (required)")
	f.StringVar(&onset, "onset", "", "incident start: unix seconds or RFC 3339")
	f.StringVar(&files.Baseline, "baseline", "", "baseline metrics CSV recorded during normal operation")
	f.StringVar(&files.Symptom, "symptom", "", "the alerted series, <component>/<metric>")
	f.StringVar(&files.Edges, "edges", "", "dependency edge list CSV (caller,callee)")
	f.StringVar(&files.Changes, "changes", "", "changes JSON array")
	f.IntVar(&top, "top", 0, "print only the best N candidates (0: all)")
	f.BoolVar(&explain, "explain", false, "print one line saying why the first candidate beats the second, instead of the JSON")
	_ = cmd.MarkFlagRequired("metrics")
	return cmd
}

// parseOnset reads unix seconds or an RFC 3339 time.
func parseOnset(s string) (int64, error) {
	if v, err := strconv.ParseInt(s, 10, 64); err == nil && v > 0 {
		return v, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.Unix(), nil
	}
	return 0, fmt.Errorf("--onset %q: want unix seconds or an RFC 3339 time (e.g. 2026-11-24T03:00:00Z)", s)
}

// round9 rounds to 1e-9, as rca does scores, so the JSON shows no
// floating-point noise.
func round9(v float64) float64 { return math.Round(v*1e9) / 1e9 }
