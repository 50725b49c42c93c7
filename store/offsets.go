package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// TailOffset is how far a file tail has read a log file: every line that ends
// before Offset has been handed over. The file is identified by device and
// inode (Dev, Inode) and by the SHA-256 (hex) of its first PrefixLen bytes.
type TailOffset struct {
	Path       string // the configured path, the key
	Dev, Inode uint64
	Offset     int64
	PrefixLen  int64
	PrefixHash string
	UpdatedAt  time.Time
}

// TailOffset returns the saved offset for path, or an error wrapping
// ErrNotFound.
func (s *Store) TailOffset(ctx context.Context, path string) (TailOffset, error) {
	o := TailOffset{Path: path}
	var dev, inode int64
	var updated string
	err := s.db.QueryRowContext(ctx, `SELECT dev, inode, "offset", prefix_len, prefix_hash, updated_at FROM tail_offsets WHERE path = ?`, path).
		Scan(&dev, &inode, &o.Offset, &o.PrefixLen, &o.PrefixHash, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return o, fmt.Errorf("tail offset of %s: %w", path, ErrNotFound)
	}
	if err != nil {
		return o, fmt.Errorf("store: tail offset of %s: %w", path, err)
	}
	// SQLite integers are signed; device and inode numbers round-trip
	// through int64 bit for bit.
	o.Dev, o.Inode, o.UpdatedAt = uint64(dev), uint64(inode), parseTS(updated)
	return o, nil
}

// SaveTailOffset records, durably, how far the tail of o.Path has read.
func (s *Store) SaveTailOffset(ctx context.Context, o TailOffset, now time.Time) error {
	_, err := s.exec(ctx, `
		INSERT INTO tail_offsets (path, dev, inode, "offset", prefix_len, prefix_hash, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (path) DO UPDATE SET dev = excluded.dev, inode = excluded.inode, "offset" = excluded."offset",
			prefix_len = excluded.prefix_len, prefix_hash = excluded.prefix_hash, updated_at = excluded.updated_at`,
		o.Path, int64(o.Dev), int64(o.Inode), o.Offset, o.PrefixLen, o.PrefixHash, ts(now))
	if err != nil {
		return fmt.Errorf("store: save tail offset of %s: %w", o.Path, err)
	}
	return nil
}
