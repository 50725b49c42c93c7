package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Message is one message of an incident thread as the console stores it. Body is
// the surface-neutral message as JSON.
type Message struct {
	ID         int64           `json:"id"`
	IncidentID string          `json:"incident_id"`
	Key        string          `json:"key"`
	Body       json.RawMessage `json:"body"`
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
}

// PutMessage posts a message to a thread, or replaces the body of the message with
// the same key. Keys make posting idempotent: a retried post edits, never repeats.
func (s *Store) PutMessage(ctx context.Context, incidentID, key string, body []byte, now time.Time) (int64, error) {
	var id int64
	s.wmu.Lock()
	defer s.wmu.Unlock()
	err := s.db.QueryRowContext(ctx, upsertMessage+` RETURNING id`, incidentID, key, string(body), ts(now), ts(now)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("store: put message %s/%s: %w", incidentID, key, err)
	}
	return id, nil
}

// upsertMessage adds a thread message, or edits the one with its key.
const upsertMessage = `
	INSERT INTO messages (incident_id, key, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
	ON CONFLICT (incident_id, key) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at`

// MessageIn is a message to put.
type MessageIn struct {
	IncidentID, Key string
	Body            []byte
}

// PutMessages puts messages as PutMessage does, in order, in one transaction.
func (s *Store) PutMessages(ctx context.Context, msgs []MessageIn, now time.Time) error {
	return s.putMessages(ctx, upsertMessage, msgs, now)
}

// AddMessages adds messages whose key the thread does not have yet, in order,
// in one transaction; a key already posted keeps its message as it is.
func (s *Store) AddMessages(ctx context.Context, msgs []MessageIn, now time.Time) error {
	return s.putMessages(ctx, addMessage, msgs, now)
}

// addMessage adds a thread message unless its key is taken.
const addMessage = `
	INSERT INTO messages (incident_id, key, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
	ON CONFLICT (incident_id, key) DO NOTHING`

func (s *Store) putMessages(ctx context.Context, query string, msgs []MessageIn, now time.Time) error {
	err := s.tx(ctx, func(tx *txn) error {
		for _, m := range msgs {
			if _, err := tx.ExecContext(ctx, query, m.IncidentID, m.Key, string(m.Body), ts(now), ts(now)); err != nil {
				return fmt.Errorf("%s/%s: %w", m.IncidentID, m.Key, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: put messages: %w", err)
	}
	return nil
}

// Messages returns an incident's thread in posting order.
func (s *Store) Messages(ctx context.Context, incidentID string) ([]Message, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, incident_id, key, body, created_at, updated_at FROM messages WHERE incident_id = ? ORDER BY id`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("store: messages of %s: %w", incidentID, err)
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		var m Message
		var body, created, updated string
		if err := rows.Scan(&m.ID, &m.IncidentID, &m.Key, &body, &created, &updated); err != nil {
			return nil, fmt.Errorf("store: messages of %s: %w", incidentID, err)
		}
		m.Body, m.CreatedAt, m.UpdatedAt = json.RawMessage(body), parseTS(created), parseTS(updated)
		out = append(out, m)
	}
	return out, rows.Err()
}
