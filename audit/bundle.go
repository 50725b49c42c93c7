package audit

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
)

// BundleType is the type of an audit bundle's header line.
const BundleType = "vigil.audit.bundle/v1"

// An audit bundle is JSON Lines: a header line, then the incident's records in
// seq order, then the incident checkpoints that cover them in signing order. It
// holds everything needed to verify the incident's audit records offline, without
// Vigil's database or the records of other incidents. README.md describes the
// format and how to verify it by hand.

// BundleHeader is a bundle's first line.
type BundleHeader struct {
	Type        string      `json:"type"` // BundleType
	Incident    string      `json:"incident"`
	ExportedAt  string      `json:"exported_at"`
	Records     int         `json:"records"`
	Checkpoints int         `json:"checkpoints"`
	Keys        []BundleKey `json:"keys"`
}

// BundleKey is a public key that signed a checkpoint in the bundle. A verifier
// should compare it with the key it trusts, obtained another way.
type BundleKey struct {
	KeyID   string `json:"key_id"`
	Ed25519 string `json:"ed25519"` // base64 of the raw 32-byte public key
}

// BundleLine is a record or checkpoint line; Type says which fields are set.
type BundleLine struct {
	Type string `json:"type"` // record | checkpoint
	// record: its seq and hash, and Canonical, the exact text hashed.
	Seq       int64  `json:"seq,omitempty"`
	Hash      string `json:"hash,omitempty"`
	Canonical string `json:"canonical,omitempty"`
	// checkpoint: its number and key, Signed, the exact text signed, and the
	// base64 ed25519 signature over it.
	N         int64  `json:"n,omitempty"`
	KeyID     string `json:"key_id,omitempty"`
	Signed    string `json:"signed,omitempty"`
	Signature string `json:"signature,omitempty"`
}

// BundleSummary says what a bundle holds.
type BundleSummary struct {
	Incident    string
	Records     int
	Checkpoints int
	KeyIDs      []string
}

// BundleError says why a bundle failed verification, and on which line (1 is the
// header; 0 when the problem is the bundle as a whole).
type BundleError struct {
	Line   int
	Reason string
}

func (e *BundleError) Error() string {
	if e.Line == 0 {
		return "bundle: " + e.Reason
	}
	return fmt.Sprintf("bundle line %d: %s", e.Line, e.Reason)
}

// BundleVerification is what VerifyBundle established.
type BundleVerification struct {
	BundleSummary
	// Pinned is true when the signatures were checked with keys the caller gave,
	// false when with the keys the bundle carries (which proves integrity only if
	// the reader compares those key ids with ones obtained another way).
	Pinned bool
	// Witnesses are the bundle's checkpoints, verified, for checking a store's
	// trail against (see VerifyAuditWith).
	Witnesses []Checkpoint
}

