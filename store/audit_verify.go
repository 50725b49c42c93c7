package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// CheckpointError names a signed checkpoint that is itself bad: altered, forged,
// signed by an untrusted key, missing from the sequence, or vouching for an
// incident's records that are not what the trail holds.
type CheckpointError struct {
	N   int64
	Err error
}

func (e *CheckpointError) Error() string { return fmt.Sprintf("audit checkpoint #%d: %v", e.N, e.Err) }

func (e *CheckpointError) Unwrap() error { return e.Err }

// AuditVerification is what a verification established.
type AuditVerification struct {
	Records     int      // records whose link and content hash were checked
	Head        int64    // seq of the last record
	Checkpoints int      // checkpoints checked against the chain
	Witnesses   int      // outside checkpoints checked against the chain
	Signed      bool     // signatures were checked with trusted keys
	KeyIDs      []string // keys that signed the checkpoints, sorted
}

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
func (s *Store) VerifyAuditWith(ctx context.Context, keys Keys, witnesses []Checkpoint) (AuditVerification, error) {
	v, err := walkChain(ctx, s.db, keys, witnesses)
	if err != nil && !isTrailError(err) {
		err = fmt.Errorf("store: verify audit: %w", err)
	}
	return v, err
}

func isTrailError(err error) bool {
	var ce *ChainError
	var ke *CheckpointError
	return errors.As(err, &ce) || errors.As(err, &ke)
}

// chainWalk is the state of one verification.
type chainWalk struct {
	keys      Keys
	v         AuditVerification
	prev      AuditRecord // the last record seen (Seq 0 before the first)
	lastN     int64       // the last checkpoint number seen
	coveredTo int64       // the highest seq a checkpoint covers
	// beyond is the first checkpoint that covers a record not seen yet; the next
	// record, or the end of the trail, says whether records were deleted.
	beyond    *Checkpoint
	incidents map[string]*incidentDigest
	keyIDs    map[string]bool
	witnesses map[int64][]Checkpoint // by seq
}

// walkChain verifies the trail (records and checkpoints, merged in seq order by
// one query so both come from the same snapshot).
func walkChain(ctx context.Context, q querier, keys Keys, witnesses []Checkpoint) (AuditVerification, error) {
	w := &chainWalk{keys: keys, incidents: map[string]*incidentDigest{}, keyIDs: map[string]bool{}, witnesses: map[int64][]Checkpoint{}}
	w.v.Signed = keys != nil
	for _, c := range witnesses {
		w.witnesses[c.Seq] = append(w.witnesses[c.Seq], c)
	}
	// Records sort before checkpoints of the same seq (n = 0 against n >= 1).
	// Checkpoints are placed by the seq their signed body names; the seq column
	// is only an index, and open checks that it agrees.
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
		return w.v, err
	}
	defer rows.Close()
	for rows.Next() {
		var r AuditRecord
		var n int64
		var details string
		var c checkpointRow
		var sig string
		if err := rows.Scan(&r.Seq, &n, &r.Key, &r.Incident, &r.At, &r.Actor, &r.Action, &details, &r.PrevHash, &r.Hash, &c.keyID, &c.body, &sig, &c.seq); err != nil {
			return w.v, err
		}
		if n == 0 {
			r.Details = []byte(details)
			err = w.record(r)
		} else {
			c.n, c.incident = n, r.Incident
			c.sig, c.sigErr = decodeSig(sig)
			err = w.checkpoint(c)
		}
		if err != nil {
			return w.v, err
		}
	}
	if err := rows.Err(); err != nil {
		return w.v, err
	}
	return w.v, w.end()
}

