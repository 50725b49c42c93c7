package store

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/vigilops/vigil/audit"
)

// ErrAuditUnsealed means the head of the audit chain is not vouched for by a
// trusted signed checkpoint: records were appended, removed or rewritten outside
// Vigil, or the trail was signed with a key this Vigil does not trust. While it
// holds, nothing more is written to the trail, so every act that must be recorded
// stops until a human has looked (`vigil audit verify` names the first bad record).
var ErrAuditUnsealed = errors.New("the audit trail's head is not covered by a trusted signed checkpoint")

// ErrNotSigning is returned by SealIncident when the store has no signing key.
var ErrNotSigning = errors.New("audit signing is not enabled")

// maxAuditBatch bounds the requests in one group commit, so a burst never builds
// a transaction that holds SQLite's write lock for long. A request of
// AppendAudits counts once however many entries it carries; it is never split.
const maxAuditBatch = 256

// auditLog is the single writer of the audit chain. Appends from concurrent
// goroutines are grouped into one transaction (group commit): the first appender
// to arrive leads, committing every request queued so far in one transaction with
// one fsync; requests arriving meanwhile wait and are committed by the next
// leader, the oldest of them. Every caller returns only once its own request is
// durable, or with the error that kept it from being so.
//
// With a signer, every commit also writes a checkpoint signed over the new head,
// in the same transaction, so no acknowledged record is ever left unsigned.
type auditLog struct {
	mu      sync.Mutex
	queue   []*auditReq
	leading bool // a goroutine is committing; the next leader is queue[0]
	signer  *audit.Signer
	keys    audit.Keys // trusted for the head check: the signer's key and earlier keys

	// known is the last checkpoint this process wrote or verified with keys, so
	// a commit need not verify its own last signature again.
	known *audit.Checkpoint
}

type auditReqKind int

const (
	reqAppend auditReqKind = iota
	reqSeal                // sign an incident checkpoint
	reqAdopt               // check the head; sign an unsigned trail the first time
)

// auditReq is one request to the writer and, once done, its answer.
type auditReq struct {
	kind     auditReqKind
	ctx      context.Context
	entries  []audit.Entry // appended in order, in one transaction
	details  [][]byte      // entries' details, marshalled
	incident string

	recs    []audit.Record // one per entry
	cp      audit.Checkpoint
	adopted int64
	err     error

	// turn tells a waiting request what happened: false, its answer is ready;
	// true, it leads the next commit.
	turn chan bool
}

// AppendAudit adds a record to the end of the chain. It returns once the record
// is durable (and, when signing, covered by a signed checkpoint). Concurrent calls
// share one transaction. A call whose ctx ends while it waits returns ctx's error;
// its record may still have been written, and a retry with the same Key returns it.
func (s *Store) AppendAudit(ctx context.Context, e audit.Entry) (audit.Record, error) {
	recs, err := s.appendAudits(ctx, []audit.Entry{e})
	if err != nil {
		return audit.Record{}, fmt.Errorf("store: audit %s %s: %w", e.Incident, e.Action, err)
	}
	return recs[0], nil
}

// AppendAudits adds records to the end of the chain in the order given, all in
// one transaction: either every one is durable when it returns, or none is
// written. Each entry is idempotent by its own Key, as with AppendAudit, so a
// retried batch records each entry once and returns the records it has.
func (s *Store) AppendAudits(ctx context.Context, entries []audit.Entry) ([]audit.Record, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	recs, err := s.appendAudits(ctx, entries)
	if err != nil {
		return nil, fmt.Errorf("store: audit %d records from %s %s: %w", len(entries), entries[0].Incident, entries[0].Action, err)
	}
	return recs, nil
}

func (s *Store) appendAudits(ctx context.Context, entries []audit.Entry) ([]audit.Record, error) {
	req := &auditReq{kind: reqAppend, entries: entries, details: make([][]byte, len(entries))}
	for i, e := range entries {
		var err error
		if req.details[i], err = json.Marshal(e.Details); err != nil {
			return nil, fmt.Errorf("details of %s: %w", e.Action, err)
		}
	}
	s.submitAudit(ctx, req)
	return req.recs, req.err
}

