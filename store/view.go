package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/routing"
)

// txView is routing's view of the store: it reads the routing transaction the
// batch's plan is then applied in.
type txView struct {
	ctx context.Context
	tx  *txn
}

var _ routing.View = txView{}

// Rows per multi-row statement: few enough to stay far below SQLite's bound
// on parameters, enough that a batch costs a handful of statements.
const rowsPerStatement = 64

// AlertStates reads the stored state of every alert of the batch, in a few
// queries rather than one per alert.
func (v txView) AlertStates(fps []string) (map[string]routing.AlertState, error) {
	known := make(map[string]routing.AlertState, len(fps))
	args := make([]any, 0, min(len(fps), 8*rowsPerStatement))
	for len(fps) > 0 {
		n := min(len(fps), 8*rowsPerStatement)
		args = args[:0]
		for _, fp := range fps[:n] {
			args = append(args, fp)
		}
		rows, err := v.tx.QueryContext(v.ctx, `
			SELECT a.fingerprint, a.status, a.starts_at, COALESCE(a.incident_id, ''), COALESCE(i.status, '')
			FROM alerts a LEFT JOIN incidents i ON i.id = a.incident_id
			WHERE a.fingerprint IN (?`+strings.Repeat(", ?", n-1)+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var fp, start, incStatus string
			var st routing.AlertState
			if err := rows.Scan(&fp, &st.Status, &start, &st.Incident, &incStatus); err != nil {
				_ = rows.Close()
				return nil, err
			}
			st.Start = parseTS(start)
			st.IncidentOpen = st.Incident != "" && incStatus != string(incident.StatusResolved)
			known[fp] = st
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, err
		}
		fps = fps[n:]
	}
	return known, nil
}

// GroupIncident returns the open incident that alerts of a group key join:
// the group's own, or one it joined through correlation.
func (v txView) GroupIncident(key string) (string, error) {
	var id string
	err := v.tx.QueryRowContext(v.ctx, `
		SELECT id FROM (
			SELECT id, num FROM incidents WHERE group_key = ?1 AND status <> 'resolved'
			UNION ALL
			SELECT i.id, i.num FROM incident_groups g JOIN incidents i ON i.id = g.incident_id
			WHERE g.group_key = ?1 AND i.status <> 'resolved'
		) AS open_groups ORDER BY num DESC LIMIT 1`, key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// OpenIncidents reads the open incidents, their signal times and services.
func (v txView) OpenIncidents() ([]routing.OpenIncident, error) {
	rows, err := v.tx.QueryContext(v.ctx, `
		SELECT i.id, i.created_at, i.first_signal_at, i.last_signal_at, COALESCE(s.service, '')
		FROM incidents i LEFT JOIN incident_services s ON s.incident_id = i.id
		WHERE i.status <> 'resolved' ORDER BY i.num`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []routing.OpenIncident
	index := map[string]int{} // incident → its position in out
	for rows.Next() {
		var id, created, first, last, svc string
		if err := rows.Scan(&id, &created, &first, &last, &svc); err != nil {
			return nil, err
		}
		i, ok := index[id]
		if !ok {
			i = len(out)
			index[id] = i
			out = append(out, routing.OpenIncident{ID: id, First: parseTS(first), Last: parseTS(last), Created: parseTS(created)})
		}
		if svc != "" {
			out[i].Services = append(out[i].Services, svc)
		}
	}
	return out, rows.Err()
}

// ServiceIncident returns the newest open incident that concerns service.
func (v txView) ServiceIncident(service string) (string, error) {
	var id string
	err := v.tx.QueryRowContext(v.ctx, `
		SELECT i.id FROM incidents i JOIN incident_services s ON s.incident_id = i.id
		WHERE s.service = ? AND i.status <> 'resolved' ORDER BY i.num DESC LIMIT 1`, service).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// SignalStored reports whether an event of kind with fingerprint and start is
// stored.
func (v txView) SignalStored(kind incident.EventKind, fingerprint string, startsAt time.Time) (bool, error) {
	var n int
	err := v.tx.QueryRowContext(v.ctx, `SELECT count(*) FROM events WHERE fingerprint = ? AND starts_at = ? AND kind = ?`,
		fingerprint, ts(startsAt), string(kind)).Scan(&n)
	return n > 0, err
}

// MaxNumber returns the highest incident number, 0 before the first.
func (v txView) MaxNumber() (int64, error) {
	var num int64
	err := v.tx.QueryRowContext(v.ctx, `SELECT COALESCE(MAX(num), 0) FROM incidents`).Scan(&num)
	return num, err
}
