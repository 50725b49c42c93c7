package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vigilops/vigil/incident"
)

// AlertIn is one normalised alert as a receiver hands it to IngestAlerts.
type AlertIn struct {
	Fingerprint  string
	Status       string // firing | resolved
	Labels       map[string]string
	Annotations  map[string]string
	StartsAt     time.Time
	EndsAt       time.Time
	GeneratorURL string
	// GroupKey identifies the incident group (the values of the group_by labels);
	// GroupLabels are those labels.
	GroupKey    string
	GroupLabels map[string]string
}

// IngestResult says what IngestAlerts did with a batch.
type IngestResult struct {
	Accepted   int      // new events stored
	Duplicates int      // resends of an unchanged alert, not stored again
	Incidents  []string // incidents the new events joined, sorted
	// Outcomes says, for each alert in input order, what became of it.
	Outcomes []IngestOutcome
}

// IngestOutcome is what became of one ingested alert or event.
type IngestOutcome struct {
	Duplicate bool
	Incident  string // the incident its event joined, if any
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
	var outcomes []IngestOutcome
	err := s.tx(ctx, func(tx *sql.Tx) error {
		outcomes = make([]IngestOutcome, len(alerts))
		groups := map[string]string{} // group key → its open incident, within this batch
		for i, a := range alerts {
			incID, dup, delivered, err := routeAlert(ctx, tx, a, now, groups)
			if err != nil {
				return fmt.Errorf("alert %s: %w", a.Fingerprint, err)
			}
			if dup {
				outcomes[i].Duplicate = true
				continue
			}
			if err := insertEvent(ctx, tx, source, a, incID, delivered, now); err != nil {
				return fmt.Errorf("alert %s: %w", a.Fingerprint, err)
			}
			outcomes[i].Incident = incID
		}
		return nil
	})
	if err != nil {
		return IngestResult{}, fmt.Errorf("store: ingest: %w", err)
	}
	return Summarize(outcomes), nil
}

