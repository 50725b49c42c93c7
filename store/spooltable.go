package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrSpoolFull is returned by SpoolAppend when the spool already holds its
// limit of alerts waiting to be routed.
var ErrSpoolFull = errors.New("ingest is behind: too many alerts wait to be routed; nothing was accepted, retry later")

// lockSpool is held while an entry is appended to a spool in the store, so
// entries commit in id order and a router reading on from the last id it
// routed never skips one committed late.
const lockSpool int64 = 0x76696734

// SpoolEntry is one appended payload: its alerts as one encoded JSON array.
type SpoolEntry struct {
	ID         int64
	Source     string
	ReceivedAt time.Time
	Alerts     []byte
	Count      int
}

// SpoolAppend appends an entry of count alerts to the spool named spool and
// returns once it is durable. With maxPending > 0 it refuses, with
// ErrSpoolFull, an entry that would make more than maxPending alerts wait.
// Any number of replicas may append at once.
func (s *Store) SpoolAppend(ctx context.Context, spool, source string, received time.Time, alerts []byte, count, maxPending int) error {
	err := s.lockedTx(ctx, lockSpool, func(tx *txn) error {
		if maxPending > 0 {
			var pending int64
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(count), 0) FROM spool_entries WHERE spool = ?`, spool).Scan(&pending); err != nil {
				return err
			}
			if pending+int64(count) > int64(maxPending) {
				return ErrSpoolFull
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO spool_entries (spool, source, received_at, alerts, count) VALUES (?, ?, ?, ?, ?)`,
			spool, source, ts(received), alerts, count)
		return err
	})
	if errors.Is(err, ErrSpoolFull) {
		return err
	}
	if err != nil {
		return fmt.Errorf("store: append to spool %s: %w", spool, err)
	}
	return nil
}

// SpoolEntries returns up to limit entries of spool after id after, oldest first.
func (s *Store) SpoolEntries(ctx context.Context, spool string, after int64, limit int) ([]SpoolEntry, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT id, source, received_at, alerts, count FROM spool_entries
		WHERE spool = ? AND id > ? ORDER BY id LIMIT ?`, spool, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: read spool %s: %w", spool, err)
	}
	defer rows.Close()
	var out []SpoolEntry
	for rows.Next() {
		var e SpoolEntry
		var received string
		if err := rows.Scan(&e.ID, &e.Source, &received, &e.Alerts, &e.Count); err != nil {
			return nil, fmt.Errorf("store: read spool %s: %w", spool, err)
		}
		e.ReceivedAt = parseTS(received)
		out = append(out, e)
	}
	return out, rows.Err()
}

// SpoolDrop removes the entries of spool up to id upTo (routed ones) and
// returns how many alerts they held.
func (s *Store) SpoolDrop(ctx context.Context, spool string, upTo int64) (int64, error) {
	var n int64
	err := s.tx(ctx, func(tx *txn) error {
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(count), 0) FROM spool_entries WHERE spool = ? AND id <= ?`, spool, upTo).Scan(&n); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM spool_entries WHERE spool = ? AND id <= ?`, spool, upTo)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: drop routed entries of spool %s: %w", spool, err)
	}
	return n, nil
}

// SpoolPending is how many alerts wait in spool.
func (s *Store) SpoolPending(ctx context.Context, spool string) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(count), 0) FROM spool_entries WHERE spool = ?`, spool).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: pending in spool %s: %w", spool, err)
	}
	return n, nil
}