func (w *chainWalk) record(r AuditRecord) error {
	switch {
	case r.Seq != w.prev.Seq+1:
		return &ChainError{Seq: w.prev.Seq + 1, Reason: fmt.Sprintf("missing (record %d is followed by %d): records were deleted", w.prev.Seq, r.Seq)}
	case r.PrevHash != w.prev.Hash:
		return &ChainError{Seq: r.Seq, Reason: "prev_hash does not match the hash of the record before it: the chain was altered"}
	}
	want, err := r.computeHash()
	if err != nil {
		return &ChainError{Seq: r.Seq, Reason: fmt.Sprintf("details are not valid JSON (%v): the record was altered", err)}
	}
	if want != r.Hash {
		return &ChainError{Seq: r.Seq, Reason: "content does not match its hash: the record was altered"}
	}
	for _, c := range w.witnesses[r.Seq] {
		if c.Hash != r.Hash {
			return &ChainError{Seq: r.Seq, Reason: fmt.Sprintf("hash differs from the one signed in outside checkpoint #%d: the chain was rewritten", c.N)}
		}
		w.v.Witnesses++
	}
	d := w.incidents[r.Incident]
	if d == nil {
		d = newIncidentDigest()
		w.incidents[r.Incident] = d
	}
	d.add(r.Seq, r.Hash)
	w.prev = r
	w.v.Records++
	w.v.Head = r.Seq
	return nil
}

func (w *chainWalk) checkpoint(row checkpointRow) error {
	cp, err := row.open(w.keys)
	if err != nil {
		return &CheckpointError{N: row.n, Err: err}
	}
	switch {
	case row.n <= w.lastN:
		return &CheckpointError{N: row.n, Err: fmt.Errorf("covers records through %d, fewer than checkpoint #%d before it: the checkpoint was altered", cp.Seq, w.lastN)}
	case row.n != w.lastN+1:
		return &CheckpointError{N: w.lastN + 1, Err: fmt.Errorf("missing (checkpoint #%d is followed by #%d): checkpoints were deleted", w.lastN, row.n)}
	case cp.Seq < 1:
		return &CheckpointError{N: row.n, Err: errors.New("covers no record")}
	}
	w.lastN = row.n
	w.coveredTo = cp.Seq
	w.keyIDs[cp.KeyID] = true
	w.v.KeyIDs = slices.Sorted(maps.Keys(w.keyIDs))
	w.v.Checkpoints++
	if cp.Seq > w.prev.Seq {
		if w.beyond == nil {
			w.beyond = &cp
		}
		return nil
	}
	if cp.Hash != w.prev.Hash {
		return &ChainError{Seq: cp.Seq, Reason: fmt.Sprintf("hash differs from the one signed in checkpoint #%d: the chain was rewritten", cp.N)}
	}
	if cp.Incident != "" {
		d := w.incidents[cp.Incident]
		if d == nil {
			d = newIncidentDigest()
		}
		if got := d.sum(); d.n != cp.IncidentRecords || got != cp.IncidentDigest {
			return &CheckpointError{N: cp.N, Err: fmt.Errorf("incident %s: it signs %d record(s) with digest %.12s…, the trail has %d with digest %.12s…: the incident's records were altered, removed or added",
				cp.Incident, cp.IncidentRecords, cp.IncidentDigest, d.n, got)}
		}
	}
	return nil
}

// end checks what only the end of the trail tells: checkpoints or witnesses
// beyond the last record (a truncated tail), and records no checkpoint covers.
func (w *chainWalk) end() error {
	if c := w.beyond; c != nil {
		return &ChainError{Seq: w.prev.Seq + 1, Reason: fmt.Sprintf("missing: signed checkpoint #%d covers records through %d but the trail ends at %d: records were deleted from the end", c.N, c.Seq, w.prev.Seq)}
	}
	for _, seq := range slices.Sorted(maps.Keys(w.witnesses)) {
		if seq > w.prev.Seq {
			c := w.witnesses[seq][0]
			return &ChainError{Seq: w.prev.Seq + 1, Reason: fmt.Sprintf("missing: outside checkpoint #%d covers records through %d but the trail ends at %d: records were deleted from the end", c.N, c.Seq, w.prev.Seq)}
		}
	}
	if w.prev.Seq == 0 || (w.keys == nil && w.v.Checkpoints == 0) {
		return nil
	}
	if w.v.Checkpoints == 0 {
		return &ChainError{Seq: 1, Reason: "not covered by any signed checkpoint: the trail's checkpoints were deleted, or it was never signed"}
	}
	if w.coveredTo < w.prev.Seq {
		return &ChainError{Seq: w.coveredTo + 1, Reason: fmt.Sprintf("not covered by any signed checkpoint (the last, #%d, covers records through %d): records %d..%d were appended outside Vigil",
			w.lastN, w.coveredTo, w.coveredTo+1, w.prev.Seq)}
	}
	return nil
}
