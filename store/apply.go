package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/routing"
)

// apply stores what routing decided, in the routing transaction whose view
// the plan was made on, in the plan's order. source is where the batch's
// events came from; merge notices come from "correlate".
func apply(ctx context.Context, tx *txn, source string, p *routing.Plan, now time.Time) error {
	if err := createIncidents(ctx, tx, p.Opened, now); err != nil {
		return err
	}
	for _, l := range p.Links {
		if _, err := tx.ExecContext(ctx, `INSERT INTO incident_groups (group_key, incident_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, l.GroupKey, l.Incident); err != nil {
			return fmt.Errorf("group %q: %w", l.GroupKey, err)
		}
	}
	if err := writeAlertStates(ctx, tx, p.States, now); err != nil {
		return err
	}
	if err := insertEvents(ctx, tx, source, p.Alerts, now); err != nil {
		return err
	}
	for _, e := range p.Signals {
		if err := insertSignal(ctx, tx, source, e.Signal.Event, e.Incident, now); err != nil {
			return fmt.Errorf("event %s: %w", e.Signal.Event.Fingerprint, err)
		}
	}
	if err := writeTouched(ctx, tx, p.Touched); err != nil {
		return err
	}
	for _, m := range p.Merges {
		if err := mergeIncident(ctx, tx, m, now); err != nil {
			return fmt.Errorf("merge %s into %s: %w", m.From, m.Into, err)
		}
	}
	return nil
}

// createIncidents inserts the incidents routing opened, each with the
// service it concerns from the start.
func createIncidents(ctx context.Context, tx *txn, opened []routing.NewIncident, now time.Time) error {
	for _, n := range opened {
		gl, err := json.Marshal(n.Group)
		if err != nil {
			return fmt.Errorf("incident %s: %w", n.ID, err)
		}
		_, err = tx.ExecContext(ctx, `
			INSERT INTO incidents (id, num, group_key, group_labels, status, title, severity, created_at, updated_at)
			VALUES (?, ?, ?, ?, 'open', ?, ?, ?, ?)`,
			n.ID, n.Num, n.GroupKey, string(gl), n.Title, n.Severity, ts(now), ts(now))
		if err == nil && n.Service != "" {
			_, err = tx.ExecContext(ctx, `INSERT INTO incident_services (incident_id, service) VALUES (?, ?) ON CONFLICT DO NOTHING`, n.ID, n.Service)
		}
		if err != nil {
			return fmt.Errorf("incident %s: %w", n.ID, err)
		}
	}
	return nil
}

// writeAlertStates stores the alert states the batch changed.
func writeAlertStates(ctx context.Context, tx *txn, states map[string]routing.AlertState, now time.Time) error {
	var args []any
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		n := len(args) / 5
		_, err := tx.ExecContext(ctx, `
			INSERT INTO alerts (fingerprint, status, starts_at, incident_id, updated_at) VALUES (?, ?, ?, ?, ?)`+
			strings.Repeat(", (?, ?, ?, ?, ?)", n-1)+`
			ON CONFLICT (fingerprint) DO UPDATE SET status = excluded.status, starts_at = excluded.starts_at,
				incident_id = COALESCE(excluded.incident_id, alerts.incident_id), updated_at = excluded.updated_at`, args...)
		args = args[:0]
		return err
	}
	for fp, st := range states {
		args = append(args, fp, st.Status, ts(st.Start), nullable(st.Incident), ts(now))
		if len(args) == 5*rowsPerStatement {
			if err := flush(); err != nil {
				return fmt.Errorf("alert states: %w", err)
			}
		}
	}
	if err := flush(); err != nil {
		return fmt.Errorf("alert states: %w", err)
	}
	return nil
}

// insertEvents stores alert events in input order, a few rows per statement.
func insertEvents(ctx context.Context, tx *txn, source string, events []routing.AlertEvent, now time.Time) error {
	const cols = 11
	received := ts(now)
	args := make([]any, 0, cols*min(len(events), rowsPerStatement))
	for i, e := range events {
		a := e.Alert
		labels, err := json.Marshal(a.Labels)
		if err != nil {
			return fmt.Errorf("alert %s: %w", a.Fingerprint, err)
		}
		ann, err := json.Marshal(nonNil(a.Annotations))
		if err != nil {
			return fmt.Errorf("alert %s: %w", a.Fingerprint, err)
		}
		var deliveredAt any
		if e.Delivered {
			deliveredAt = received
		}
		args = append(args, nullable(e.Incident), source, a.Fingerprint, a.Status, string(labels), string(ann),
			ts(a.StartsAt), ts(a.EndsAt), a.GeneratorURL, received, deliveredAt)
		if len(args) < cols*rowsPerStatement && i < len(events)-1 {
			continue
		}
		n := len(args) / cols
		_, err = tx.ExecContext(ctx, `
			INSERT INTO events (incident_id, source, kind, fingerprint, status, labels, annotations, starts_at, ends_at, generator_url, received_at, delivered_at)
			VALUES (?, ?, 'alert', ?, ?, ?, ?, ?, ?, ?, ?, ?)`+strings.Repeat(", (?, ?, 'alert', ?, ?, ?, ?, ?, ?, ?, ?, ?)", n-1), args...)
		if err != nil {
			return fmt.Errorf("events: %w", err)
		}
		args = args[:0]
	}
	return nil
}

func insertSignal(ctx context.Context, tx *txn, source string, e incident.Event, incID string, now time.Time) error {
	labels, err := json.Marshal(nonNil(e.Labels))
	if err != nil {
		return err
	}
	ann, err := json.Marshal(nonNil(e.Annotations))
	if err != nil {
		return err
	}
	var series, examples any
	if e.Series != nil {
		b, err := json.Marshal(e.Series)
		if err != nil {
			return err
		}
		series = string(b)
	}
	if len(e.Examples) > 0 {
		b, err := json.Marshal(e.Examples)
		if err != nil {
			return err
		}
		examples = string(b)
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO events (incident_id, source, kind, fingerprint, status, labels, annotations, starts_at, ends_at,
			generator_url, received_at, summary, value, series, examples)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		nullable(incID), source, string(e.Kind), e.Fingerprint, e.Status, string(labels), string(ann),
		ts(e.StartsAt), ts(e.EndsAt), e.GeneratorURL, ts(now), e.Summary, e.Value, series, examples)
	return err
}

// writeTouched widens the touched incidents' signal times and adds their
// services.
func writeTouched(ctx context.Context, tx *txn, touched []routing.Touch) error {
	for _, t := range touched {
		if !t.First.IsZero() {
			if _, err := tx.ExecContext(ctx, `
				UPDATE incidents SET
					first_signal_at = CASE WHEN first_signal_at = '' OR first_signal_at > ?1 THEN ?1 ELSE first_signal_at END,
					last_signal_at = CASE WHEN last_signal_at < ?2 THEN ?2 ELSE last_signal_at END
				WHERE id = ?3`, ts(t.First), ts(t.Last), t.Incident); err != nil {
				return fmt.Errorf("incident %s: %w", t.Incident, err)
			}
		}
		for _, svc := range t.Services {
			if _, err := tx.ExecContext(ctx, `INSERT INTO incident_services (incident_id, service) VALUES (?, ?) ON CONFLICT DO NOTHING`, t.Incident, svc); err != nil {
				return fmt.Errorf("incident %s: %w", t.Incident, err)
			}
		}
	}
	return nil
}

// mergeIncident moves everything of m.From to m.Into and queues the notices.
func mergeIncident(ctx context.Context, tx *txn, m routing.Merge, now time.Time) error {
	stmts := []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO incident_groups (group_key, incident_id)
			SELECT group_key, ?2 FROM incidents WHERE id = ?1
			UNION SELECT group_key, ?2 FROM incident_groups WHERE incident_id = ?1
			ON CONFLICT DO NOTHING`, []any{m.From, m.Into}},
		{`INSERT INTO incident_services (incident_id, service) SELECT ?2, service FROM incident_services WHERE incident_id = ?1 ON CONFLICT DO NOTHING`, []any{m.From, m.Into}},
		{`UPDATE events SET incident_id = ?2, delivered_at = NULL WHERE incident_id = ?1`, []any{m.From, m.Into}},
		{`UPDATE alerts SET incident_id = ?2 WHERE incident_id = ?1`, []any{m.From, m.Into}},
		{`UPDATE incidents SET
			first_signal_at = (SELECT MIN(first_signal_at) FROM incidents WHERE id IN (?1, ?2) AND first_signal_at <> ''),
			last_signal_at = (SELECT MAX(last_signal_at) FROM incidents WHERE id IN (?1, ?2)),
			updated_at = ?3
			WHERE id = ?2`, []any{m.From, m.Into, ts(now)}},
		{`UPDATE incidents SET status = 'resolved', merged_into = ?2, updated_at = ?3 WHERE id = ?1`, []any{m.From, m.Into, ts(now)}},
	}
	for _, st := range stmts {
		if _, err := tx.ExecContext(ctx, st.sql, st.args...); err != nil {
			return err
		}
	}
	for _, n := range m.Notices {
		if err := insertSignal(ctx, tx, "correlate", n.Event, n.Incident, now); err != nil {
			return err
		}
	}
	return nil
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
