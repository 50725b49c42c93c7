package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/routing"
)

// AlertIn is one normalised alert as a receiver hands it to IngestAlerts.
type AlertIn = routing.Alert

// IngestResult says what IngestAlerts did with a batch.
type IngestResult struct {
	Accepted   int      // new events stored
	Duplicates int      // resends of an unchanged alert, not stored again
	Silenced   int      // new events an active silence kept from any incident
	Incidents  []string // incidents the new events joined, sorted
	// Queued counts alerts held durably in ingest's spool, deduplicated and
	// routed after the answer (so the counts above are 0). The store itself
	// never queues.
	Queued int
	// Outcomes says, for each alert in input order, what became of it.
	Outcomes []IngestOutcome
}

// IngestOutcome is what became of one ingested alert or event.
type IngestOutcome struct {
	Duplicate bool
	Silenced  bool   // stored, but an active silence kept it from any incident
	Incident  string // the incident its event joined, if any
	Queued    bool   // held in ingest's spool, to be routed after the answer
}

// Summarize aggregates outcomes into counts and the sorted incidents touched.
func Summarize(outcomes []IngestOutcome) IngestResult {
	res := IngestResult{Outcomes: outcomes}
	touched := map[string]bool{}
	for _, o := range outcomes {
		switch {
		case o.Duplicate:
			res.Duplicates++
		default:
			res.Accepted++
			if o.Silenced {
				res.Silenced++
			}
			if o.Queued {
				res.Queued++
			}
			if o.Incident != "" {
				touched[o.Incident] = true
			}
		}
	}
	for id := range touched {
		res.Incidents = append(res.Incidents, id)
	}
	slices.Sort(res.Incidents)
	return res
}

// IngestAlerts stores a batch of alerts in one transaction: an alert becomes an event
// when it is new or its status or start changed; a firing alert joins the open
// incident of its group, or opens a new one; a resolved alert goes to the incident it
// fired in. When IngestAlerts returns nil the events are durable and queued for
// delivery; on error nothing of the batch is stored.
func (s *Store) IngestAlerts(ctx context.Context, source string, alerts []AlertIn, now time.Time) (IngestResult, error) {
	res, err := s.ingest(ctx, source, alerts, now, nil)
	if err != nil {
		return IngestResult{}, fmt.Errorf("store: ingest: %w", err)
	}
	return res, nil
}

