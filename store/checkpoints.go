package store

import (
	"context"
	"encoding/base64"
	"fmt"

	"github.com/vigilops/vigil/audit"
)

const checkpointCols = `SELECT n, seq, incident_id, key_id, body, signature FROM audit_checkpoints`

func scanCheckpoint(row interface{ Scan(...any) error }) (audit.StoredCheckpoint, error) {
	var c audit.StoredCheckpoint
	var sig string
	if err := row.Scan(&c.N, &c.Seq, &c.Incident, &c.KeyID, &c.Body, &sig); err != nil {
		return c, err
	}
	c.Signature, c.SignatureErr = decodeSig(sig)
	return c, nil
}

func decodeSig(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

func insertCheckpoint(ctx context.Context, tx *txn, cp audit.Checkpoint) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_checkpoints (n, seq, incident_id, key_id, body, signature) VALUES (?, ?, ?, ?, ?, ?)`,
		cp.N, cp.Seq, cp.Incident, cp.KeyID, cp.Body, base64.StdEncoding.EncodeToString(cp.Signature))
	if err != nil {
		return fmt.Errorf("insert checkpoint %d: %w", cp.N, err)
	}
	return nil
}
