package audit

import (
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

// Verification is what a verification established.
type Verification struct {
	Records     int      // records whose link and content hash were checked
	Head        int64    // seq of the last record
	Checkpoints int      // checkpoints checked against the chain
	Witnesses   int      // outside checkpoints checked against the chain
	Signed      bool     // signatures were checked with trusted keys
	KeyIDs      []string // keys that signed the checkpoints, sorted
}

// IsTrailError reports whether err is a finding about the trail (a
// *ChainError or *CheckpointError) rather than a failure to read it.
func IsTrailError(err error) bool {
	var ce *ChainError
	var ke *CheckpointError
	return errors.As(err, &ce) || errors.As(err, &ke)
}

// Walk verifies a trail fed to it in seq order: each record, and each
// checkpoint after the records it covers (records sort before checkpoints of
// the same seq), then End.
type Walk struct {
	keys      Keys
	v         Verification
	prev      Record // the last record seen (Seq 0 before the first)
	lastN     int64  // the last checkpoint number seen
	coveredTo int64  // the highest seq a checkpoint covers
	// beyond is the first checkpoint that covers a record not seen yet; the next
	// record, or the end of the trail, says whether records were deleted.
	beyond    *Checkpoint
	incidents map[string]*incidentDigest
	keyIDs    map[string]bool
	witnesses map[int64][]Checkpoint // by seq
}

// NewWalk starts a verification: with keys, every checkpoint's signature
// must verify with one of them and every record must be covered; with keys
// nil, signatures are not checked. witnesses are checkpoints obtained outside
// the store; each must agree with the chain.
func NewWalk(keys Keys, witnesses []Checkpoint) *Walk {
	w := &Walk{keys: keys, incidents: map[string]*incidentDigest{}, keyIDs: map[string]bool{}, witnesses: map[int64][]Checkpoint{}}
	w.v.Signed = keys != nil
	for _, c := range witnesses {
		w.witnesses[c.Seq] = append(w.witnesses[c.Seq], c)
	}
	return w
}

// Verification is what the walk has established so far.
func (w *Walk) Verification() Verification { return w.v }

// Record checks the next record.
func (w *Walk) Record(r Record) error {
	switch {
	case r.Seq != w.prev.Seq+1:
		return &ChainError{Seq: w.prev.Seq + 1, Reason: fmt.Sprintf("missing (record %d is followed by %d): records were deleted", w.prev.Seq, r.Seq)}
	case r.PrevHash != w.prev.Hash:
		return &ChainError{Seq: r.Seq, Reason: "prev_hash does not match the hash of the record before it: the chain was altered"}
	}
	want, err := r.ComputeHash()
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

// Checkpoint checks the next checkpoint.
func (w *Walk) Checkpoint(row StoredCheckpoint) error {
	cp, err := row.Open(w.keys)
	if err != nil {
		return &CheckpointError{N: row.N, Err: err}
	}
	switch {
	case row.N <= w.lastN:
		return &CheckpointError{N: row.N, Err: fmt.Errorf("covers records through %d, fewer than checkpoint #%d before it: the checkpoint was altered", cp.Seq, w.lastN)}
	case row.N != w.lastN+1:
		return &CheckpointError{N: w.lastN + 1, Err: fmt.Errorf("missing (checkpoint #%d is followed by #%d): checkpoints were deleted", w.lastN, row.N)}
	case cp.Seq < 1:
		return &CheckpointError{N: row.N, Err: errors.New("covers no record")}
	}
	w.lastN = row.N
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

// End checks what only the end of the trail tells: checkpoints or witnesses
// beyond the last record (a truncated tail), and records no checkpoint covers.
func (w *Walk) End() error {
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
