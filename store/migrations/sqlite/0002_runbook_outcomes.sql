-- Runbook outcomes: how each runbook fared in each incident, by service, so that
-- proposals can be ranked by their past results. One row per incident and
-- runbook: recording again (a retry, or a later outcome) replaces the row.
CREATE TABLE runbook_outcomes (
    incident_id TEXT NOT NULL,
    runbook_id  TEXT NOT NULL,
    service     TEXT NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('succeeded', 'failed', 'rejected')),
    revision    TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (incident_id, runbook_id)
);
CREATE INDEX runbook_outcomes_stats ON runbook_outcomes (runbook_id, service);
