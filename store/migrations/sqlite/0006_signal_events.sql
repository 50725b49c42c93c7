-- Events other than alerts carry what was seen: a one-line summary, a value, the
-- metric window around the event (JSON incident.Series) and example log lines.
ALTER TABLE events ADD COLUMN summary TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN value REAL NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN series TEXT;
ALTER TABLE events ADD COLUMN examples TEXT;
CREATE INDEX events_fingerprint ON events (fingerprint, starts_at);

-- The services of each incident, kept by SaveIncident, so signals about a
-- service join the incident already open for it.
CREATE TABLE incident_services (
    incident_id TEXT NOT NULL,
    service     TEXT NOT NULL,
    PRIMARY KEY (incident_id, service)
);
CREATE INDEX incident_services_service ON incident_services (service);
