package store

import (
	"context"
	"fmt"
	"time"

	"github.com/vigilops/vigil/incident"
)

// Outcome is how one runbook fared in one incident.
type Outcome struct {
	IncidentID string
	RunbookID  string
	Service    string // the service the incident concerned; may be empty
	Outcome    string // incident.OutcomeSucceeded, incident.OutcomeFailed or incident.OutcomeRejected
	Revision   string // the runbook revision that ran or was rejected
	At         time.Time
}

// RecordOutcome stores o. It is idempotent by incident and runbook: recording the
// pair again replaces the earlier outcome, so a retried activity counts once and
// a runbook rejected and later run in the same incident counts by its run.
func (s *Store) RecordOutcome(ctx context.Context, o Outcome) error {
	switch {
	case o.IncidentID == "" || o.RunbookID == "":
		return fmt.Errorf("store: record outcome: incident and runbook are required (got %q, %q)", o.IncidentID, o.RunbookID)
	case o.Outcome != incident.OutcomeSucceeded && o.Outcome != incident.OutcomeFailed && o.Outcome != incident.OutcomeRejected:
		return fmt.Errorf("store: record outcome of %s in %s: outcome %q must be succeeded, failed or rejected", o.RunbookID, o.IncidentID, o.Outcome)
	}
	_, err := s.exec(ctx, `
		INSERT INTO runbook_outcomes (incident_id, runbook_id, service, outcome, revision, recorded_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (incident_id, runbook_id) DO UPDATE SET
			service = excluded.service, outcome = excluded.outcome, revision = excluded.revision, recorded_at = excluded.recorded_at`,
		o.IncidentID, o.RunbookID, o.Service, o.Outcome, o.Revision, ts(o.At))
	if err != nil {
		return fmt.Errorf("store: record outcome of %s in %s: %w", o.RunbookID, o.IncidentID, err)
	}
	return nil
}

// OutcomeStats counts a runbook's past outcomes.
type OutcomeStats struct {
	Succeeded int
	Failed    int
	Rejected  int
}

// Runs is how many times the runbook ran (succeeded or failed).
func (st OutcomeStats) Runs() int { return st.Succeeded + st.Failed }

// OutcomeStats counts the outcomes of runbookID on service, or on every service
// when service is empty.
func (s *Store) OutcomeStats(ctx context.Context, runbookID, service string) (OutcomeStats, error) {
	var st OutcomeStats
	err := s.db.QueryRowContext(ctx, `
		SELECT
			count(*) FILTER (WHERE outcome = 'succeeded'),
			count(*) FILTER (WHERE outcome = 'failed'),
			count(*) FILTER (WHERE outcome = 'rejected')
		FROM runbook_outcomes WHERE runbook_id = ? AND (? = '' OR service = ?)`,
		runbookID, service, service).Scan(&st.Succeeded, &st.Failed, &st.Rejected)
	if err != nil {
		return st, fmt.Errorf("store: outcome stats of %s on %q: %w", runbookID, service, err)
	}
	return st, nil
}
