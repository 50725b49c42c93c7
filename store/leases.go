package store

import (
	"context"
	"fmt"
	"time"
)

// AcquireLease takes or renews the lease name for holder until now+ttl, and
// reports whether holder has it: a lease is free when nobody holds it, when
// its holder's time is up, or when holder itself holds it. Replicas' clocks
// must agree to well within ttl.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration, now time.Time) (bool, error) {
	res, err := s.exec(ctx, `
		INSERT INTO leases (name, holder, expires_at, updated_at) VALUES (?1, ?2, ?3, ?4)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at, updated_at = excluded.updated_at
		WHERE leases.holder = excluded.holder OR leases.expires_at < ?4`,
		name, holder, ts(now.Add(ttl)), ts(now))
	if err != nil {
		return false, fmt.Errorf("store: lease %s for %s: %w", name, holder, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: lease %s for %s: %w", name, holder, err)
	}
	return n == 1, nil
}

// ReleaseLease gives up holder's lease name, so another replica may take it at
// once; it does nothing when holder does not hold it.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := s.exec(ctx, `DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder); err != nil {
		return fmt.Errorf("store: release lease %s of %s: %w", name, holder, err)
	}
	return nil
}

// Lease is who holds a lease and until when.
type Lease struct {
	Name, Holder string
	ExpiresAt    time.Time
}

// Leases returns every lease, held or expired, by name.
func (s *Store) Leases(ctx context.Context) ([]Lease, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, holder, expires_at FROM leases ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: leases: %w", err)
	}
	defer rows.Close()
	var out []Lease
	for rows.Next() {
		var l Lease
		var exp string
		if err := rows.Scan(&l.Name, &l.Holder, &exp); err != nil {
			return nil, fmt.Errorf("store: leases: %w", err)
		}
		l.ExpiresAt = parseTS(exp)
		out = append(out, l)
	}
	return out, rows.Err()
}
