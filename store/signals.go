package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/vigilops/vigil/analyzers/correlate"
	"github.com/vigilops/vigil/incident"
)

// SignalIn is a non-alert event (metric or log anomaly, prediction, change) as a
// source hands it to IngestEvents.
type SignalIn struct {
	Event incident.Event
	// MayOpen lets the event open an incident of its own when no open incident
	// concerns its service. Changes never should; predictions usually do.
	MayOpen bool
	// GroupKey and GroupLabels group the incident the event would open.
	GroupKey    string
	GroupLabels map[string]string
}

// IngestEvents stores a batch of signals in one transaction. A signal whose
// fingerprint and start were stored before is a duplicate. A new one joins the
// most recent open incident that concerns its service label; failing that it
// opens an incident when MayOpen, and is otherwise kept without an incident (for
// correlation and timelines). When IngestEvents returns nil the events are durable
// and queued for delivery; on error nothing of the batch is stored.
func (s *Store) IngestEvents(ctx context.Context, source string, signals []SignalIn, now time.Time) (IngestResult, error) {
	var outcomes []IngestOutcome
	err := s.lockedTx(ctx, lockRouting, func(tx *txn) error {
		outcomes = make([]IngestOutcome, len(signals))
		rt := newRouting(s.corr, now)
		for i, sg := range signals {
			e := sg.Event
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM events WHERE fingerprint = ? AND starts_at = ? AND kind = ?`,
				e.Fingerprint, ts(e.StartsAt), string(e.Kind)).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				outcomes[i].Duplicate = true
				continue
			}
			incID, err := rt.routeSignal(ctx, tx, sg, now)
			if err != nil {
				return fmt.Errorf("event %s: %w", e.Fingerprint, err)
			}
			if err := insertSignal(ctx, tx, source, e, incID, now); err != nil {
				return fmt.Errorf("event %s: %w", e.Fingerprint, err)
			}
			outcomes[i].Incident = incID
			if incID != "" {
				rt.saw(incID, e.Labels["service"], e.StartsAt)
			}
		}
		return rt.flush(ctx, tx)
	})
	if err != nil {
		return IngestResult{}, fmt.Errorf("store: ingest events: %w", err)
	}
	return Summarize(outcomes), nil
}

// routeSignal picks a new signal's incident: the most recent open incident
// that concerns its service; with correlation, an open incident it is
// connected to; an incident of its own when MayOpen; or none.
func (rt *routing) routeSignal(ctx context.Context, tx *txn, sg SignalIn, now time.Time) (string, error) {
	svc := sg.Event.Labels["service"]
	if svc != "" {
		var id string
		err := tx.QueryRowContext(ctx, `
			SELECT i.id FROM incidents i JOIN incident_services s ON s.incident_id = i.id
			WHERE s.service = ? AND i.status <> 'resolved' ORDER BY i.num DESC LIMIT 1`, svc).Scan(&id)
		if err == nil || !errors.Is(err, sql.ErrNoRows) {
			return id, err
		}
	}
	id, err := rt.join(ctx, tx, correlate.Kind(sg.Event.Kind), svc, sg.Event.StartsAt)
	if err != nil || id != "" || !sg.MayOpen {
		return id, err
	}
	return openIncidentFor(ctx, tx, AlertIn{GroupKey: sg.GroupKey, GroupLabels: sg.GroupLabels, Labels: sg.Event.Labels}, now)
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
