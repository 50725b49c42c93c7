-- Signed checkpoints of the audit chain. Every commit of audit records writes one
-- (it signs the new head of the chain), and incident checkpoints also sign a
-- digest of one incident's records so that incident can be verified on its own.
-- body is the exact signed text and the source of truth; n, seq and incident_id
-- repeat it for lookups and are checked against it by `vigil audit verify`.
CREATE TABLE audit_checkpoints (
    n           INTEGER PRIMARY KEY,      -- 1, 2, … in signing order; a gap means one was deleted
    seq         INTEGER NOT NULL,         -- the last audit record it covers
    incident_id TEXT NOT NULL DEFAULT '', -- set on incident checkpoints
    key_id      TEXT NOT NULL,
    body        TEXT NOT NULL,
    signature   TEXT NOT NULL             -- base64 ed25519 signature over body
);
CREATE INDEX audit_checkpoints_by_incident ON audit_checkpoints (incident_id, n) WHERE incident_id <> '';

-- Timelines, postmortems and exports read one incident's records.
CREATE INDEX audit_by_incident ON audit (incident_id, seq);

-- Reports count events by time, and retention prunes by age.
CREATE INDEX events_by_received_at ON events (received_at);