// VerifyBundle checks an audit bundle without any database: every record's
// canonical text hashes to its hash and belongs to the incident; records that
// are neighbours in the chain are linked by prev_hash; every checkpoint's
// signature verifies; every checkpoint's count and digest match the records it
// covers; and the last checkpoint covers every record. With pinned keys nil it
// uses the keys in the bundle's header.
func VerifyBundle(r io.Reader, pinned Keys) (BundleVerification, error) {
	var v BundleVerification
	br := bufio.NewReader(r)
	line := 0
	next := func() ([]byte, error) {
		b, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) && len(bytes.TrimSpace(b)) > 0 {
			err = nil
		}
		line++
		return b, err
	}
	bad := func(format string, args ...any) error {
		return &BundleError{Line: line, Reason: fmt.Sprintf(format, args...)}
	}

	b, err := next()
	if err != nil {
		return v, bad("no header: %v", err)
	}
	var h BundleHeader
	if err := strictJSON(b, &h); err != nil || h.Type != BundleType {
		return v, bad("not a %s header (%v)", BundleType, err)
	}
	v.Incident = h.Incident
	keys := pinned
	v.Pinned = pinned != nil
	if !v.Pinned {
		keys = Keys{}
		for _, k := range h.Keys {
			raw, err := base64.StdEncoding.DecodeString(k.Ed25519)
			if err != nil || len(raw) != ed25519.PublicKeySize || KeyID(raw) != k.KeyID {
				return v, bad("key %s: not a base64 ed25519 public key with that id", k.KeyID)
			}
			keys[k.KeyID] = raw
		}
	}

	var recs []Record
	var cps []Checkpoint
	keyIDs := map[string]bool{}
	for {
		b, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return v, bad("%v", err)
		}
		var l BundleLine
		if err := strictJSON(b, &l); err != nil {
			return v, bad("not a bundle line: %v", err)
		}
		switch l.Type {
		case "record":
			if len(cps) > 0 {
				return v, bad("record after a checkpoint: records come first")
			}
			rec, err := checkBundleRecord(l, h.Incident)
			if err != nil {
				return v, bad("record %d: %v", l.Seq, err)
			}
			if n := len(recs); n > 0 {
				prev := recs[n-1]
				switch {
				case rec.Seq <= prev.Seq:
					return v, bad("record %d: out of order after record %d", rec.Seq, prev.Seq)
				case rec.Seq == prev.Seq+1 && rec.PrevHash != prev.Hash:
					return v, bad("record %d: prev_hash does not match record %d before it: the chain was altered", rec.Seq, prev.Seq)
				}
			}
			recs = append(recs, rec)
		case "checkpoint":
			sig, err := base64.StdEncoding.DecodeString(l.Signature)
			if err != nil {
				return v, bad("checkpoint #%d: signature is not base64", l.N)
			}
			cp, err := OpenCheckpoint(l.Signed, sig, keys)
			if err != nil {
				return v, bad("checkpoint #%d: %v", l.N, err)
			}
			switch {
			case cp.N != l.N || cp.KeyID != l.KeyID:
				return v, bad("checkpoint #%d: the line's n or key_id differs from the signed text", l.N)
			case cp.Incident != h.Incident:
				return v, bad("checkpoint #%d: signed for incident %q, not %q", cp.N, cp.Incident, h.Incident)
			case len(cps) > 0 && cp.N <= cps[len(cps)-1].N:
				return v, bad("checkpoint #%d: out of order", cp.N)
			}
			if err := checkCovered(cp, recs); err != nil {
				return v, bad("checkpoint #%d: %v", cp.N, err)
			}
			cps = append(cps, cp)
			keyIDs[cp.KeyID] = true
		default:
			return v, bad("unknown line type %q", l.Type)
		}
	}
	line = 0
	switch {
	case len(recs) == 0:
		return v, bad("the bundle has no records")
	case len(recs) != h.Records || len(cps) != h.Checkpoints:
		return v, bad("the header counts %d record(s) and %d checkpoint(s), the bundle has %d and %d: lines were removed or added", h.Records, h.Checkpoints, len(recs), len(cps))
	case len(cps) == 0:
		return v, bad("no checkpoint covers the records")
	}
	if last := cps[len(cps)-1]; last.IncidentRecords != len(recs) {
		return v, bad("%d record(s) after seq %d are not covered by any checkpoint", len(recs)-last.IncidentRecords, last.Seq)
	}
	v.Records, v.Checkpoints, v.KeyIDs, v.Witnesses = len(recs), len(cps), slices.Sorted(maps.Keys(keyIDs)), cps
	return v, nil
}

// checkBundleRecord checks a record line's hash and decodes its canonical text.
func checkBundleRecord(l BundleLine, incidentID string) (Record, error) {
	sum := sha256.Sum256([]byte(l.Canonical))
	if hex.EncodeToString(sum[:]) != l.Hash {
		return Record{}, errors.New("canonical text does not match its hash: the record was altered")
	}
	var rec Record
	if err := strictJSON([]byte(l.Canonical), &rec); err != nil {
		return rec, fmt.Errorf("canonical text is not a record: %w", err)
	}
	rec.Hash = l.Hash
	switch {
	case rec.Seq != l.Seq:
		return rec, fmt.Errorf("the line says seq %d, the record %d", l.Seq, rec.Seq)
	case rec.Incident != incidentID:
		return rec, fmt.Errorf("belongs to incident %q, not %q", rec.Incident, incidentID)
	}
	return rec, nil
}

// checkCovered checks an incident checkpoint against the bundle's records: the
// ones with seq <= its seq must be as many as it signs, with the digest it signs.
func checkCovered(cp Checkpoint, recs []Record) error {
	d := newIncidentDigest()
	for _, r := range recs {
		if r.Seq <= cp.Seq {
			d.add(r.Seq, r.Hash)
		}
	}
	if got := d.sum(); d.n != cp.IncidentRecords || got != cp.IncidentDigest {
		return fmt.Errorf("it signs %d record(s) with digest %.12s…, the bundle has %d with digest %.12s…: records were altered, removed or added",
			cp.IncidentRecords, cp.IncidentDigest, d.n, got)
	}
	return nil
}

func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
