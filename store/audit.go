package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/vigilops/vigil/audit"
)

const auditCols = `SELECT seq, key, incident_id, at, actor, action, details, prev_hash, hash FROM audit`

func scanAudit(row interface{ Scan(...any) error }) (audit.Record, error) {
	var r audit.Record
	var details string
	err := row.Scan(&r.Seq, &r.Key, &r.Incident, &r.At, &r.Actor, &r.Action, &details, &r.PrevHash, &r.Hash)
	r.Details = json.RawMessage(details)
	return r, err
}

// AuditTrail returns an incident's records in chain order.
func (s *Store) AuditTrail(ctx context.Context, incidentID string) ([]audit.Record, error) {
	rows, err := s.db.QueryContext(ctx, auditCols+` WHERE incident_id = ? ORDER BY seq`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("store: audit of %s: %w", incidentID, err)
	}
	defer rows.Close()
	var out []audit.Record
	for rows.Next() {
		r, err := scanAudit(rows)
		if err != nil {
			return nil, fmt.Errorf("store: audit of %s: %w", incidentID, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
