package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SlackMessage is where one keyed message of an incident's thread lives in Slack.
type SlackMessage struct {
	IncidentID string
	Key        string
	Channel    string
	// ThreadTS is the thread root's ts for replies, empty for the root itself.
	ThreadTS string
	// TS is the message's ts; empty while its first post is in flight or was
	// lost (see StartSlackPost).
	TS        string
	StartedAt time.Time
}

// SlackMessage returns where (incidentID, key) was posted, or ErrNotFound.
func (s *Store) SlackMessage(ctx context.Context, incidentID, key string) (SlackMessage, error) {
	m, err := scanSlack(s.db.QueryRowContext(ctx, slackCols+` WHERE incident_id = ? AND key = ?`, incidentID, key))
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("slack message %s/%s: %w", incidentID, key, ErrNotFound)
	}
	if err != nil {
		return m, fmt.Errorf("store: slack message %s/%s: %w", incidentID, key, err)
	}
	return m, nil
}

// SlackMessageAt returns the message posted at (channel, ts), or ErrNotFound:
// how a button press or a thread reply finds its incident.
func (s *Store) SlackMessageAt(ctx context.Context, channel, ts string) (SlackMessage, error) {
	if ts == "" {
		return SlackMessage{}, fmt.Errorf("slack message in %s: no ts: %w", channel, ErrNotFound)
	}
	m, err := scanSlack(s.db.QueryRowContext(ctx, slackCols+` WHERE channel = ? AND ts = ?`, channel, ts))
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("slack message %s/%s: %w", channel, ts, ErrNotFound)
	}
	if err != nil {
		return m, fmt.Errorf("store: slack message %s/%s: %w", channel, ts, err)
	}
	return m, nil
}

// StartSlackPost records that the first post of (incident, key) is about to be
// sent, before it is sent. If the post reaches Slack but its ts never comes back,
// the row stays with an empty ts and the next attempt knows to look for the
// message instead of posting it twice. Starting a post already started keeps the
// first record.
func (s *Store) StartSlackPost(ctx context.Context, m SlackMessage) error {
	_, err := s.exec(ctx, `
		INSERT INTO slack_messages (incident_id, key, channel, thread_ts, ts, started_at, posted_at) VALUES (?, ?, ?, ?, '', ?, '')
		ON CONFLICT (incident_id, key) DO NOTHING`, m.IncidentID, m.Key, m.Channel, m.ThreadTS, ts(m.StartedAt))
	if err != nil {
		return fmt.Errorf("store: start slack post %s/%s: %w", m.IncidentID, m.Key, err)
	}
	return nil
}

// FinishSlackPost records the ts Slack gave the message.
func (s *Store) FinishSlackPost(ctx context.Context, incidentID, key, messageTS string, now time.Time) error {
	res, err := s.exec(ctx, `UPDATE slack_messages SET ts = ?, posted_at = ? WHERE incident_id = ? AND key = ?`,
		messageTS, ts(now), incidentID, key)
	if err != nil {
		return fmt.Errorf("store: finish slack post %s/%s: %w", incidentID, key, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: finish slack post %s/%s: not started: %w", incidentID, key, ErrNotFound)
	}
	return nil
}

const slackCols = `SELECT incident_id, key, channel, thread_ts, ts, started_at FROM slack_messages`

func scanSlack(row *sql.Row) (SlackMessage, error) {
	var m SlackMessage
	var started string
	err := row.Scan(&m.IncidentID, &m.Key, &m.Channel, &m.ThreadTS, &m.TS, &started)
	m.StartedAt = parseTS(started)
	return m, err
}
