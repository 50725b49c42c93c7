-- Tail offsets: how far each tailed log file has been read. The file is known by
-- its device and inode and by a hash of its first bytes, so a restart resumes in
-- the same file even after it was rotated (renamed), and starts over in a file
-- that was truncated or replaced.
CREATE TABLE tail_offsets (
    path        TEXT PRIMARY KEY,
    dev         INTEGER NOT NULL,
    inode       INTEGER NOT NULL,
    offset      INTEGER NOT NULL,
    prefix_len  INTEGER NOT NULL,
    prefix_hash TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
