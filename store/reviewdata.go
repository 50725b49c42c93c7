package store

import (
	"context"
	"fmt"
	"time"

	"github.com/vigilops/vigil/incident"
)

// EventCount is how many alert events of one service and status were received.
type EventCount struct {
	Service string // the alert's service label; "" when it has none
	Status  string // firing | resolved
	Count   int
}

// CountEvents counts the alert events received in [since, until), by service and
// status: what came in, for reports to set against the incidents that came out.
// Events pruned by retention are no longer counted.
func (s *Store) CountEvents(ctx context.Context, since, until time.Time) ([]EventCount, error) {
	service := `json_extract(labels, '$.service')`
	if s.db.engine == Postgres {
		service = `labels::jsonb ->> 'service'`
	}
	rows, err := s.db.QueryContext(ctx, `
		SELECT COALESCE(`+service+`, ''), status, count(*)
		FROM events WHERE kind = 'alert' AND received_at >= ? AND received_at < ?
		GROUP BY 1, 2 ORDER BY 1, 2`, ts(since), ts(until))
	if err != nil {
		return nil, fmt.Errorf("store: count events: %w", err)
	}
	defer rows.Close()
	var out []EventCount
	for rows.Next() {
		var c EventCount
		if err := rows.Scan(&c.Service, &c.Status, &c.Count); err != nil {
			return nil, fmt.Errorf("store: count events: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// IncidentsOpened returns the incidents Vigil opened in [since, until), oldest
// first, each as its latest projection.
func (s *Store) IncidentsOpened(ctx context.Context, since, until time.Time) ([]incident.Incident, error) {
	rows, err := s.db.QueryContext(ctx, incidentCols+` WHERE created_at >= ? AND created_at < ? ORDER BY num`, ts(since), ts(until))
	if err != nil {
		return nil, fmt.Errorf("store: incidents opened: %w", err)
	}
	defer rows.Close()
	var out []incident.Incident
	for rows.Next() {
		inc, err := scanIncident(rows)
		if err != nil {
			return nil, fmt.Errorf("store: incidents opened: %w", err)
		}
		out = append(out, inc)
	}
	return out, rows.Err()
}
