package rca

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
)

// explainResolution is the smallest difference of contributions Explain
// mentions; it prints three decimals.
const explainResolution = 0.0005

// Explain says in one line why the first of a ranking beats the second: the
// factors that put it ahead, largest first, with their evidence, and the
// factor on which the second leads, if any; or, for equal scores, which
// evidence broke the tie.
func Explain(ranking []Candidate) string {
	switch {
	case len(ranking) == 0:
		return "no candidates"
	case ranking[0].Score == 0:
		return "nothing is anomalous: no candidate stands out"
	case len(ranking) == 1:
		return fmt.Sprintf("%s is the only candidate (score %.3f)", ranking[0].Component, ranking[0].Score)
	}
	a, b := ranking[0], ranking[1]
	if a.Score == b.Score {
		why := "identical evidence; by name"
		switch {
		case a.PeakZ != b.PeakZ:
			why = fmt.Sprintf("its anomaly is stronger (z %.3g vs %.3g)", a.PeakZ, b.PeakZ)
		case a.FirstAnomalous != b.FirstAnomalous:
			why = fmt.Sprintf("it went wrong first (%d vs %d)", a.FirstAnomalous, b.FirstAnomalous)
		case len(factorOf(a, FactorAnomaly).Evidence) != len(factorOf(b, FactorAnomaly).Evidence):
			why = "more of its series are anomalous"
		}
		return fmt.Sprintf("%s ties %s at %.3f and ranks first because %s", a.Component, b.Component, a.Score, why)
	}
	type gap struct {
		name string
		d    float64
		ev   []string
	}
	var gaps []gap
	for _, f := range a.Factors {
		d := f.Contribution() - factorOf(b, f.Name).Contribution()
		if math.Abs(d) < explainResolution {
			continue
		}
		ev := slices.Clone(f.Evidence)
		if f.Name == FactorAnomaly && d > 0 {
			ev = append(capped(ev, 1), fmt.Sprintf("z %.3g vs %.3g", a.PeakZ, b.PeakZ))
		}
		gaps = append(gaps, gap{f.Name, d, ev})
	}
	if len(gaps) == 0 {
		return fmt.Sprintf("%s ranks above %s by less than %.3f", a.Component, b.Component, explainResolution)
	}
	slices.SortStableFunc(gaps, func(x, y gap) int { return cmp.Compare(y.d, x.d) })
	var ahead []string
	for _, g := range gaps {
		if g.d <= 0 || len(ahead) == 2 {
			break
		}
		s := fmt.Sprintf("%s +%.3f", g.name, g.d)
		if len(g.ev) > 0 {
			s += " (" + strings.Join(g.ev, ", ") + ")"
		}
		ahead = append(ahead, s)
	}
	line := fmt.Sprintf("%s ranks above %s (%.3f vs %.3f): %s", a.Component, b.Component, a.Score, b.Score, strings.Join(ahead, ", "))
	if last := gaps[len(gaps)-1]; last.d < 0 {
		line += fmt.Sprintf("; %s leads on %s by %.3f", b.Component, last.name, -last.d)
	}
	return line
}