// EnableSigning makes every later commit of audit records write a checkpoint
// signed by signer. trusted are further public keys whose checkpoints the store
// accepts (keys it was signed with before a rotation). Call it before the first
// append.
//
// It checks that the chain's head is covered by a trusted checkpoint and returns
// ErrAuditUnsealed if not. The first time a trail is signed it adopts the records
// already there: it verifies their hash chain and signs its head. It returns how
// many records it adopted.
func (s *Store) EnableSigning(ctx context.Context, signer *audit.Signer, trusted ...ed25519.PublicKey) (int64, error) {
	s.audit.mu.Lock()
	s.audit.signer = signer
	s.audit.keys = audit.NewKeys(append(slices.Clone(trusted), signer.PublicKey())...)
	s.audit.known = nil // verified with other keys, if any
	s.audit.mu.Unlock()
	req := &auditReq{kind: reqAdopt}
	s.submitAudit(ctx, req)
	if req.err != nil {
		return 0, fmt.Errorf("store: enable audit signing: %w", req.err)
	}
	return req.adopted, nil
}

// SealIncident signs an incident checkpoint covering every record of the
// incident so far, so the incident can be exported and verified on its own. It
// is idempotent: when the incident's latest checkpoint already covers all its
// records, that checkpoint is returned and nothing is written.
func (s *Store) SealIncident(ctx context.Context, incidentID string) (audit.Checkpoint, error) {
	if s.trustedKeys() == nil {
		return audit.Checkpoint{}, fmt.Errorf("store: seal %s: %w", incidentID, ErrNotSigning)
	}
	req := &auditReq{kind: reqSeal, incident: incidentID}
	s.submitAudit(ctx, req)
	if req.err != nil {
		return audit.Checkpoint{}, fmt.Errorf("store: seal %s: %w", incidentID, req.err)
	}
	return req.cp, nil
}

// trustedKeys are the keys the store signs and accepts checkpoints with; nil when
// it is not signing.
func (s *Store) trustedKeys() audit.Keys {
	s.audit.mu.Lock()
	defer s.audit.mu.Unlock()
	return s.audit.keys
}

// submitAudit queues req and returns when it is answered, leading a commit if no
// one else is.
func (s *Store) submitAudit(ctx context.Context, req *auditReq) {
	req.ctx, req.turn = ctx, make(chan bool, 1)
	l := &s.audit
	l.mu.Lock()
	l.queue = append(l.queue, req)
	lead := !l.leading
	l.leading = true
	l.mu.Unlock()
	if !lead && !<-req.turn {
		return
	}
	// A leader is always queue[0] (the queue was empty, or it was handed the
	// turn as its head), so its own request is in the batch it takes.
	l.mu.Lock()
	n := min(len(l.queue), maxAuditBatch)
	batch := append([]*auditReq(nil), l.queue[:n]...)
	l.queue = append([]*auditReq(nil), l.queue[n:]...)
	w := &auditWrite{signer: l.signer, keys: l.keys, known: l.known}
	l.mu.Unlock()

	if s.commitAudit(batch, w) {
		l.mu.Lock()
		if w.keys != nil && sameKeys(w.keys, l.keys) {
			l.known = w.last
		}
		l.mu.Unlock()
	}

	for _, r := range batch {
		if r != req {
			r.turn <- false
		}
	}
	l.mu.Lock()
	if len(l.queue) > 0 {
		l.queue[0].turn <- true
	} else {
		l.leading = false
	}
	l.mu.Unlock()
}

// commitAudit writes a batch in one transaction and answers every request in it;
// it reports whether it committed. Requests whose context ended before the commit
// began are answered with that error and left out; the commit itself is not
// cancelled by any one caller, as it carries the others' records too.
func (s *Store) commitAudit(batch []*auditReq, w *auditWrite) bool {
	var live []*auditReq
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return false
	}
	w.ctx = context.WithoutCancel(live[0].ctx)
	err := s.lockedTx(w.ctx, lockAudit, func(tx *txn) error {
		w.tx = tx
		return w.run(live)
	})
	if err != nil {
		for _, r := range live {
			r.recs, r.cp, r.adopted, r.err = nil, audit.Checkpoint{}, 0, err
		}
		return false
	}
	return true
}

// sameKeys reports whether a and b trust the same keys.
func sameKeys(a, b audit.Keys) bool {
	if len(a) != len(b) {
		return false
	}
	for id := range a {
		if _, ok := b[id]; !ok {
			return false
		}
	}
	return true
}

