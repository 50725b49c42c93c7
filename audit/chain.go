package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Entry is an act to record.
type Entry struct {
	// Key makes the append idempotent: appending an entry whose key is already in
	// the trail returns the existing record (a retried activity records once).
	Key      string
	Incident string // "" for acts that concern no incident (e.g. retention)
	At       time.Time
	Actor    string // user:ID for people, system:COMPONENT for Vigil
	Action   string // e.g. incident.opened, decision.approve, step.finished
	Details  any    // marshalled to JSON
}

// Record is one link of the hash chain.
type Record struct {
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

// Canonical is the record's canonical JSON, the exact bytes its hash covers: the
// fields above in declaration order, compact, as encoding/json writes them (so
// <, > and & in strings appear as \u003c, \u003e and \u0026), with PrevHash
// included and Hash excluded.
func (r Record) Canonical() ([]byte, error) { return json.Marshal(r) }

// ComputeHash is the hex SHA-256 of Canonical. Changing any field of any record,
// or removing or reordering records, breaks the chain.
func (r Record) ComputeHash() (string, error) {
	b, err := r.Canonical()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// ChainError names the first record where the audit chain breaks.
type ChainError struct {
	Seq    int64
	Reason string
}

func (e *ChainError) Error() string { return fmt.Sprintf("audit record %d: %s", e.Seq, e.Reason) }
