-- Alerts by fingerprint: the latest known state of every alert ever seen, and the
-- incident it belongs to. Drives deduplication.
CREATE TABLE alerts (
    fingerprint TEXT PRIMARY KEY,
    status      TEXT NOT NULL,
    starts_at   TEXT NOT NULL,
    incident_id TEXT,
    updated_at  TEXT NOT NULL
);

-- Events: every accepted signal change, append-only. An event with an incident and
-- no delivered_at is in the outbox: the dispatcher signals it to the workflow.
CREATE TABLE events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id   TEXT,
    source        TEXT NOT NULL,
    kind          TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    status        TEXT NOT NULL,
    labels        TEXT NOT NULL,
    annotations   TEXT NOT NULL,
    starts_at     TEXT NOT NULL,
    ends_at       TEXT NOT NULL,
    generator_url TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    delivered_at  TEXT
);
CREATE INDEX events_outbox ON events (id) WHERE delivered_at IS NULL AND incident_id IS NOT NULL;
CREATE INDEX events_incident ON events (incident_id, id);

-- Incidents: one row per incident; state is the workflow's last saved projection.
CREATE TABLE incidents (
    id           TEXT PRIMARY KEY,
    num          INTEGER NOT NULL UNIQUE,
    group_key    TEXT NOT NULL,
    group_labels TEXT NOT NULL,
    status       TEXT NOT NULL,
    title        TEXT NOT NULL,
    severity     TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    version      INTEGER NOT NULL DEFAULT 0,
    state        TEXT
);
CREATE INDEX incidents_open_group ON incidents (group_key) WHERE status <> 'resolved';

-- Messages: the console's copy of every incident thread, keyed for idempotent posts.
CREATE TABLE messages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id TEXT NOT NULL,
    key         TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (incident_id, key)
);

-- Audit: an append-only hash chain. hash = sha256(canonical JSON of the record,
-- which includes prev_hash). key makes appends idempotent.
CREATE TABLE audit (
    seq         INTEGER PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    incident_id TEXT NOT NULL,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    details     TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);

-- Step runs: "started" is written before a step runs and "finished" after, so a
-- step interrupted by a crash is recognised and never silently re-run.
CREATE TABLE step_runs (
    key         TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL,
    run_id      TEXT NOT NULL,
    step_id     TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    result      TEXT
);
