package store

import (
	"context"
	"fmt"

	"github.com/vigilops/vigil/audit"
)

// VerifyAudit verifies the trail with the keys the store signs with (see
// EnableSigning), or without signatures when it does not sign, and returns the
// number of intact records before the first problem. See VerifyAuditWith.
func (s *Store) VerifyAudit(ctx context.Context) (int, error) {
	v, err := s.VerifyAuditWith(ctx, s.trustedKeys(), nil)
	return v.Records, err
}

// VerifyAuditWith walks the whole trail and returns a *ChainError for the first
// record that was altered, removed, reordered, appended outside Vigil, or rewritten
// under a signed checkpoint, or a *CheckpointError for the first bad checkpoint.
//
// With keys, every checkpoint's signature must verify with one of them, and every
// record must be covered by a checkpoint. With keys nil, signatures are not
// checked (Signed is false) but checkpoints must still agree with the chain.
//
// witnesses are checkpoints obtained outside this store (from an exported bundle
// or a posted postmortem); each must agree with the chain. They catch what no
// local check can: the newest records deleted together with their checkpoints.
//
// The trail is read in one statement, so a Vigil appending meanwhile is not
// mistaken for tampering.
func (s *Store) VerifyAuditWith(ctx context.Context, keys audit.Keys, witnesses []audit.Checkpoint) (audit.Verification, error) {
	v, err := walkChain(ctx, s.db, keys, witnesses)
	if err != nil && !audit.IsTrailError(err) {
		err = fmt.Errorf("store: verify audit: %w", err)
	}
	return v, err
}

// walkChain verifies the trail (records and checkpoints, merged in seq order by
// one query so both come from the same snapshot).
func walkChain(ctx context.Context, q querier, keys audit.Keys, witnesses []audit.Checkpoint) (audit.Verification, error) {
	w := audit.NewWalk(keys, witnesses)
	// Records sort before checkpoints of the same seq (n = 0 against n >= 1).
	// Checkpoints are placed by the seq their signed body names; the seq column
	// is only an index, and Open checks that it agrees.
	signedSeq := `CASE WHEN json_valid(body) THEN json_extract(body, '$.seq') ELSE seq END`
	if q.dialect() == Postgres {
		signedSeq = `vigil_checkpoint_seq(body, seq)`
	}
	rows, err := q.QueryContext(ctx, `
		SELECT seq, 0, key, incident_id, at, actor, action, details, prev_hash, hash, '', '', '', 0
		FROM audit
		UNION ALL
		SELECT `+signedSeq+`,
		       n, '', incident_id, '', '', '', '', '', '', key_id, body, signature, seq
		FROM audit_checkpoints
		ORDER BY 1, 2`)
	if err != nil {
		return w.Verification(), err
	}
	defer rows.Close()
	for rows.Next() {
		var r audit.Record
		var n int64
		var details string
		var c audit.StoredCheckpoint
		var sig string
		if err := rows.Scan(&r.Seq, &n, &r.Key, &r.Incident, &r.At, &r.Actor, &r.Action, &details, &r.PrevHash, &r.Hash, &c.KeyID, &c.Body, &sig, &c.Seq); err != nil {
			return w.Verification(), err
		}
		if n == 0 {
			r.Details = []byte(details)
			err = w.Record(r)
		} else {
			c.N, c.Incident = n, r.Incident
			c.Signature, c.SignatureErr = decodeSig(sig)
			err = w.Checkpoint(c)
		}
		if err != nil {
			return w.Verification(), err
		}
	}
	if err := rows.Err(); err != nil {
		return w.Verification(), err
	}
	return w.Verification(), w.End()
}
