-- Leases: which process runs each singleton loop (the dispatcher, pollers,
-- tailers, retention). A holder renews its lease before it expires; once it
-- has expired, any process may take it over.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
