package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrSpoolFull is returned by SpoolAppend when the spool already holds its
// limit of alerts waiting to be routed.
var ErrSpoolFull = errors.New("ingest is behind: too many alerts wait to be routed; nothing was accepted, retry later")

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
// ErrSpoolFull, an entry that would make more than about maxPending alerts
// wait (appends racing may pass it by what they carry). Any number of
// replicas may append at once; entries may commit out of id order.
func (s *Store) SpoolAppend(ctx context.Context, spool, source string, received time.Time, alerts []byte, count, maxPending int) error {
	err := s.tx(ctx, func(tx *txn) error {
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

// ErrSpoolRaced means entries a router took were routed by another
// meanwhile (a lease handed over mid-batch): nothing was stored; read again.
var ErrSpoolRaced = errors.New("spool entries were routed by another router meanwhile")

// IngestSpoolEntries routes alerts, the contents of the spool's entries ids,
// as IngestAlerts does, and deletes those entries in the same transaction:
// after a crash an entry is either routed and gone or still there, never
// routed twice. If any of them is gone already it stores nothing and returns
// ErrSpoolRaced.
func (s *Store) IngestSpoolEntries(ctx context.Context, spool string, ids []int64, source string, alerts []AlertIn, now time.Time) (IngestResult, error) {
	res, err := s.ingest(ctx, source, alerts, now, func(tx *txn) error {
		for len(ids) > 0 {
			n := min(len(ids), 8*rowsPerStatement)
			args := make([]any, 0, n+1)
			args = append(args, spool)
			for _, id := range ids[:n] {
				args = append(args, id)
			}
			r, err := tx.ExecContext(ctx, `DELETE FROM spool_entries WHERE spool = ? AND id IN (?`+strings.Repeat(", ?", n-1)+`)`, args...)
			if err != nil {
				return err
			}
			if k, err := r.RowsAffected(); err != nil || k != int64(n) {
				return cmp.Or(err, ErrSpoolRaced)
			}
			ids = ids[n:]
		}
		return nil
	})
	if err != nil {
		return IngestResult{}, fmt.Errorf("store: ingest from spool %s: %w", spool, err)
	}
	return res, nil
}

// SpoolPending is how many alerts wait in spool.
func (s *Store) SpoolPending(ctx context.Context, spool string) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(count), 0) FROM spool_entries WHERE spool = ?`, spool).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: pending in spool %s: %w", spool, err)
	}
	return n, nil
}