// auditWrite is one group commit in progress.
type auditWrite struct {
	ctx    context.Context
	tx     *txn
	signer *audit.Signer
	keys   audit.Keys
	known  *audit.Checkpoint

	head audit.Record      // the chain's last record (Seq 0 when empty)
	last *audit.Checkpoint // the last checkpoint, verified; nil when none
	next int64             // the number the next checkpoint gets
}

func (w *auditWrite) run(reqs []*auditReq) error {
	var err error
	if w.head, err = chainHead(w.ctx, w.tx); err != nil {
		return err
	}
	adopting := false
	for _, r := range reqs {
		adopting = adopting || r.kind == reqAdopt
	}
	if err := w.checkHead(adopting); err != nil {
		return err
	}
	if adopting && w.last == nil && w.head.Seq > 0 && w.signer != nil {
		// The first signature over an existing trail vouches for all of it, so
		// the chain is verified before it is adopted.
		if _, err := walkChain(w.ctx, w.tx, nil, nil); err != nil {
			return fmt.Errorf("cannot adopt the existing trail: %w", err)
		}
		if err := w.checkpoint(audit.CheckpointBody{}); err != nil {
			return err
		}
		for _, r := range reqs {
			if r.kind == reqAdopt {
				r.adopted = w.head.Seq
			}
		}
	}
	added, err := w.appendAll(reqs)
	if err != nil {
		return err
	}
	if w.signer == nil {
		return nil
	}
	sealed := false
	for _, r := range reqs {
		if r.kind != reqSeal {
			continue
		}
		wrote, err := w.sealIncident(r)
		if err != nil {
			return err
		}
		sealed = sealed || wrote
	}
	if added > 0 && !sealed {
		return w.checkpoint(audit.CheckpointBody{})
	}
	return nil
}

// checkHead loads the last checkpoint and refuses to write unless it vouches for
// the chain's head: otherwise the next checkpoint would sign whatever was put
// there outside Vigil.
func (w *auditWrite) checkHead(adopting bool) error {
	row, err := scanCheckpoint(w.tx.QueryRowContext(w.ctx, checkpointCols+` ORDER BY n DESC LIMIT 1`))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		w.next = 1
		if w.signer != nil && w.head.Seq > 0 && !adopting {
			return fmt.Errorf("%w: no checkpoint covers records 1..%d: checkpoints were deleted, or records were written before signing was enabled", ErrAuditUnsealed, w.head.Seq)
		}
		return nil
	case err != nil:
		return fmt.Errorf("read last checkpoint: %w", err)
	}
	w.next = row.N + 1
	if w.signer == nil {
		return fmt.Errorf("%w: the trail is signed (checkpoint #%d) but no signing key is configured (audit.signing_key)", ErrAuditUnsealed, row.N)
	}
	var cp audit.Checkpoint
	if k := w.known; k != nil && k.N == row.N && k.Body == row.Body && bytes.Equal(k.Signature, row.Signature) {
		cp = *k
	} else if cp, err = row.Open(w.keys); err != nil {
		return fmt.Errorf("%w: checkpoint #%d: %w", ErrAuditUnsealed, row.N, err)
	}
	switch {
	case cp.Seq < w.head.Seq:
		return fmt.Errorf("%w: records %d..%d were appended after the last checkpoint (#%d), not by Vigil; run `vigil audit verify`", ErrAuditUnsealed, cp.Seq+1, w.head.Seq, cp.N)
	case cp.Seq > w.head.Seq:
		return fmt.Errorf("%w: checkpoint #%d covers records through %d but the trail ends at %d: records were deleted; run `vigil audit verify`", ErrAuditUnsealed, cp.N, cp.Seq, w.head.Seq)
	case cp.Hash != w.head.Hash:
		return fmt.Errorf("%w: record %d differs from checkpoint #%d: the trail was rewritten; run `vigil audit verify`", ErrAuditUnsealed, cp.Seq, cp.N)
	}
	w.last = &cp
	return nil
}

