package incident

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"
)

// The fold: how events become an incident's evidence and alerts, and how its
// status follows from the facts. It is pure, so the incident workflow and
// ingest's announcement of a new incident compute the same thing.

// Open is a new incident before any event, opened at now.
func Open(id, key string, groupLabels map[string]string, now time.Time) Incident {
	return Incident{ID: id, Key: key, GroupLabels: groupLabels, Title: TitleFor(groupLabels), Status: StatusOpen, DetectedAt: now}
}

// Apply folds one event into the incident and returns the id of the evidence
// it added or changed. It is idempotent: an event already reflected changes
// nothing and reports false. Merge notices are not evidence: Apply ignores
// them, and whoever runs the incident acts on them.
func (inc *Incident) Apply(e Event) (string, bool) {
	switch {
	case e.Kind == KindMerge:
		return "", false
	case e.Kind != "" && e.Kind != KindAlert:
		return inc.applySignal(e)
	}
	i := slices.IndexFunc(inc.Alerts, func(al Alert) bool { return al.Fingerprint == e.Fingerprint })
	if i < 0 {
		if e.Status != AlertFiring {
			return "", false
		}
		id := fmt.Sprintf("E%d", len(inc.Evidence)+1)
		inc.Alerts = append(inc.Alerts, Alert{
			Fingerprint: e.Fingerprint, Status: e.Status, Labels: e.Labels, Annotations: e.Annotations,
			StartsAt: e.StartsAt, GeneratorURL: e.GeneratorURL, EvidenceID: id,
		})
		inc.Evidence = append(inc.Evidence, Evidence{
			ID: id, Kind: KindAlert, Fingerprint: e.Fingerprint, Summary: alertSummary(e), Start: e.StartsAt, Data: e.Labels,
		})
		inc.refreshLabels()
		return id, true
	}
	al := &inc.Alerts[i]
	if al.Status == e.Status && al.StartsAt.Equal(e.StartsAt) {
		return al.EvidenceID, false
	}
	al.Status, al.StartsAt, al.EndsAt = e.Status, e.StartsAt, e.EndsAt
	if len(e.Annotations) > 0 {
		al.Annotations = e.Annotations
	}
	ev := &inc.Evidence[slices.IndexFunc(inc.Evidence, func(x Evidence) bool { return x.ID == al.EvidenceID })]
	ev.Start, ev.End = e.StartsAt, time.Time{}
	if e.Status == AlertResolved {
		ev.End = cmp.Or(e.EndsAt, e.ReceivedAt)
	}
	return al.EvidenceID, true
}

// applySignal adds a signal (anomaly, log burst, change, prediction, manual
// request) as evidence unless the same one is already there.
func (inc *Incident) applySignal(e Event) (string, bool) {
	if slices.ContainsFunc(inc.Evidence, func(ev Evidence) bool {
		return ev.Fingerprint == e.Fingerprint && ev.Start.Equal(e.StartsAt)
	}) {
		return "", false
	}
	id := fmt.Sprintf("E%d", len(inc.Evidence)+1)
	inc.Evidence = append(inc.Evidence, Evidence{
		ID: id, Kind: e.Kind, Fingerprint: e.Fingerprint, Summary: cmp.Or(e.Summary, string(e.Kind)),
		Start: e.StartsAt, End: e.EndsAt, Data: e.Labels, Value: e.Value, Series: e.Series, Examples: e.Examples,
	})
	inc.refreshLabels()
	return id, true
}

// alertSummary is the one line an alert's evidence shows:
// "alertname on instance (severity): summary".
func alertSummary(e Event) string {
	s := cmp.Or(e.Labels["alertname"], "alert")
	if inst := cmp.Or(e.Labels["instance"], e.Labels["service"]); inst != "" {
		s += " on " + inst
	}
	if sev := e.Labels["severity"]; sev != "" {
		s += " (" + sev + ")"
	}
	if sum := cmp.Or(e.Annotations["summary"], e.Annotations["description"]); sum != "" {
		s += ": " + sum
	}
	return s
}

var severityRank = map[string]int{"info": 1, "warning": 2, "error": 3, "critical": 4}

// refreshLabels recomputes the services (from every piece of evidence) and the
// worst severity (from the alerts).
func (inc *Incident) refreshLabels() {
	svcs := map[string]bool{}
	worst := ""
	for _, ev := range inc.Evidence {
		if s := ev.Data["service"]; s != "" {
			svcs[s] = true
		}
	}
	for _, al := range inc.Alerts {
		if sev := al.Labels["severity"]; severityRank[sev] > severityRank[worst] || worst == "" {
			worst = sev
		}
	}
	inc.Services = slices.Sorted(maps.Keys(svcs))
	inc.Severity = worst
}

// DateFromAlerts moves DetectedAt back to the earliest alert's start.
func (inc *Incident) DateFromAlerts() {
	for _, al := range inc.Alerts {
		if !al.StartsAt.IsZero() && al.StartsAt.Before(inc.DetectedAt) {
			inc.DetectedAt = al.StartsAt
		}
	}
}

// hasPending reports whether a proposal waits for a decision.
func (inc *Incident) hasPending() bool {
	return slices.ContainsFunc(inc.Proposals, func(p Proposal) bool { return p.Status == ProposalPending })
}

// RefreshStatus derives the status from the facts, most urgent first;
// remediating says a runbook of the incident is running.
func (inc *Incident) RefreshStatus(remediating bool) {
	switch {
	case !inc.ResolvedAt.IsZero():
		inc.Status = StatusResolved
	case remediating:
		inc.Status = StatusRemediating
	case inc.Escalated:
		inc.Status = StatusEscalated
	case inc.hasPending():
		inc.Status = StatusAwaitingApproval
	case !inc.AckedAt.IsZero():
		inc.Status = StatusAcknowledged
	default:
		inc.Status = StatusOpen
	}
}

// Announce is a new incident as its workflow's first post shows it for the
// same events, computed outside the workflow, so that ingest can announce the
// incident as soon as it is stored. An incident already merged into another
// is announced resolved with the merge's reason, as its workflow will resolve it.
func Announce(id, key string, groupLabels map[string]string, events []Event, now time.Time) Incident {
	inc := Open(id, key, groupLabels, now)
	for _, e := range events {
		inc.Apply(e)
	}
	inc.DateFromAlerts()
	for _, e := range events {
		if e.Kind == KindMerge && e.Labels["into"] != "" {
			inc.ResolvedAt, inc.Reason = now, e.Summary
		}
	}
	inc.RefreshStatus(false)
	return inc
}
