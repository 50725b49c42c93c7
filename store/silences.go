package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vigilops/vigil/routing"
)

// Silence is a stored silence. Matchers are Alertmanager matchers as text
// (service="db", alertname=~"Disk.*").
type Silence struct {
	ID        string    `json:"id"`
	Matchers  []string  `json:"matchers"`
	StartsAt  time.Time `json:"starts_at"`
	EndsAt    time.Time `json:"ends_at"`
	CreatedBy string    `json:"created_by"`
	Comment   string    `json:"comment"`
	CreatedAt time.Time `json:"created_at"`
}

// Muter says what mutes an alert's labels at a time (silences, inhibition).
type Muter = routing.Muter

// AlertObserver is a Muter that also sees every alert ingested, before any is
// routed: inhibition needs to know which alerts fire.
type AlertObserver interface {
	ObserveAlert(labels map[string]string, startsAt, endsAt time.Time)
}

// Mute makes ingest consult ms: a new firing alert that one of them mutes is
// stored, but opens and joins no incident. Call it before the store is used
// concurrently.
func (s *Store) Mute(ms ...Muter) {
	s.mute = ms
	s.route()
}

// PutSilence stores a silence, replacing the one with its id (an update or
// an expiry).
func (s *Store) PutSilence(ctx context.Context, sl Silence, now time.Time) error {
	ms, err := json.Marshal(sl.Matchers)
	if err != nil {
		return fmt.Errorf("store: silence %s: %w", sl.ID, err)
	}
	err = s.tx(ctx, func(tx *txn) error {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO silences (id, matchers, starts_at, ends_at, created_by, comment, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET matchers = excluded.matchers, starts_at = excluded.starts_at,
				ends_at = excluded.ends_at, comment = excluded.comment, updated_at = excluded.updated_at`,
			sl.ID, string(ms), ts(sl.StartsAt), ts(sl.EndsAt), sl.CreatedBy, sl.Comment, ts(sl.CreatedAt), ts(now)); err != nil {
			return err
		}
		return bumpRevision(ctx, tx, revSilences)
	})
	if err != nil {
		return fmt.Errorf("store: silence %s: %w", sl.ID, err)
	}
	return nil
}

// Silences returns every stored silence, newest first.
func (s *Store) Silences(ctx context.Context) ([]Silence, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, matchers, starts_at, ends_at, created_by, comment, created_at FROM silences ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("store: silences: %w", err)
	}
	defer rows.Close()
	var out []Silence
	for rows.Next() {
		var sl Silence
		var ms, starts, ends, created string
		if err := rows.Scan(&sl.ID, &ms, &starts, &ends, &sl.CreatedBy, &sl.Comment, &created); err != nil {
			return nil, fmt.Errorf("store: silences: %w", err)
		}
		if err := json.Unmarshal([]byte(ms), &sl.Matchers); err != nil {
			return nil, fmt.Errorf("store: silence %s: %w", sl.ID, err)
		}
		sl.StartsAt, sl.EndsAt, sl.CreatedAt = parseTS(starts), parseTS(ends), parseTS(created)
		out = append(out, sl)
	}
	return out, rows.Err()
}

// revSilences is the revision PutSilence bumps.
const revSilences = "silences"

func bumpRevision(ctx context.Context, tx *txn, name string) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO revisions (name, rev) VALUES (?, 1)
		ON CONFLICT (name) DO UPDATE SET rev = revisions.rev + 1`, name)
	return err
}

// SilencesRevision grows with every change to the stored silences (0 before
// the first): a copy read at one revision is current while it stays.
func (s *Store) SilencesRevision(ctx context.Context) (int64, error) {
	var rev int64
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(rev), 0) FROM revisions WHERE name = ?`, revSilences).Scan(&rev)
	if err != nil {
		return 0, fmt.Errorf("store: silences revision: %w", err)
	}
	return rev, nil
}

// A Refresher is a Muter whose state other replicas change too (silences
// created through another replica's API, alerts another replica ingested).
// Ingest calls Refresh in every routing transaction once that holds the
// routing lock, so mute decisions are made on everything any replica
// committed before.
type Refresher interface {
	Refresh(ctx context.Context) error
}

// refreshMutes brings every Refresher muter up to date.
func (s *Store) refreshMutes(ctx context.Context) error {
	for _, m := range s.mute {
		if r, ok := m.(Refresher); ok {
			if err := r.Refresh(ctx); err != nil {
				return fmt.Errorf("refresh mutes: %w", err)
			}
		}
	}
	return nil
}

// ObservedAlert is an alert event as inhibition observes it.
type ObservedAlert struct {
	ID               int64
	Labels           map[string]string
	StartsAt, EndsAt time.Time
}

// AlertEventsAfter returns up to limit alert events stored after event id
// after, oldest first. Events are stored under the routing lock, so ids grow
// in commit order: reading on from the last id seen misses none.
func (s *Store) AlertEventsAfter(ctx context.Context, after int64, limit int) ([]ObservedAlert, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT id, labels, starts_at, ends_at FROM events
		WHERE id > ? AND kind = 'alert' ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: alert events after %d: %w", after, err)
	}
	defer rows.Close()
	var out []ObservedAlert
	for rows.Next() {
		var a ObservedAlert
		var labels, starts, ends string
		if err := rows.Scan(&a.ID, &labels, &starts, &ends); err != nil {
			return nil, fmt.Errorf("store: alert events after %d: %w", after, err)
		}
		if err := json.Unmarshal([]byte(labels), &a.Labels); err != nil {
			return nil, fmt.Errorf("store: event %d: %w", a.ID, err)
		}
		a.StartsAt, a.EndsAt = parseTS(starts), parseTS(ends)
		out = append(out, a)
	}
	return out, rows.Err()
}

// LastEventID is the id of the newest stored event (0 when there is none).
func (s *Store) LastEventID(ctx context.Context) (int64, error) {
	var id int64
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM events`).Scan(&id); err != nil {
		return 0, fmt.Errorf("store: last event: %w", err)
	}
	return id, nil
}

// observe shows a batch of alerts to the muters that watch alerts.
func (s *Store) observe(alerts []AlertIn) {
	for _, m := range s.mute {
		if o, ok := m.(AlertObserver); ok {
			for _, a := range alerts {
				o.ObserveAlert(a.Labels, a.StartsAt, a.EndsAt)
			}
		}
	}
}

// FiringAlerts returns the latest report of every alert whose latest status is
// firing, so inhibition knows its sources again after a restart.
func (s *Store) FiringAlerts(ctx context.Context) ([]AlertIn, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT e.fingerprint, e.labels, e.starts_at, e.ends_at
		FROM alerts a JOIN events e ON e.id = (SELECT MAX(id) FROM events WHERE fingerprint = a.fingerprint AND kind = 'alert')
		WHERE a.status = 'firing'`)
	if err != nil {
		return nil, fmt.Errorf("store: firing alerts: %w", err)
	}
	defer rows.Close()
	var out []AlertIn
	for rows.Next() {
		a := AlertIn{Status: "firing"}
		var labels, starts, ends string
		if err := rows.Scan(&a.Fingerprint, &labels, &starts, &ends); err != nil {
			return nil, fmt.Errorf("store: firing alerts: %w", err)
		}
		if err := json.Unmarshal([]byte(labels), &a.Labels); err != nil {
			return nil, fmt.Errorf("store: firing alert %s: %w", a.Fingerprint, err)
		}
		a.StartsAt, a.EndsAt = parseTS(starts), parseTS(ends)
		out = append(out, a)
	}
	return out, rows.Err()
}
