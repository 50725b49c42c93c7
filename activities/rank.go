package activities

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/vigilops/vigil/analyzers/rca"
	"github.com/vigilops/vigil/incident"
)

// RankInput is the incident whose causes to rank.
type RankInput struct {
	Incident incident.Incident
}

// severityWeight orders Alertmanager's conventional severities.
var severityWeight = map[string]float64{"critical": 1, "error": 0.8, "warning": 0.5, "info": 0.2}

// Weights of RankCauses' factors; they sum to 1 so a score reads as a share.
const (
	wOnset    = 0.5
	wSeverity = 0.3
	wSignal   = 0.2
)

// RankCauses ranks the components named by the incident's evidence (the service
// label, else the instance or job).
//
// An incident of alerts only is ranked by three explained factors: onset order
// (the component whose evidence started first scores 1, the last 0), the worst
// alert severity it shows, and the strongest anomaly or prediction score seen on
// it. Once the evidence holds metric series, changes or log anomalies, the
// root-cause analyzer (analyzers/rca: anomaly magnitude, onset within the
// series, position in the dependency graph, proximity to a change, log
// novelty) carries most of the weight, next to onset order and alert severity.
// Every factor cites the evidence behind it, and the weights sum to 1.
func (a *Activities) RankCauses(_ context.Context, in RankInput) ([]incident.Candidate, error) {
	heur := rankByEvidence(in.Incident)
	rin, names, ok := rcaInput(in.Incident, a.Dependencies)
	if !ok {
		return heur, nil
	}
	return combine(rca.Rank(rin, rca.DefaultConfig()), heur, names), nil
}

// rankByEvidence is the ranking from evidence alone: onset order, alert
// severity and anomaly score.
func rankByEvidence(inc incident.Incident) []incident.Candidate {
	type comp struct {
		first    int // position of its earliest evidence in onset order
		severity float64
		signal   float64
		evidence []string
		sevFrom  []string
		sigFrom  []string
	}
	ev := slices.Clone(inc.Evidence)
	slices.SortStableFunc(ev, func(x, y incident.Evidence) int { return x.Start.Compare(y.Start) })
	alertOf := map[string]incident.Alert{}
	for _, al := range inc.Alerts {
		alertOf[al.EvidenceID] = al
	}
	comps := map[string]*comp{}
	for i, e := range ev {
		name := component(e)
		if name == "" {
			continue
		}
		c := comps[name]
		if c == nil {
			c = &comp{first: i}
			comps[name] = c
		}
		c.evidence = append(c.evidence, e.ID)
		if al, ok := alertOf[e.ID]; ok {
			if w := severityWeight[al.Labels["severity"]]; w > 0 {
				c.severity = max(c.severity, w)
				c.sevFrom = append(c.sevFrom, e.ID)
			}
			continue
		}
		if e.Kind == incident.KindMetricAnomaly || e.Kind == incident.KindLogAnomaly || e.Kind == incident.KindPredicted {
			if e.Value > 0 {
				c.signal = max(c.signal, min(e.Value, 1))
				c.sigFrom = append(c.sigFrom, e.ID)
			}
		}
	}
	var out []incident.Candidate
	for _, name := range slices.Sorted(maps.Keys(comps)) {
		c := comps[name]
		onset := 1.0
		if len(ev) > 1 {
			onset = 1 - float64(c.first)/float64(len(ev)-1)
		}
		reason := fmt.Sprintf("evidence %s", strings.Join(c.evidence, ", "))
		if c.first == 0 {
			reason = "first to show trouble; " + reason
		}
		out = append(out, incident.Candidate{
			Component: name,
			Score:     wOnset*onset + wSeverity*c.severity + wSignal*c.signal,
			Reason:    reason,
			Factors: []incident.Factor{
				{Name: "onset order", Weight: wOnset, Value: onset, Evidence: c.evidence[:1]},
				{Name: "alert severity", Weight: wSeverity, Value: c.severity, Evidence: c.sevFrom},
				{Name: "anomaly score", Weight: wSignal, Value: c.signal, Evidence: c.sigFrom},
			},
		})
	}
	slices.SortStableFunc(out, func(x, y incident.Candidate) int { return cmp.Compare(y.Score, x.Score) })
	return out
}

