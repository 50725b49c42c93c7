package review

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/store"
)

// trail builds audit records the way the workflows write them.
type trail struct {
	id   string
	seq  *int64 // shared by trails, as the chain is
	recs []audit.Record
}

func (tr *trail) add(at time.Time, actor, action string, details map[string]any) {
	*tr.seq++
	b, err := json.Marshal(details)
	if err != nil {
		panic(err)
	}
	tr.recs = append(tr.recs, audit.Record{
		Seq: *tr.seq, Key: fmt.Sprintf("%s/%d", tr.id, len(tr.recs)+1), Incident: tr.id,
		At: at.UTC().Format(time.RFC3339Nano), Actor: actor, Action: action, Details: b,
	})
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

var (
	alice = map[string]any{"user": "alice", "display_name": "Alice Ng", "surface": "slack", "verification": "slack request signature"}
	bob   = map[string]any{"user": "bob", "surface": "console", "verification": "console session"}
	carol = map[string]any{"user": "carol", "surface": "api", "verification": "api token"}
)

// diskIncident resolved when an approved runbook succeeded, after a rejection,
// an ack and a note; a metric anomaly brought a series.
func diskIncident(seq *int64) Source {
	id := "incident-7-diskfillingup-db"
	tr := &trail{id: id, seq: seq}
	labels1 := map[string]any{"alertname": "DiskFillingUp", "service": "db", "instance": "db-1", "severity": "critical"}
	labels2 := map[string]any{"alertname": "DiskFillingUp", "service": "db", "instance": "db-2", "severity": "critical"}
	tr.add(at("2026-11-24T03:00:05Z"), "system:ingest", "incident.opened", map[string]any{"title": "DiskFillingUp on db", "alerts": 2})
	tr.add(at("2026-11-24T03:00:05Z"), "system:ingest", "alert.firing", map[string]any{"evidence": "E1", "fingerprint": "f1", "labels": labels1})
	tr.add(at("2026-11-24T03:00:05Z"), "system:ingest", "alert.firing", map[string]any{"evidence": "E2", "fingerprint": "f2", "labels": labels2})
	tr.add(at("2026-11-24T03:00:06Z"), "system:vigil", "candidates.ranked", map[string]any{"top": "db-1", "score": 0.82, "reason": "fired first | most alerts", "count": 2})
	tr.add(at("2026-11-24T03:00:06Z"), "system:vigil", "proposal.offered", map[string]any{
		"proposal": "P1", "runbook": "clean-temp-files", "revision": "abc123", "risk": "medium", "why": "matches DiskFillingUp with a path",
		"approvers": []string{"group:oncall"}, "plan": []string{"check-space: df -h /data", "delete-old-tmp: find /data -name '*.tmp' -delete"},
	})
	tr.add(at("2026-11-24T03:00:06Z"), "system:vigil", "proposal.offered", map[string]any{
		"proposal": "P2", "runbook": "collect-diagnostics", "risk": "low", "why": "read-only diagnostics", "approvers": []string{"group:oncall"},
	})
	tr.add(at("2026-11-24T03:01:30Z"), "system:signals", "evidence.added", map[string]any{"evidence": "E3"})
	tr.add(at("2026-11-24T03:02:00Z"), "user:alice", "incident.acked", map[string]any{"actor": alice})
	tr.add(at("2026-11-24T03:03:10Z"), "user:alice", "incident.note", map[string]any{"actor": alice, "text": "disk at 93%,\ntmp files from the nightly build"})
	tr.add(at("2026-11-24T03:04:06Z"), "user:bob", "decision.reject", map[string]any{"proposal": "P2", "runbook": "collect-diagnostics", "actor": bob, "comment": "not needed"})
	tr.add(at("2026-11-24T03:05:06Z"), "user:alice", "decision.approve", map[string]any{"proposal": "P1", "runbook": "clean-temp-files", "actor": alice, "comment": "go <now>"})
	run := id + "-run-1"
	tr.add(at("2026-11-24T03:05:07Z"), "system:vigil", "run.started", map[string]any{"run": run, "proposal": "P1", "runbook": "clean-temp-files"})
	tr.add(at("2026-11-24T03:05:08Z"), "system:vigil", "step.finished", map[string]any{"run": run, "step": "check-space", "type": "shell", "plan": "df -h /data", "attempt": 1, "status": "succeeded", "exit_code": 0, "duration_ms": 120})
	tr.add(at("2026-11-24T03:05:10Z"), "system:vigil", "step.finished", map[string]any{"run": run, "step": "delete-old-tmp", "type": "shell", "plan": "find /data -name '*.tmp' -delete", "attempt": 2, "status": "succeeded", "exit_code": 0, "duration_ms": 1850})
	tr.add(at("2026-11-24T03:05:12Z"), "system:vigil", "step.finished", map[string]any{"run": run, "step": "verify-space", "type": "verify", "plan": "disk below 80%", "status": "succeeded", "exit_code": 0, "duration_ms": 900})
	tr.add(at("2026-11-24T03:05:13Z"), "system:vigil", "run.finished", map[string]any{"run": run, "status": "succeeded"})
	tr.add(at("2026-11-24T03:05:13Z"), "system:vigil", "incident.resolved", map[string]any{"reason": "Runbook clean-temp-files (P1) succeeded."})
	tr.add(at("2026-11-24T03:07:00Z"), "system:ingest", "alert.resolved", map[string]any{"evidence": "E1", "fingerprint": "f1", "labels": labels1})
	tr.add(at("2026-11-24T03:07:30Z"), "system:ingest", "alert.resolved", map[string]any{"evidence": "E2", "fingerprint": "f2", "labels": labels2})

	series := &incident.Series{Name: "disk_used_ratio", Labels: map[string]string{"instance": "db-1"}}
	for i := range 10 {
		series.Times = append(series.Times, at("2026-11-24T02:58:00Z").Add(time.Duration(i)*time.Minute).Unix())
		series.Values = append(series.Values, []float64{0.71, 0.74, 0.8, 0.86, 0.91, 0.93, 0.93, 0.62, 0.61, 0.61}[i])
	}
	return Source{Audit: tr.recs, Incident: incident.Incident{
		ID: id, Title: "DiskFillingUp on db", Severity: "critical", Status: incident.StatusResolved,
		Reason: "Runbook clean-temp-files (P1) succeeded.", Services: []string{"db"},
		Alerts: []incident.Alert{{Fingerprint: "f1", Status: "resolved", Labels: map[string]string{"alertname": "DiskFillingUp", "service": "db"}, EvidenceID: "E1"}},
		Evidence: []incident.Evidence{
			{ID: "E1", Kind: incident.KindAlert, Summary: "DiskFillingUp on db-1 (critical): disk 93% full", Start: at("2026-11-24T03:00:00Z"), End: at("2026-11-24T03:06:50Z")},
			{ID: "E2", Kind: incident.KindAlert, Summary: "DiskFillingUp on db-2 (critical)", Start: at("2026-11-24T03:00:02Z")},
			{ID: "E3", Kind: incident.KindMetricAnomaly, Summary: "disk_used_ratio on db-1 rose 0.7 → 0.93", Start: at("2026-11-24T03:01:00Z"), Series: series},
		},
		Candidates: []incident.Candidate{
			{Component: "db-1", Score: 0.82, Reason: "fired first | most alerts"},
			{Component: "db-2", Score: 0.41, Reason: "fired second"},
		},
		Proposals: []incident.Proposal{
			{ID: "P1", RunbookID: "clean-temp-files", Title: "Delete old *.tmp files", Risk: "medium", Why: "matches DiskFillingUp with a path", Status: incident.ProposalSucceeded},
			{ID: "P2", RunbookID: "collect-diagnostics", Title: "Collect diagnostics", Risk: "low", Status: incident.ProposalRejected, Outcome: "rejected by bob"},
		},
		DetectedAt: at("2026-11-24T03:00:00Z"), ResolvedAt: at("2026-11-24T03:05:13Z"),
	}}
}

// latencyIncident is still escalated: its runbook failed after an approval that
// took ten minutes, with no acknowledgement before it.
func latencyIncident(seq *int64) Source {
	id := "incident-8-highlatency-checkout"
	tr := &trail{id: id, seq: seq}
	run := id + "-run-1"
	tr.add(at("2026-11-23T14:10:30Z"), "system:ingest", "incident.opened", map[string]any{"alerts": 1})
	tr.add(at("2026-11-23T14:10:30Z"), "system:ingest", "alert.firing", map[string]any{"evidence": "E1", "labels": map[string]any{"alertname": "HighLatency", "service": "checkout"}})
	tr.add(at("2026-11-23T14:10:31Z"), "system:vigil", "candidates.ranked", map[string]any{"top": "checkout-db", "score": 0.64, "reason": "latency follows db saturation", "count": 3})
	tr.add(at("2026-11-23T14:10:31Z"), "system:vigil", "proposal.offered", map[string]any{"proposal": "P1", "runbook": "restart-checkout", "risk": "high", "approvers": []string{"user:carol"}})
	tr.add(at("2026-11-23T14:20:31Z"), "user:carol", "decision.approve", map[string]any{"proposal": "P1", "runbook": "restart-checkout", "actor": carol})
	tr.add(at("2026-11-23T14:20:32Z"), "system:vigil", "run.started", map[string]any{"run": run, "proposal": "P1", "runbook": "restart-checkout"})
	tr.add(at("2026-11-23T14:20:40Z"), "system:vigil", "step.finished", map[string]any{"run": run, "step": "restart", "type": "shell", "plan": "systemctl restart checkout", "status": "failed", "exit_code": 1, "duration_ms": 7900, "error": "unit not found"})
	tr.add(at("2026-11-23T14:20:41Z"), "system:vigil", "run.finished", map[string]any{"run": run, "status": "failed", "reason": "step restart failed (exit 1)"})
	tr.add(at("2026-11-23T14:20:41Z"), "system:vigil", "incident.escalated", map[string]any{"reason": "Runbook restart-checkout (P1) failed. A human needs to look.", "mentioned": []string{"group:oncall"}})
	return Source{Audit: tr.recs, Incident: incident.Incident{
		ID: id, Title: "HighLatency on checkout", Severity: "warning", Status: incident.StatusEscalated, Services: []string{"checkout"},
		Reason:     "Runbook restart-checkout (P1) failed. A human needs to look.",
		Evidence:   []incident.Evidence{{ID: "E1", Kind: incident.KindAlert, Summary: "HighLatency on checkout (warning)", Start: at("2026-11-23T14:10:00Z")}},
		Proposals:  []incident.Proposal{{ID: "P1", RunbookID: "restart-checkout", Title: "Restart checkout", Risk: "high", Status: incident.ProposalFailed}},
		DetectedAt: at("2026-11-23T14:10:00Z"),
	}}
}

// earlierIncident is from the previous window: alerts resolved on their own.
func earlierIncident(seq *int64) Source {
	id := "incident-3-diskfillingup-db"
	tr := &trail{id: id, seq: seq}
	tr.add(at("2026-11-01T09:00:10Z"), "system:ingest", "incident.opened", map[string]any{"alerts": 1})
	tr.add(at("2026-11-01T09:00:10Z"), "system:ingest", "alert.firing", map[string]any{"evidence": "E1"})
	tr.add(at("2026-11-01T09:30:10Z"), "system:ingest", "alert.resolved", map[string]any{"evidence": "E1"})
	tr.add(at("2026-11-01T09:30:10Z"), "system:ingest", "incident.resolved", map[string]any{"reason": "Every alert of this incident has resolved."})
	return Source{Audit: tr.recs, Incident: incident.Incident{
		ID: id, Title: "DiskFillingUp on db", Severity: "critical", Status: incident.StatusResolved, Services: []string{"db"},
		DetectedAt: at("2026-11-01T09:00:00Z"), ResolvedAt: at("2026-11-01T09:30:10Z"),
	}}
}

func reportInput() ReportInput {
	var seq int64
	prev := earlierIncident(&seq)
	return ReportInput{
		Query:     Query{Since: at("2026-11-10T00:00:00Z"), Until: at("2026-11-24T12:00:00Z")},
		Incidents: []Source{latencyIncident(&seq), diskIncident(&seq)},
		Previous:  []Source{prev},
		Events: []store.EventCount{
			{Service: "checkout", Status: "firing", Count: 4}, {Service: "db", Status: "firing", Count: 5},
			{Service: "db", Status: "resolved", Count: 3}, {Service: "", Status: "firing", Count: 1},
		},
		PrevEvents: []store.EventCount{{Service: "db", Status: "firing", Count: 2}},
	}
}
