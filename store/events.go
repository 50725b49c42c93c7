package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigilops/vigil/analyzers/correlate"
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
		var err error
		if outcomes, err = s.ingestAlerts(ctx, tx, source, alerts, now); err != nil || also == nil {
			return err
		}
		return also(tx)
	})
	if err != nil {
		return IngestResult{}, err
	}
	return Summarize(outcomes), nil
}

// ingestAlerts routes and stores alerts in tx and returns each one's outcome.
func (s *Store) ingestAlerts(ctx context.Context, tx *txn, source string, alerts []AlertIn, now time.Time) ([]IngestOutcome, error) {
	outcomes := make([]IngestOutcome, len(alerts))
	rt := newRouting(s.corr, now)
	rt.silenced = s.silenced
	known, err := alertStates(ctx, tx, alerts)
	if err != nil {
		return nil, err
	}
	events := make([]eventRow, 0, len(alerts))
	for i, a := range alerts {
		r, err := rt.routeAlert(ctx, tx, a, known)
		if err != nil {
			return nil, fmt.Errorf("alert %s: %w", a.Fingerprint, err)
		}
		if r.duplicate {
			outcomes[i].Duplicate = true
			continue
		}
		events = append(events, eventRow{alert: &alerts[i], incident: r.incident, delivered: r.delivered})
		outcomes[i].Incident, outcomes[i].Silenced = r.incident, r.silenced
	}
	if err := writeAlertStates(ctx, tx, known, now); err != nil {
		return nil, err
	}
	if err := insertEvents(ctx, tx, source, events, now); err != nil {
		return nil, err
	}
	return outcomes, rt.flush(ctx, tx)
}

// alertState is what the store knows of an alert: its latest status and
// start, its incident and whether that incident is still open. changed marks
// states this batch has to write.
type alertState struct {
	status, start string
	incident      string
	incidentOpen  bool
	changed       bool
}

// Rows per multi-row statement: few enough to stay far below SQLite's bound
// on parameters, enough that a batch costs a handful of statements.
const rowsPerStatement = 64

// alertStates reads the stored state of every alert of the batch, in a few
// queries rather than one per alert.
func alertStates(ctx context.Context, tx *txn, alerts []AlertIn) (map[string]*alertState, error) {
	known := make(map[string]*alertState, len(alerts))
	var fps []any
	for _, a := range alerts {
		if _, ok := known[a.Fingerprint]; !ok {
			known[a.Fingerprint] = nil
			fps = append(fps, a.Fingerprint)
		}
	}
	for len(fps) > 0 {
		n := min(len(fps), 8*rowsPerStatement)
		rows, err := tx.QueryContext(ctx, `
			SELECT a.fingerprint, a.status, a.starts_at, COALESCE(a.incident_id, ''), COALESCE(i.status, '')
			FROM alerts a LEFT JOIN incidents i ON i.id = a.incident_id
			WHERE a.fingerprint IN (?`+strings.Repeat(", ?", n-1)+`)`, fps[:n]...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var fp, incStatus string
			st := &alertState{}
			if err := rows.Scan(&fp, &st.status, &st.start, &st.incident, &incStatus); err != nil {
				_ = rows.Close()
				return nil, err
			}
			st.incidentOpen = st.incident != "" && incStatus != string(incident.StatusResolved)
			known[fp] = st
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, err
		}
		fps = fps[n:]
	}
	return known, nil
}

