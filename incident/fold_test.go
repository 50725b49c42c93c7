package incident

import (
	"slices"
	"testing"
	"time"
)

func TestApply(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	firing := Event{Fingerprint: "a", Status: AlertFiring, StartsAt: t0,
		Labels: map[string]string{"alertname": "DiskFull", "service": "db", "severity": "warning"}, Annotations: map[string]string{"summary": "93% full"}}
	critical := Event{Fingerprint: "b", Status: AlertFiring, StartsAt: t0.Add(-time.Minute), Labels: map[string]string{"alertname": "DiskFull", "service": "api", "severity": "critical"}}
	resolved := firing
	resolved.Status, resolved.EndsAt = AlertResolved, t0.Add(time.Hour)
	anomaly := Event{Kind: KindMetricAnomaly, Fingerprint: "m", StartsAt: t0, Summary: "latency high", Labels: map[string]string{"service": "web"}}
	merge := Event{Kind: KindMerge, Fingerprint: "merge:x", Labels: map[string]string{"into": "incident-2"}}
	tests := []struct {
		name     string
		events   []Event
		changed  []bool
		evidence int
		services []string
		severity string
	}{
		{"a new firing alert is evidence", []Event{firing}, []bool{true}, 1, []string{"db"}, "warning"},
		{"the same alert again changes nothing", []Event{firing, firing}, []bool{true, false}, 1, []string{"db"}, "warning"},
		{"resolving an alert changes its evidence", []Event{firing, resolved}, []bool{true, true}, 1, []string{"db"}, "warning"},
		{"a resolved alert never seen firing is ignored", []Event{resolved}, []bool{false}, 0, nil, ""},
		{"the worst severity wins", []Event{firing, critical}, []bool{true, true}, 2, []string{"api", "db"}, "critical"},
		{"a signal is evidence once", []Event{anomaly, anomaly}, []bool{true, false}, 1, []string{"web"}, ""},
		{"a merge notice is not evidence", []Event{merge}, []bool{false}, 0, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inc := Open("incident-1", "k", map[string]string{"alertname": "DiskFull"}, t0.Add(time.Hour))
			for i, e := range tt.events {
				if _, changed := inc.Apply(e); changed != tt.changed[i] {
					t.Errorf("event %d: changed = %v, want %v", i, changed, tt.changed[i])
				}
			}
			if len(inc.Evidence) != tt.evidence || !slices.Equal(inc.Services, tt.services) || inc.Severity != tt.severity {
				t.Errorf("evidence %d services %v severity %q, want %d %v %q", len(inc.Evidence), inc.Services, inc.Severity, tt.evidence, tt.services, tt.severity)
			}
		})
	}
}

func TestApplyResolvedAlertEndsItsEvidence(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	inc := Open("incident-1", "k", nil, t0.Add(time.Hour))
	e := Event{Fingerprint: "a", Status: AlertFiring, StartsAt: t0, Labels: map[string]string{"alertname": "X", "instance": "db-1", "severity": "critical"}, Annotations: map[string]string{"summary": "down"}}
	inc.Apply(e)
	if got := inc.Evidence[0].Summary; got != "X on db-1 (critical): down" {
		t.Errorf("summary %q", got)
	}
	inc.DateFromAlerts()
	if !inc.DetectedAt.Equal(t0) {
		t.Errorf("detected at %v, want the alert's start %v", inc.DetectedAt, t0)
	}
	e.Status, e.ReceivedAt = AlertResolved, t0.Add(2*time.Hour)
	inc.Apply(e)
	if inc.Firing() || !inc.Evidence[0].End.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("after resolving: firing %v, evidence ends %v; want ended when received", inc.Firing(), inc.Evidence[0].End)
	}
}

func TestRefreshStatus(t *testing.T) {
	now := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	pending := []Proposal{{ID: "P1", Status: ProposalPending}}
	tests := []struct {
		name        string
		inc         Incident
		remediating bool
		want        Status
	}{
		{"nothing yet", Incident{}, false, StatusOpen},
		{"acked", Incident{AckedAt: now}, false, StatusAcknowledged},
		{"a proposal waits", Incident{AckedAt: now, Proposals: pending}, false, StatusAwaitingApproval},
		{"escalated beats waiting", Incident{Escalated: true, Proposals: pending}, false, StatusEscalated},
		{"remediating beats escalated", Incident{Escalated: true}, true, StatusRemediating},
		{"resolved beats everything", Incident{ResolvedAt: now, Escalated: true, Proposals: pending}, true, StatusResolved},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.inc.RefreshStatus(tt.remediating)
			if tt.inc.Status != tt.want {
				t.Errorf("status %s, want %s", tt.inc.Status, tt.want)
			}
		})
	}
}
