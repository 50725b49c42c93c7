-- Silences, created from the API or chat: while one is active, a new firing
-- alert its matchers match is stored but opens and joins no incident.
CREATE TABLE silences (
    id         TEXT PRIMARY KEY,
    matchers   TEXT NOT NULL, -- JSON array of Alertmanager matchers, e.g. ["service=\"db\""]
    starts_at  TEXT NOT NULL,
    ends_at    TEXT NOT NULL,
    created_by TEXT NOT NULL,
    comment    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
