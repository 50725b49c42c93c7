package store

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/vigilops/vigil/audit"
)

// ExportIncident writes the audit bundle of an incident to w. keys must hold the
// public key of every checkpoint of the incident. When the store signs (see
// EnableSigning) it first seals the incident, so the bundle covers every record;
// otherwise the incident must already be sealed.
func (s *Store) ExportIncident(ctx context.Context, w io.Writer, incidentID string, keys audit.Keys, now time.Time) (audit.BundleSummary, error) {
	sum := audit.BundleSummary{Incident: incidentID}
	fail := func(err error) (audit.BundleSummary, error) {
		return sum, fmt.Errorf("store: export %s: %w", incidentID, err)
	}
	if s.trustedKeys() != nil {
		if _, err := s.SealIncident(ctx, incidentID); err != nil {
			return fail(err)
		}
	}
	recs, err := s.AuditTrail(ctx, incidentID)
	if err != nil {
		return fail(err)
	}
	if len(recs) == 0 {
		return fail(fmt.Errorf("no audit records: %w", ErrNotFound))
	}
	cps, err := s.incidentCheckpoints(ctx, incidentID, keys)
	if err != nil {
		return fail(err)
	}
	if len(cps) == 0 || cps[len(cps)-1].IncidentRecords != len(recs) {
		covered := 0
		if len(cps) > 0 {
			covered = cps[len(cps)-1].IncidentRecords
		}
		return fail(fmt.Errorf("%d of its %d records are not covered by an incident checkpoint: export with the signing key so the records can be sealed", len(recs)-covered, len(recs)))
	}
	used := map[string]bool{}
	for _, c := range cps {
		used[c.KeyID] = true
	}
	h := audit.BundleHeader{Type: audit.BundleType, Incident: incidentID, ExportedAt: ts(now), Records: len(recs), Checkpoints: len(cps), Keys: []audit.BundleKey{}}
	for _, id := range slices.Sorted(maps.Keys(used)) {
		h.Keys = append(h.Keys, audit.BundleKey{KeyID: id, Ed25519: base64.StdEncoding.EncodeToString(keys[id])})
		sum.KeyIDs = append(sum.KeyIDs, id)
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	if err := enc.Encode(h); err != nil {
		return fail(err)
	}
	for _, r := range recs {
		canon, err := r.Canonical()
		if err != nil {
			return fail(fmt.Errorf("record %d: %w", r.Seq, err))
		}
		if err := enc.Encode(audit.BundleLine{Type: "record", Seq: r.Seq, Hash: r.Hash, Canonical: string(canon)}); err != nil {
			return fail(err)
		}
	}
	for _, c := range cps {
		if err := enc.Encode(audit.BundleLine{Type: "checkpoint", N: c.N, KeyID: c.KeyID, Signed: c.Body, Signature: base64.StdEncoding.EncodeToString(c.Signature)}); err != nil {
			return fail(err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fail(err)
	}
	sum.Records, sum.Checkpoints = len(recs), len(cps)
	return sum, nil
}

// incidentCheckpoints returns an incident's checkpoints in signing order, each
// verified with keys.
func (s *Store) incidentCheckpoints(ctx context.Context, incidentID string, keys audit.Keys) ([]audit.Checkpoint, error) {
	rows, err := s.db.QueryContext(ctx, checkpointCols+` WHERE incident_id = ? ORDER BY n`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	defer rows.Close()
	var out []audit.Checkpoint
	for rows.Next() {
		row, err := scanCheckpoint(rows)
		if err != nil {
			return nil, fmt.Errorf("read checkpoints: %w", err)
		}
		cp, err := row.Open(keys)
		if err != nil {
			return nil, &audit.CheckpointError{N: row.N, Err: err}
		}
		out = append(out, cp)
	}
	return out, rows.Err()
}
