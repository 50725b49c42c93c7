package activities

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

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
// label, else the instance or job) by three explained factors: onset order (the
// component whose evidence started first scores 1, the last 0), the worst alert
// severity it shows, and the strongest anomaly or prediction score seen on it.
// Every factor cites the evidence behind it.
func (a *Activities) RankCauses(_ context.Context, in RankInput) ([]incident.Candidate, error) {
	type comp struct {
		first    int // position of its earliest evidence in onset order
		severity float64
		signal   float64
		evidence []string
		sevFrom  []string
		sigFrom  []string
	}
	inc := in.Incident
	ev := slices.Clone(inc.Evidence)
	slices.SortStableFunc(ev, func(x, y incident.Evidence) int { return x.Start.Compare(y.Start) })
	alertOf := map[string]incident.Alert{}
	for _, al := range inc.Alerts {
		alertOf[al.EvidenceID] = al
	}
	comps := map[string]*comp{}
	for i, e := range ev {
		name := cmp.Or(e.Data["service"], e.Data["instance"], e.Data["job"])
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
	return out, nil
}
