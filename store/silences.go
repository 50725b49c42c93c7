package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
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

// Muter says which silences mute an alert's labels at a time.
type Muter interface {
	Silencing(labels map[string]string, at time.Time) []string
}

// Mute makes ingest consult m: a new firing alert that an active silence
// matches is stored, but opens and joins no incident. Call it before the
// store is used concurrently.
func (s *Store) Mute(m Muter) { s.mute = m }

// PutSilence stores a silence, replacing the one with its id (an update or
// an expiry).
func (s *Store) PutSilence(ctx context.Context, sl Silence, now time.Time) error {
	ms, err := json.Marshal(sl.Matchers)
	if err != nil {
		return fmt.Errorf("store: silence %s: %w", sl.ID, err)
	}
	_, err = s.db.ExecContext(ctx, `
		INSERT INTO silences (id, matchers, starts_at, ends_at, created_by, comment, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET matchers = excluded.matchers, starts_at = excluded.starts_at,
			ends_at = excluded.ends_at, comment = excluded.comment, updated_at = excluded.updated_at`,
		sl.ID, string(ms), ts(sl.StartsAt), ts(sl.EndsAt), sl.CreatedBy, sl.Comment, ts(sl.CreatedAt), ts(now))
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

// silenced reports whether the store's muter mutes labels at at.
func (s *Store) silenced(labels map[string]string, at time.Time) bool {
	return s.mute != nil && len(s.mute.Silencing(labels, at)) > 0
}
