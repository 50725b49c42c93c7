-- Incidents whose workflow has saved nothing yet (version 0): ingest's
-- announcer looks among them for threads nothing has been posted to.
CREATE INDEX incidents_unsaved ON incidents (num) WHERE version = 0;
