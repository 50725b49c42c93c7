-- How far routing has taken each ingest spool (a queue of accepted payloads
-- in a file of its own): every entry up to position is in the store. It moves
-- in the transaction that stores the entries, so none is routed twice.
CREATE TABLE spool_positions (
    spool      TEXT PRIMARY KEY,
    position   INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
