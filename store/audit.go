package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// AuditEntry is an act to record.
type AuditEntry struct {
	// Key makes the append idempotent: appending an entry whose key is already in
	// the trail returns the existing record (a retried activity records once).
	Key      string
	Incident string
	At       time.Time
	Actor    string // user:ID for people, system:COMPONENT for Vigil
	Action   string // e.g. incident.opened, decision.approve, step.finished
	Details  any    // marshalled to JSON
}

// AuditRecord is one link of the hash chain.
type AuditRecord struct {
	Seq      int64           `json:"seq"`
	Key      string          `json:"key"`
	Incident string          `json:"incident"`
	At       string          `json:"at"`
	Actor    string          `json:"actor"`
	Action   string          `json:"action"`
	Details  json.RawMessage `json:"details"`
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"-"`
}

// computeHash is sha256 over the record's canonical JSON: the fields above in
// declaration order, compact, with PrevHash included and Hash excluded. Changing any
// field of any record, or removing or reordering records, breaks the chain.
func (r AuditRecord) computeHash() (string, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// AppendAudit adds a record to the end of the chain.
func (s *Store) AppendAudit(ctx context.Context, e AuditEntry) (AuditRecord, error) {
	details, err := json.Marshal(e.Details)
	if err != nil {
		return AuditRecord{}, fmt.Errorf("store: audit %s: details: %w", e.Action, err)
	}
	var rec AuditRecord
	err = s.tx(ctx, func(tx *sql.Tx) error {
		existing, err := scanAudit(tx.QueryRowContext(ctx, auditCols+` WHERE key = ?`, e.Key))
		if err == nil {
			rec = existing
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		rec = AuditRecord{Key: e.Key, Incident: e.Incident, At: ts(e.At), Actor: e.Actor, Action: e.Action, Details: details}
		err = tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&rec.Seq, &rec.PrevHash)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		rec.Seq++
		if rec.Hash, err = rec.computeHash(); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `
			INSERT INTO audit (seq, key, incident_id, at, actor, action, details, prev_hash, hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			rec.Seq, rec.Key, rec.Incident, rec.At, rec.Actor, rec.Action, string(rec.Details), rec.PrevHash, rec.Hash)
		return err
	})
	if err != nil {
		return AuditRecord{}, fmt.Errorf("store: audit %s %s: %w", e.Incident, e.Action, err)
	}
	return rec, nil
}

const auditCols = `SELECT seq, key, incident_id, at, actor, action, details, prev_hash, hash FROM audit`

func scanAudit(row interface{ Scan(...any) error }) (AuditRecord, error) {
	var r AuditRecord
	var details string
	err := row.Scan(&r.Seq, &r.Key, &r.Incident, &r.At, &r.Actor, &r.Action, &details, &r.PrevHash, &r.Hash)
	r.Details = json.RawMessage(details)
	return r, err
}

// AuditTrail returns an incident's records in chain order.
func (s *Store) AuditTrail(ctx context.Context, incidentID string) ([]AuditRecord, error) {
	rows, err := s.db.QueryContext(ctx, auditCols+` WHERE incident_id = ? ORDER BY seq`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("store: audit of %s: %w", incidentID, err)
	}
	defer rows.Close()
	var out []AuditRecord
	for rows.Next() {
		r, err := scanAudit(rows)
		if err != nil {
			return nil, fmt.Errorf("store: audit of %s: %w", incidentID, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ChainError names the first record where the audit chain breaks.
type ChainError struct {
	Seq    int64
	Reason string
}

func (e *ChainError) Error() string { return fmt.Sprintf("audit record %d: %s", e.Seq, e.Reason) }

// VerifyAudit walks the whole chain and returns the number of records checked, or a
// *ChainError for the first record that was altered, removed or reordered.
func (s *Store) VerifyAudit(ctx context.Context) (int, error) {
	rows, err := s.db.QueryContext(ctx, auditCols+` ORDER BY seq`)
	if err != nil {
		return 0, fmt.Errorf("store: verify audit: %w", err)
	}
	defer rows.Close()
	var n int
	var prev AuditRecord
	for rows.Next() {
		r, err := scanAudit(rows)
		if err != nil {
			return n, fmt.Errorf("store: verify audit: %w", err)
		}
		switch {
		case r.Seq != prev.Seq+1:
			return n, &ChainError{Seq: prev.Seq + 1, Reason: fmt.Sprintf("missing (record %d is followed by %d): records were deleted", prev.Seq, r.Seq)}
		case r.PrevHash != prev.Hash:
			return n, &ChainError{Seq: r.Seq, Reason: "prev_hash does not match the hash of the record before it: the chain was altered"}
		}
		want, err := r.computeHash()
		if err != nil {
			return n, &ChainError{Seq: r.Seq, Reason: fmt.Sprintf("details are not valid JSON (%v): the record was altered", err)}
		}
		if want != r.Hash {
			return n, &ChainError{Seq: r.Seq, Reason: "content does not match its hash: the record was altered"}
		}
		prev = r
		n++
	}
	return n, rows.Err()
}