// writeAlertStates stores the states the batch changed.
func writeAlertStates(ctx context.Context, tx *txn, known map[string]*alertState, now time.Time) error {
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
	for fp, st := range known {
		if st == nil || !st.changed {
			continue
		}
		args = append(args, fp, st.status, st.start, nullable(st.incident), ts(now))
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

// route is what becomes of one alert.
type route struct {
	incident  string // the incident its event joins, if any
	duplicate bool   // an unchanged resend: nothing is stored
	delivered bool   // the event needs no delivery (a resolve for an incident already over)
	silenced  bool   // a new firing that an active silence keeps from any incident
}

// routeAlert decides whether an alert is a duplicate and which incident its event
// joins, and records the alert's new state in known.
//
// A firing alert joins, in order: the open incident it fired in before; the
// open incident of its group key; with correlation, an open incident it is
// connected to (its group key then routes there too); or a new incident. A
// firing alert with no open incident of its own that an active silence
// matches joins none.
func (rt *routing) routeAlert(ctx context.Context, tx *txn, a AlertIn, known map[string]*alertState) (route, error) {
	prev := known[a.Fingerprint]
	start := ts(a.StartsAt)
	// Asked only of firing alerts with no open incident of their own, so the
	// common cases (resends, alerts of open incidents) never consult silences.
	muted := func() bool {
		return rt.silenced != nil && a.Status == incident.AlertFiring && rt.silenced(a.Labels, rt.now)
	}
	if prev != nil && prev.status == a.Status && prev.start == start {
		// A resend is a duplicate, unless it fires unrouted because a silence
		// held it and that silence is over: then it is routed now.
		if !(a.Status == incident.AlertFiring && prev.incident == "" && !muted()) {
			return route{duplicate: true}, nil
		}
	}
	var incID string
	var delivered, silenced bool
	var err error
	service := cmp.Or(a.Labels["service"], a.GroupLabels["service"])
	switch {
	case a.Status == incident.AlertResolved && prev != nil && prev.incident != "":
		incID, delivered = prev.incident, !prev.incidentOpen
	case a.Status == incident.AlertResolved:
		// Resolved without ever firing here: keep the record, open nothing.
	case prev != nil && prev.incidentOpen:
		incID = prev.incident
	case muted():
		silenced = true
	default:
		if incID, err = rt.firingIncident(ctx, tx, a, service, rt.now); err != nil {
			return route{}, err
		}
	}
	if incID != "" && a.Status == incident.AlertFiring {
		rt.saw(incID, service, a.StartsAt)
		if prev == nil || prev.start != start {
			rt.observe(service, a.StartsAt)
		}
	}
	next := &alertState{status: a.Status, start: start, changed: true}
	switch {
	case incID != "":
		next.incident, next.incidentOpen = incID, !delivered
	case prev != nil:
		next.incident, next.incidentOpen = prev.incident, prev.incidentOpen
	}
	known[a.Fingerprint] = next
	return route{incident: incID, delivered: delivered, silenced: silenced}, nil
}

// firingIncident returns the incident a firing alert with no open incident of
// its own joins, opening one when none fits.
func (rt *routing) firingIncident(ctx context.Context, tx *txn, a AlertIn, service string, now time.Time) (string, error) {
	if id := rt.groups[a.GroupKey]; id != "" {
		return id, nil
	}
	id, err := groupIncident(ctx, tx, a.GroupKey)
	if err != nil || id != "" {
		rt.groups[a.GroupKey] = id
		return id, err
	}
	if id, err = rt.join(ctx, tx, correlate.KindAlert, service, a.StartsAt); err != nil {
		return "", err
	}
	if id != "" {
		if _, err := tx.ExecContext(ctx, `INSERT INTO incident_groups (group_key, incident_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, a.GroupKey, id); err != nil {
			return "", err
		}
	} else if id, err = createIncident(ctx, tx, a.GroupKey, a.GroupLabels, a.Labels, now); err != nil {
		return "", err
	}
	rt.groups[a.GroupKey] = id
	return id, nil
}

// openIncidentFor returns the group's open incident, creating one if there is none.
func openIncidentFor(ctx context.Context, tx *txn, a AlertIn, now time.Time) (string, error) {
	id, err := groupIncident(ctx, tx, a.GroupKey)
	if err != nil || id != "" {
		return id, err
	}
	return createIncident(ctx, tx, a.GroupKey, a.GroupLabels, a.Labels, now)
}

func createIncident(ctx context.Context, tx *txn, key string, group, labels map[string]string, now time.Time) (string, error) {
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
		_, err = tx.ExecContext(ctx, `INSERT INTO incident_services (incident_id, service) VALUES (?, ?) ON CONFLICT DO NOTHING`, id, svc)
	}
	return id, err
}

// eventRow is an alert event to insert.
type eventRow struct {
	alert     *AlertIn
	incident  string
	delivered bool
}

// insertEvents stores alert events in input order, a few rows per statement.
func insertEvents(ctx context.Context, tx *txn, source string, events []eventRow, now time.Time) error {
	const cols = 11
	received := ts(now)
	args := make([]any, 0, cols*min(len(events), rowsPerStatement))
	for i, e := range events {
		a := e.alert
		labels, err := json.Marshal(a.Labels)
		if err != nil {
			return fmt.Errorf("alert %s: %w", a.Fingerprint, err)
		}
		ann, err := json.Marshal(nonNil(a.Annotations))
		if err != nil {
			return fmt.Errorf("alert %s: %w", a.Fingerprint, err)
		}
		var deliveredAt any
		if e.delivered {
			deliveredAt = received
		}
		args = append(args, nullable(e.incident), source, a.Fingerprint, a.Status, string(labels), string(ann),
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