// appendAll appends the batch's entries in order and returns how many records
// it added. An entry whose key is already in the trail, or earlier in the batch,
// is answered with that record.
func (w *auditWrite) appendAll(reqs []*auditReq) (int, error) {
	added := 0
	byKey := map[string]audit.Record{}
	for _, r := range reqs {
		if r.kind != reqAppend {
			continue
		}
		r.recs = make([]audit.Record, len(r.entries))
		for i, e := range r.entries {
			if rec, ok := byKey[e.Key]; ok {
				r.recs[i] = rec
				continue
			}
			existing, err := scanAudit(w.tx.QueryRowContext(w.ctx, auditCols+` WHERE key = ?`, e.Key))
			if err == nil {
				r.recs[i], byKey[e.Key] = existing, existing
				continue
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return 0, fmt.Errorf("look up key %q: %w", e.Key, err)
			}
			rec := audit.Record{
				Seq: w.head.Seq + 1, Key: e.Key, Incident: e.Incident, At: ts(e.At), Actor: e.Actor, Action: e.Action,
				Details: r.details[i], PrevHash: w.head.Hash,
			}
			if rec.Hash, err = rec.ComputeHash(); err != nil {
				return 0, fmt.Errorf("hash record %d: %w", rec.Seq, err)
			}
			_, err = w.tx.ExecContext(w.ctx, `
				INSERT INTO audit (seq, key, incident_id, at, actor, action, details, prev_hash, hash)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				rec.Seq, rec.Key, rec.Incident, rec.At, rec.Actor, rec.Action, string(rec.Details), rec.PrevHash, rec.Hash)
			if err != nil {
				return 0, fmt.Errorf("insert record %d: %w", rec.Seq, err)
			}
			w.head, r.recs[i], byKey[e.Key] = rec, rec, rec
			added++
		}
	}
	return added, nil
}

// sealIncident answers a seal request with the incident's latest checkpoint when
// it still covers every record of the incident, else with a new one. It reports
// whether it wrote one.
func (w *auditWrite) sealIncident(r *auditReq) (bool, error) {
	recs, err := incidentHashes(w.ctx, w.tx, r.incident)
	if err != nil {
		return false, err
	}
	if len(recs) == 0 {
		return false, fmt.Errorf("incident %s has no audit records to seal: %w", r.incident, ErrNotFound)
	}
	row, err := scanCheckpoint(w.tx.QueryRowContext(w.ctx, checkpointCols+` WHERE incident_id = ? ORDER BY n DESC LIMIT 1`, r.incident))
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("read checkpoints of %s: %w", r.incident, err)
	}
	if err == nil {
		// A checkpoint that does not open (untrusted key, altered row) is not
		// reused; verify reports it, and a fresh one is signed instead.
		if cp, err := row.Open(w.keys); err == nil && cp.IncidentRecords == len(recs) && cp.Seq >= recs[len(recs)-1].Seq {
			r.cp = cp
			return false, nil
		}
	}
	if err := w.checkpoint(audit.CheckpointBody{Incident: r.incident, IncidentRecords: len(recs), IncidentDigest: audit.IncidentDigest(recs)}); err != nil {
		return false, err
	}
	r.cp = *w.last
	return true, nil
}

// checkpoint signs b over the chain's current head and stores it.
func (w *auditWrite) checkpoint(b audit.CheckpointBody) error {
	b.N, b.Seq, b.Hash, b.At = w.next, w.head.Seq, w.head.Hash, ts(time.Now())
	cp, err := w.signer.Sign(b)
	if err != nil {
		return err
	}
	if err := insertCheckpoint(w.ctx, w.tx, cp); err != nil {
		return err
	}
	w.next++
	w.last = &cp
	return nil
}

// chainHead returns the last record's seq and hash; Seq 0 when the trail is empty.
func chainHead(ctx context.Context, tx *txn) (audit.Record, error) {
	var head audit.Record
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&head.Seq, &head.Hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return head, fmt.Errorf("read chain head: %w", err)
	}
	return head, nil
}

// incidentHashes returns the seq and hash of an incident's records, in order.
func incidentHashes(ctx context.Context, q querier, incidentID string) ([]audit.Record, error) {
	rows, err := q.QueryContext(ctx, `SELECT seq, hash FROM audit WHERE incident_id = ? ORDER BY seq`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("read records of %s: %w", incidentID, err)
	}
	defer rows.Close()
	var out []audit.Record
	for rows.Next() {
		var r audit.Record
		if err := rows.Scan(&r.Seq, &r.Hash); err != nil {
			return nil, fmt.Errorf("read records of %s: %w", incidentID, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// querier is what both the store's pool and its transactions offer for reads.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	dialect() Engine
}