// IngestSpooled ingests alerts as IngestAlerts does and, in the same
// transaction, records that spool has been routed up to position: after a
// crash routing resumes after it, so no entry is stored twice or skipped.
func (s *Store) IngestSpooled(ctx context.Context, spool string, position int64, source string, alerts []AlertIn, now time.Time) (IngestResult, error) {
	res, err := s.ingest(ctx, source, alerts, now, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO spool_positions (spool, position, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (spool) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at`,
			spool, position, ts(now))
		return err
	})
	if err != nil {
		return IngestResult{}, fmt.Errorf("store: ingest from spool %s up to %d: %w", spool, position, err)
	}
	return res, nil
}

// SpoolPosition is how far routing has taken spool (0 before its first entry).
func (s *Store) SpoolPosition(ctx context.Context, spool string) (int64, error) {
	var pos int64
	err := s.db.QueryRowContext(ctx, `SELECT position FROM spool_positions WHERE spool = ?`, spool).Scan(&pos)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: position of spool %s: %w", spool, err)
	}
	return pos, nil
}

// ingest routes and stores alerts in one transaction and runs also, when set,
// in the same transaction after them.
func (s *Store) ingest(ctx context.Context, source string, alerts []AlertIn, now time.Time, also func(*txn) error) (IngestResult, error) {
	var outcomes []IngestOutcome
	err := s.lockedTx(ctx, lockRouting, func(tx *txn) error {
		if err := s.refreshMutes(ctx); err != nil {
			return err
		}
		s.observe(alerts)
		plan, err := s.router.Alerts(txView{ctx, tx}, alerts, now)
		if err != nil {
			return err
		}
		if err := apply(ctx, tx, source, plan, now); err != nil {
			return err
		}
		outcomes = outcomesOf(plan)
		if also == nil {
			return nil
		}
		return also(tx)
	})
	if err != nil {
		return IngestResult{}, err
	}
	return Summarize(outcomes), nil
}

// outcomesOf says what became of each alert or signal a plan routed.
func outcomesOf(p *routing.Plan) []IngestOutcome {
	out := make([]IngestOutcome, len(p.Outcomes))
	for i, o := range p.Outcomes {
		out[i] = IngestOutcome{Duplicate: o.Duplicate, Silenced: o.Silenced, Incident: o.Incident}
	}
	return out
}

// Delivery is a batch of undelivered events for one incident.
type Delivery struct {
	IncidentID  string
	GroupKey    string
	GroupLabels map[string]string
	Events      []incident.Event
	// New says the incident's workflow has not saved anything yet: most
	// likely it has not started, and this delivery starts it.
	New bool
}

// Outbox returns up to limit undelivered events, oldest first, batched by incident
// in order of each incident's oldest event.
func (s *Store) Outbox(ctx context.Context, limit int) ([]Delivery, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT `+deliveryColumns+`
		FROM events e JOIN incidents i ON i.id = e.incident_id
		WHERE e.delivered_at IS NULL AND e.incident_id IS NOT NULL
		ORDER BY e.id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: outbox: %w", err)
	}
	out, err := scanDeliveries(rows)
	if err != nil {
		return nil, fmt.Errorf("store: outbox: %w", err)
	}
	return out, nil
}

// Unannounced returns up to limit incidents, oldest first, that nothing has
// been posted to yet and whose workflow has saved nothing (an incident merged
// into another before then included): each with every event it has taken in
// so far, delivered or not, to announce it with. An incident leaves the list
// with its first thread message.
func (s *Store) Unannounced(ctx context.Context, limit int) ([]Delivery, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT `+deliveryColumns+`
		FROM events e JOIN incidents i ON i.id = e.incident_id
		WHERE e.incident_id IN (
			SELECT u.id FROM incidents u
			WHERE u.version = 0
			  AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.incident_id = u.id)
			ORDER BY u.num LIMIT ?)
		ORDER BY i.num, e.id`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: unannounced incidents: %w", err)
	}
	out, err := scanDeliveries(rows)
	if err != nil {
		return nil, fmt.Errorf("store: unannounced incidents: %w", err)
	}
	return out, nil
}

// deliveryColumns are the columns scanDeliveries reads, from events e joined
// with their incidents i.
const deliveryColumns = `e.id, e.incident_id, e.source, e.kind, e.fingerprint, e.status, e.labels, e.annotations,
		       e.starts_at, e.ends_at, e.generator_url, e.received_at, i.group_key, i.group_labels,
		       e.summary, e.value, e.series, e.examples, i.version = 0`

// scanDeliveries reads rows of deliveryColumns into deliveries, one per
// incident in order of its first row.
func scanDeliveries(rows *sql.Rows) ([]Delivery, error) {
	defer rows.Close()
	var out []Delivery
	index := map[string]int{}
	for rows.Next() {
		var e incident.Event
		var incID, labels, ann, starts, ends, received, gkey, glabels string
		var series, examples sql.NullString
		var isNew bool
		if err := rows.Scan(&e.ID, &incID, &e.Source, &e.Kind, &e.Fingerprint, &e.Status, &labels, &ann,
			&starts, &ends, &e.GeneratorURL, &received, &gkey, &glabels, &e.Summary, &e.Value, &series, &examples, &isNew); err != nil {
			return nil, err
		}
		errs := []error{json.Unmarshal([]byte(labels), &e.Labels), json.Unmarshal([]byte(ann), &e.Annotations)}
		if series.Valid {
			errs = append(errs, json.Unmarshal([]byte(series.String), &e.Series))
		}
		if examples.Valid {
			errs = append(errs, json.Unmarshal([]byte(examples.String), &e.Examples))
		}
		if err := errors.Join(errs...); err != nil {
			return nil, fmt.Errorf("event %d: %w", e.ID, err)
		}
		e.StartsAt, e.EndsAt, e.ReceivedAt = parseTS(starts), parseTS(ends), parseTS(received)
		i, ok := index[incID]
		if !ok {
			d := Delivery{IncidentID: incID, GroupKey: gkey, New: isNew}
			if err := json.Unmarshal([]byte(glabels), &d.GroupLabels); err != nil {
				return nil, fmt.Errorf("incident %s: %w", incID, err)
			}
			i = len(out)
			index[incID] = i
			out = append(out, d)
		}
		out[i].Events = append(out[i].Events, e)
	}
	return out, rows.Err()
}

// MarkDelivered takes events out of the outbox, each only while it belongs to
// the incident it was delivered to: an incident merged away meanwhile had its
// events queued for the incident it merged into, and they stay queued.
func (s *Store) MarkDelivered(ctx context.Context, delivered []Delivery, now time.Time) error {
	return s.tx(ctx, func(tx *txn) error {
		for _, d := range delivered {
			for _, e := range d.Events {
				if _, err := tx.ExecContext(ctx, `UPDATE events SET delivered_at = ? WHERE id = ? AND incident_id = ?`, ts(now), e.ID, d.IncidentID); err != nil {
					return fmt.Errorf("store: mark event %d delivered: %w", e.ID, err)
				}
			}
		}
		return nil
	})
}

// Reroute handles events whose incident's workflow has already finished: the
// incident is marked resolved, firing events move to a new incident of the same
// group (alerts included), and resolved events are marked delivered. It returns the
// new incident's id, or "" when no event was firing.
func (s *Store) Reroute(ctx context.Context, d Delivery, now time.Time) (string, error) {
	var newID string
	err := s.lockedTx(ctx, lockRouting, func(tx *txn) error {
		newID = ""
		if _, err := tx.ExecContext(ctx, `UPDATE incidents SET status = 'resolved', updated_at = ? WHERE id = ? AND status <> 'resolved'`, ts(now), d.IncidentID); err != nil {
			return err
		}
		for _, e := range d.Events {
			if e.Status != incident.AlertFiring {
				if _, err := tx.ExecContext(ctx, `UPDATE events SET delivered_at = ? WHERE id = ?`, ts(now), e.ID); err != nil {
					return err
				}
				continue
			}
			if newID == "" {
				id, plan, err := s.router.Reopen(txView{ctx, tx}, d.GroupKey, d.GroupLabels, e.Labels, now)
				if err != nil {
					return err
				}
				// The plan opens the incident at most: it stores no events.
				if err := apply(ctx, tx, "", plan, now); err != nil {
					return err
				}
				newID = id
			}
			if _, err := tx.ExecContext(ctx, `UPDATE events SET incident_id = ? WHERE id = ?`, newID, e.ID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE alerts SET incident_id = ? WHERE fingerprint = ? AND incident_id = ?`, newID, e.Fingerprint, d.IncidentID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("store: reroute events of %s: %w", d.IncidentID, err)
	}
	return newID, nil
}
