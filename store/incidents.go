package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/vigilops/vigil/incident"
)

// SaveIncident stores the workflow's projection of an incident and its services.
// An incident merged into another stays resolved here, whatever its workflow
// says, so nothing routes to it.
// version must grow with every save; a save carrying an older version than the
// stored one (a retried activity overtaken by a newer save) is ignored.
func (s *Store) SaveIncident(ctx context.Context, inc incident.Incident, version int64) error {
	state, err := json.Marshal(inc)
	if err != nil {
		return fmt.Errorf("store: save incident %s: %w", inc.ID, err)
	}
	err = s.tx(ctx, func(tx *txn) error {
		// A resolve the workflow decided before it saw every alert state the
		// store has routed to the incident keeps the row's status: routing
		// goes on sending the group's alerts here, and the workflow, once it
		// has them, reopens the incident (or, finished, has them rerouted).
		// Marking it resolved at once would open a second incident for the
		// same group beside the one the workflow is about to reopen.
		status := string(inc.Status)
		if inc.Status == incident.StatusResolved {
			behind, err := projectionBehind(ctx, tx, inc)
			if err != nil {
				return err
			}
			if behind {
				status = ""
			}
		}
		res, err := tx.ExecContext(ctx, `
			UPDATE incidents SET status = CASE WHEN merged_into IS NOT NULL THEN 'resolved' WHEN ?1 = '' THEN status ELSE ?1 END,
				title = ?2, severity = ?3, updated_at = ?4, state = ?5, version = ?6
			WHERE id = ?7 AND version < ?6`,
			status, inc.Title, inc.Severity, ts(inc.UpdatedAt), string(state), version, inc.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var exists int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM incidents WHERE id = ?`, inc.ID).Scan(&exists); err != nil {
				return err
			}
			if exists == 0 {
				return ErrNotFound
			}
			return nil // a newer version is already stored
		}
		for _, svc := range inc.Services {
			if _, err := tx.ExecContext(ctx, `INSERT INTO incident_services (incident_id, service) VALUES (?, ?) ON CONFLICT DO NOTHING`, inc.ID, svc); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: save incident %s: %w", inc.ID, err)
	}
	return nil
}

// Incident returns the latest projection of an incident. An incident whose workflow
// has not saved yet is returned from its row alone.
func (s *Store) Incident(ctx context.Context, id string) (incident.Incident, error) {
	row := s.db.QueryRowContext(ctx, incidentCols+` WHERE id = ?`, id)
	inc, err := scanIncident(row)
	if errors.Is(err, sql.ErrNoRows) {
		return incident.Incident{}, fmt.Errorf("incident %s: %w", id, ErrNotFound)
	}
	return inc, err
}

// IncidentFilter narrows ListIncidents; zero values match everything.
type IncidentFilter struct {
	Status incident.Status
	Since  time.Time
	Limit  int // default 100
}

// ListIncidents returns incidents newest first.
func (s *Store) ListIncidents(ctx context.Context, f IncidentFilter) ([]incident.Incident, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	rows, err := s.db.QueryContext(ctx, incidentCols+`
		WHERE (? = '' OR status = ?) AND (? = '' OR created_at >= ?)
		ORDER BY num DESC LIMIT ?`,
		string(f.Status), string(f.Status), ts(f.Since), ts(f.Since), f.Limit)
	if err != nil {
		return nil, fmt.Errorf("store: list incidents: %w", err)
	}
	defer rows.Close()
	var out []incident.Incident
	for rows.Next() {
		inc, err := scanIncident(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, inc)
	}
	return out, rows.Err()
}

const incidentCols = `SELECT id, group_key, group_labels, status, title, severity, created_at, updated_at, state FROM incidents`

func scanIncident(row interface{ Scan(...any) error }) (incident.Incident, error) {
	var inc incident.Incident
	var glabels, status, created, updated string
	var state sql.NullString
	if err := row.Scan(&inc.ID, &inc.Key, &glabels, &status, &inc.Title, &inc.Severity, &created, &updated, &state); err != nil {
		return inc, err
	}
	if state.Valid {
		if err := json.Unmarshal([]byte(state.String), &inc); err != nil {
			return inc, fmt.Errorf("store: incident %s: corrupt state: %w", inc.ID, err)
		}
	} else {
		inc.DetectedAt, inc.UpdatedAt = parseTS(created), parseTS(updated)
		if err := json.Unmarshal([]byte(glabels), &inc.GroupLabels); err != nil {
			return inc, fmt.Errorf("store: incident %s: corrupt group labels: %w", inc.ID, err)
		}
	}
	// The row's status wins: Reroute may close an incident whose workflow is gone.
	inc.Status = incident.Status(status)
	return inc, nil
}

// projectionBehind reports whether the store holds an alert state routed to
// inc that inc does not show: an alert it does not list, or one whose status
// or start differs. Every such state is an event on its way to the workflow.
func projectionBehind(ctx context.Context, tx *txn, inc incident.Incident) (bool, error) {
	known := make(map[string]incident.Alert, len(inc.Alerts))
	for _, a := range inc.Alerts {
		known[a.Fingerprint] = a
	}
	rows, err := tx.QueryContext(ctx, `SELECT fingerprint, status, starts_at FROM alerts WHERE incident_id = ?`, inc.ID)
	if err != nil {
		return false, fmt.Errorf("alerts of %s: %w", inc.ID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var fp, status, start string
		if err := rows.Scan(&fp, &status, &start); err != nil {
			return false, err
		}
		if a, ok := known[fp]; !ok || a.Status != status || ts(a.StartsAt) != start {
			return true, nil
		}
	}
	return false, rows.Err()
}