// routeAlert decides whether an alert is a duplicate and which incident its event
// joins, and records the alert's new state. delivered is true when the event needs
// no delivery (a resolve for an incident that is already over).
func routeAlert(ctx context.Context, tx *sql.Tx, a AlertIn, now time.Time, groups map[string]string) (incID string, dup, delivered bool, err error) {
	var prevStatus, prevStart string
	var prevInc, prevIncStatus sql.NullString
	err = tx.QueryRowContext(ctx, `
		SELECT a.status, a.starts_at, a.incident_id, i.status
		FROM alerts a LEFT JOIN incidents i ON i.id = a.incident_id
		WHERE a.fingerprint = ?`, a.Fingerprint).Scan(&prevStatus, &prevStart, &prevInc, &prevIncStatus)
	seen := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", false, false, err
	}
	if seen && prevStatus == a.Status && prevStart == ts(a.StartsAt) {
		return "", true, false, nil
	}
	incOpen := prevInc.Valid && prevIncStatus.String != string(incident.StatusResolved)
	switch {
	case a.Status == incident.AlertResolved && prevInc.Valid:
		incID, delivered = prevInc.String, !incOpen
	case a.Status == incident.AlertResolved:
		// Resolved without ever firing here: keep the record, open nothing.
	case incOpen:
		incID = prevInc.String
	case groups[a.GroupKey] != "":
		incID = groups[a.GroupKey]
	default:
		incID, err = openIncidentFor(ctx, tx, a, now)
		groups[a.GroupKey] = incID
		if err != nil {
			return "", false, false, err
		}
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO alerts (fingerprint, status, starts_at, incident_id, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (fingerprint) DO UPDATE SET status = excluded.status, starts_at = excluded.starts_at,
			incident_id = COALESCE(excluded.incident_id, alerts.incident_id), updated_at = excluded.updated_at`,
		a.Fingerprint, a.Status, ts(a.StartsAt), nullable(incID), ts(now))
	return incID, false, delivered, err
}

// openIncidentFor returns the group's open incident, creating one if there is none.
func openIncidentFor(ctx context.Context, tx *sql.Tx, a AlertIn, now time.Time) (string, error) {
	var id string
	err := tx.QueryRowContext(ctx, `SELECT id FROM incidents WHERE group_key = ? AND status <> 'resolved' ORDER BY num DESC LIMIT 1`, a.GroupKey).Scan(&id)
	if err == nil || !errors.Is(err, sql.ErrNoRows) {
		return id, err
	}
	return createIncident(ctx, tx, a.GroupKey, a.GroupLabels, a.Labels, now)
}

func createIncident(ctx context.Context, tx *sql.Tx, key string, group, labels map[string]string, now time.Time) (string, error) {
	var num int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(num), 0) + 1 FROM incidents`).Scan(&num); err != nil {
		return "", err
	}
	id := incident.NewID(num, group)
	gl, err := json.Marshal(group)
	if err != nil {
		return "", err
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO incidents (id, num, group_key, group_labels, status, title, severity, created_at, updated_at)
		VALUES (?, ?, ?, ?, 'open', ?, ?, ?, ?)`,
		id, num, key, string(gl), incident.TitleFor(group), labels["severity"], ts(now), ts(now))
	if err != nil {
		return "", err
	}
	// Known at once, so signals about the service join the incident before its
	// workflow has saved anything.
	if svc := cmp.Or(group["service"], labels["service"]); svc != "" {
		_, err = tx.ExecContext(ctx, `INSERT OR IGNORE INTO incident_services (incident_id, service) VALUES (?, ?)`, id, svc)
	}
	return id, err
}

func insertEvent(ctx context.Context, tx *sql.Tx, source string, a AlertIn, incID string, delivered bool, now time.Time) error {
	labels, err := json.Marshal(a.Labels)
	if err != nil {
		return err
	}
	ann, err := json.Marshal(nonNil(a.Annotations))
	if err != nil {
		return err
	}
	var deliveredAt any
	if delivered {
		deliveredAt = ts(now)
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO events (incident_id, source, kind, fingerprint, status, labels, annotations, starts_at, ends_at, generator_url, received_at, delivered_at)
		VALUES (?, ?, 'alert', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		nullable(incID), source, a.Fingerprint, a.Status, string(labels), string(ann),
		ts(a.StartsAt), ts(a.EndsAt), a.GeneratorURL, ts(now), deliveredAt)
	return err
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

// Delivery is a batch of undelivered events for one incident.
type Delivery struct {
	IncidentID  string
	GroupKey    string
	GroupLabels map[string]string
	Events      []incident.Event
}

// Outbox returns up to limit undelivered events, oldest first, batched by incident
// in order of each incident's oldest event.
func (s *Store) Outbox(ctx context.Context, limit int) ([]Delivery, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT e.id, e.incident_id, e.source, e.kind, e.fingerprint, e.status, e.labels, e.annotations,
		       e.starts_at, e.ends_at, e.generator_url, e.received_at, i.group_key, i.group_labels,
		       e.summary, e.value, e.series, e.examples
		FROM events e JOIN incidents i ON i.id = e.incident_id
		WHERE e.delivered_at IS NULL AND e.incident_id IS NOT NULL
		ORDER BY e.id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: outbox: %w", err)
	}
	defer rows.Close()
	var out []Delivery
	index := map[string]int{}
	for rows.Next() {
		var e incident.Event
		var incID, labels, ann, starts, ends, received, gkey, glabels string
		var series, examples sql.NullString
		if err := rows.Scan(&e.ID, &incID, &e.Source, &e.Kind, &e.Fingerprint, &e.Status, &labels, &ann,
			&starts, &ends, &e.GeneratorURL, &received, &gkey, &glabels, &e.Summary, &e.Value, &series, &examples); err != nil {
			return nil, fmt.Errorf("store: outbox: %w", err)
		}
		errs := []error{json.Unmarshal([]byte(labels), &e.Labels), json.Unmarshal([]byte(ann), &e.Annotations)}
		if series.Valid {
			errs = append(errs, json.Unmarshal([]byte(series.String), &e.Series))
		}
		if examples.Valid {
			errs = append(errs, json.Unmarshal([]byte(examples.String), &e.Examples))
		}
		if err := errors.Join(errs...); err != nil {
			return nil, fmt.Errorf("store: outbox: event %d: %w", e.ID, err)
		}
		e.StartsAt, e.EndsAt, e.ReceivedAt = parseTS(starts), parseTS(ends), parseTS(received)
		i, ok := index[incID]
		if !ok {
			d := Delivery{IncidentID: incID, GroupKey: gkey}
			if err := json.Unmarshal([]byte(glabels), &d.GroupLabels); err != nil {
				return nil, fmt.Errorf("store: outbox: incident %s: %w", incID, err)
			}
			i = len(out)
			index[incID] = i
			out = append(out, d)
		}
		out[i].Events = append(out[i].Events, e)
	}
	return out, rows.Err()
}

// MarkDelivered takes events out of the outbox.
func (s *Store) MarkDelivered(ctx context.Context, ids []int64, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE events SET delivered_at = ? WHERE id = ?`, ts(now), id); err != nil {
				return fmt.Errorf("store: mark event %d delivered: %w", id, err)
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
	err := s.tx(ctx, func(tx *sql.Tx) error {
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
				var err error
				if newID, err = openIncidentFor(ctx, tx, AlertIn{GroupKey: d.GroupKey, GroupLabels: d.GroupLabels, Labels: e.Labels}, now); err != nil {
					return err
				}
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
