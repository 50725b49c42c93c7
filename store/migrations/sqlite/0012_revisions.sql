-- Revisions: a counter per kind of shared setting, bumped in the transaction
-- that changes it, so every replica can tell cheaply that its copy in memory
-- is stale (silences: bumped by every PutSilence).
CREATE TABLE revisions (
    name TEXT PRIMARY KEY,
    rev  INTEGER NOT NULL
);
