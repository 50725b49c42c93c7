-- Correlation. An alert whose group has no open incident joins an open incident
-- it is connected to (same window, services within reach in the dependency
-- graph); its group key then routes to that incident too.
CREATE TABLE incident_groups (
    group_key   TEXT NOT NULL,
    incident_id TEXT NOT NULL,
    PRIMARY KEY (group_key, incident_id)
);

-- When each incident's signals happened: the earliest and latest start of the
-- events it took in ('' until the first).
ALTER TABLE incidents ADD COLUMN first_signal_at TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN last_signal_at TEXT NOT NULL DEFAULT '';
UPDATE incidents SET
    first_signal_at = COALESCE((SELECT MIN(starts_at) FROM events e WHERE e.incident_id = incidents.id AND e.starts_at <> ''), ''),
    last_signal_at  = COALESCE((SELECT MAX(starts_at) FROM events e WHERE e.incident_id = incidents.id AND e.starts_at <> ''), '');

-- An incident found to be one with an earlier open incident is merged into it:
-- resolved here, its events and groups moved there.
ALTER TABLE incidents ADD COLUMN merged_into TEXT;