// Weights of the combined ranking: the analyzer's score, and from the evidence
// onset order and alert severity (its anomaly score is the analyzer's anomaly).
const (
	wRCA           = 0.65
	wEvidenceOnset = 0.2
	wAlertSev      = 0.15
)

// component names the component evidence is about.
func component(e incident.Evidence) string {
	return cmp.Or(e.Data["service"], e.Data["instance"], e.Data["job"])
}

// rcaInput builds the analyzer's input from the evidence: metric windows of
// anomalies and predictions, changes, log anomalies, the configured
// dependencies, and the earliest evidence as the onset and symptom. names maps
// the analyzer's series names back to evidence ids. ok is false when the
// evidence holds nothing the analyzer can use beyond alerts.
func rcaInput(inc incident.Incident, deps [][2]string) (in rca.Input, names map[string]string, ok bool) {
	names = map[string]string{}
	var first *incident.Evidence
	for i := range inc.Evidence {
		e := &inc.Evidence[i]
		comp := component(*e)
		if comp == "" {
			continue
		}
		if first == nil || e.Start.Before(first.Start) {
			first = e
		}
		switch e.Kind {
		case incident.KindMetricAnomaly, incident.KindPredicted:
			if e.Series == nil || len(e.Series.Times) == 0 {
				continue
			}
			s := rca.Series{Component: comp, Metric: cmp.Or(e.Series.Name, "value"), Times: e.Series.Times, Values: e.Series.Values}
			if _, dup := names[s.Name()]; dup {
				continue // one window per component and metric: the first seen
			}
			names[s.Name()] = e.ID
			in.Series = append(in.Series, s)
		case incident.KindChange:
			in.Changes = append(in.Changes, rca.Change{ID: e.ID, Component: comp, Time: e.Start.Unix(), Summary: e.Summary})
		case incident.KindLogAnomaly:
			in.Logs = append(in.Logs, rca.LogSignal{Component: comp, Novelty: e.Value, ID: e.ID})
		}
	}
	if len(in.Series)+len(in.Changes)+len(in.Logs) == 0 {
		return in, names, false
	}
	in.Edges = deps
	if first != nil {
		in.Onset = first.Start.Unix()
		in.Target = rca.Symptom{Component: component(*first)}
		if first.Series != nil {
			in.Target.Metric = first.Series.Name
		}
	}
	return in, names, true
}

// combine merges the analyzer's ranking with onset order and alert severity
// from the evidence ranking, for every component either one names.
func combine(ranked []rca.Candidate, heur []incident.Candidate, names map[string]string) []incident.Candidate {
	byName := map[string]*incident.Candidate{}
	var order []string
	get := func(comp string) *incident.Candidate {
		c := byName[comp]
		if c == nil {
			c = &incident.Candidate{Component: comp}
			byName[comp] = c
			order = append(order, comp)
		}
		return c
	}
	for _, rc := range ranked {
		c := get(rc.Component)
		for _, f := range rc.Factors {
			ev := make([]string, len(f.Evidence))
			for i, e := range f.Evidence {
				ev[i] = cmp.Or(names[e], e)
			}
			c.Factors = append(c.Factors, incident.Factor{Name: f.Name, Weight: wRCA * f.Weight, Value: f.Value, Evidence: ev})
		}
	}
	for _, h := range heur {
		c := get(h.Component)
		c.Reason = h.Reason
		for _, f := range h.Factors {
			switch f.Name {
			case "onset order":
				f.Weight = wEvidenceOnset
			case "alert severity":
				f.Weight = wAlertSev
			default:
				continue
			}
			c.Factors = append(c.Factors, f)
		}
	}
	out := make([]incident.Candidate, 0, len(order))
	for _, comp := range order {
		c := byName[comp]
		top := ""
		best := 0.0
		for _, f := range c.Factors {
			c.Score += f.Weight * f.Value
			if f.Weight*f.Value > best {
				best, top = f.Weight*f.Value, f.Name
			}
		}
		c.Score = math.Round(c.Score*1e9) / 1e9
		if top != "" {
			c.Reason = strings.TrimPrefix(c.Reason+"; strongest factor: "+top, "; ")
		}
		out = append(out, *c)
	}
	slices.SortStableFunc(out, func(x, y incident.Candidate) int {
		return cmp.Or(cmp.Compare(y.Score, x.Score), cmp.Compare(x.Component, y.Component))
	})
	return out
}
