-- The spool in the store: accepted payloads not yet routed, for stores that
-- replicas share (on SQLite, one process, ingest keeps its spool in a file of
-- its own). Replicas append at once, so an entry may commit after one with a
-- higher id: the router takes the oldest entries left and deletes each in the
-- transaction that routes it.
CREATE TABLE spool_entries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    spool       TEXT NOT NULL,
    source      TEXT NOT NULL,
    received_at TEXT NOT NULL,
    alerts      BLOB NOT NULL,
    count       INTEGER NOT NULL
);
CREATE INDEX spool_entries_by_spool ON spool_entries (spool, id);
