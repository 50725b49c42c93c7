package ingest

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/vigilops/vigil/store"
)

// SpoolStore is where the spool routes what it holds.
type SpoolStore interface {
	IngestSpooled(ctx context.Context, spool string, position int64, source string, alerts []store.AlertIn, now time.Time) (store.IngestResult, error)
	SpoolPosition(ctx context.Context, spool string) (int64, error)
}

// Spool decouples answering a sender from routing what it sent. An accepted
// payload's alerts are appended to a SQLite file of the spool's own (WAL,
// synchronous=FULL, concurrent requests group-committed by a Batcher), the
// sender is answered, and a router then takes the entries in order into the
// store, deduplicating and correlating them there. The store records how far it
// has routed in the transaction that stores each batch, so after a crash
// routing resumes exactly where it stopped: nothing accepted is lost, nothing
// is routed twice.
//
// What a sender gets for it: an answer that costs an fsync of its own file and
// not the routing, so a storm is accepted at the rate the disk commits rather
// than the rate the store routes (in a storm the router catches up behind it,
// taking larger batches). What it gives up: the answer says the alerts are
// queued, not which incidents they joined.
type Spool struct {
	q      spoolQueue
	name   string
	logger *slog.Logger
	// MaxPending bounds the alerts accepted and not yet routed; past it
	// requests are refused (503) until the router catches up. Default 500,000.
	MaxPending int
	// RouteBatch is about how many alerts the router stores per transaction.
	// Default DefaultMaxBatch.
	RouteBatch int
	// RouteDelay bounds how long the router holds back while requests keep
	// arriving: it routes once acceptance pauses for SpoolQuiet, or once the
	// oldest entry waiting has waited RouteDelay, whichever is first. In a
	// burst, acceptance then has the machine to itself (routing, the
	// dispatcher and the workflows it would wake all wait), and the backlog
	// is routed right after. Default DefaultSpoolRouteDelay, half the 2 s an
	// incident's thread has to open in; negative routes at once.
	RouteDelay time.Duration
	// Notify is called after each routed batch, to wake the dispatcher.
	Notify func()

	appends      *Batcher      // group-commits requests into the file (appender)
	pending      atomic.Int64  // alerts accepted and not yet routed
	routed       chan struct{} // wakes the router
	lastAccepted atomic.Int64  // when alerts were last accepted (spooled or not), Unix ns
}

const (
	// DefaultSpoolMaxPending is Spool.MaxPending when unset.
	DefaultSpoolMaxPending = 500_000
	// DefaultSpoolRouteDelay is Spool.RouteDelay when unset.
	DefaultSpoolRouteDelay = time.Second
	// SpoolQuiet is how long no alerts must be accepted for acceptance to
	// count as paused.
	SpoolQuiet = 100 * time.Millisecond
)

// OpenSpool opens (creating if needed) the spool file at path. name keys the
// store's record of how far the spool is routed.
func OpenSpool(path, name string, logger *slog.Logger) (*Spool, error) {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_busy_timeout", "10000")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite3", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("spool: open %s: %w", path, err)
	}
	// AUTOINCREMENT: ids are never reused after entries are deleted, so an id
	// is always past the routed position.
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS spool (
		id          INTEGER PRIMARY KEY AUTOINCREMENT,
		source      TEXT NOT NULL,
		received_at TEXT NOT NULL,
		alerts      BLOB NOT NULL,
		count       INTEGER NOT NULL
	)`); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("spool: %s: %w", path, err)
	}
	var n sql.NullInt64
	if err := db.QueryRow(`SELECT sum(count) FROM spool`).Scan(&n); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("spool: %s: %w", path, err)
	}
	s := newSpool(fileQueue{db}, name, logger)
	s.pending.Store(n.Int64) // until the router drops what was routed before
	return s, nil
}

func newSpool(q spoolQueue, name string, logger *slog.Logger) *Spool {
	s := &Spool{q: q, name: name, logger: logger, routed: make(chan struct{}, 1)}
	s.appends = NewBatcher(appender{s}, 0)
	return s
}

// StoreSpoolTable is a store that keeps spools itself (store.Store).
type StoreSpoolTable interface {
	SpoolAppend(ctx context.Context, spool, source string, received time.Time, alerts []byte, count, maxPending int) error
	SpoolEntries(ctx context.Context, spool string, after int64, limit int) ([]store.SpoolEntry, error)
	IngestSpoolEntries(ctx context.Context, spool string, ids []int64, source string, alerts []store.AlertIn, now time.Time) (store.IngestResult, error)
	SpoolPending(ctx context.Context, spool string) (int64, error)
}

// NewStoreSpool is a spool kept in the store itself, for a store replicas
// share (PostgreSQL): any replica appends, and the one replica running
// Route takes the entries into the store, oldest first, each deleted in the
// transaction that routes it. Nothing accepted lives in one replica, so
// nothing is lost with it. A sender's next payload is appended only after
// the previous one was answered, so each sender's order holds. Pending is
// always 0; MaxPending is checked against the whole spool.
func NewStoreSpool(t StoreSpoolTable, name string, logger *slog.Logger) *Spool {
	return newSpool(storeQueue{t: t, spool: name, pending: &pendingCache{}}, name, logger)
}

// Pending is how many accepted alerts wait to be routed. For a store's
// spool, which other replicas append to and route, it is always 0: its limit
// is checked by the store.
func (s *Spool) Pending() int { return int(s.pending.Load()) }

// local says the spool is this process's own file, so pending counts it.
func (s *Spool) local() bool {
	_, ok := s.q.(fileQueue)
	return ok
}

// Close closes the spool file (a store's spool has none); call it after Run
// has returned.
func (s *Spool) Close() error { return s.q.close() }

var errSpoolFull = store.ErrSpoolFull

// IngestAlerts appends the alerts to the spool and returns once they are
// durable, with Queued set; the store's counts follow when the router takes
// them. It has the contract of store.Store.IngestAlerts otherwise, so the
// receivers take it in the store's place.
func (s *Spool) IngestAlerts(ctx context.Context, source string, alerts []store.AlertIn, now time.Time) (store.IngestResult, error) {
	return s.appends.IngestAlerts(ctx, source, alerts, now)
}

// Run appends and routes until ctx is done, then answers what is queued with
// an error; entries appended and not routed stay in the file for the next
// start. Call it once.
func (s *Spool) Run(ctx context.Context, to SpoolStore) {
	routing := make(chan struct{})
	go func() { defer close(routing); s.route(ctx, to) }()
	s.appends.Run(ctx)
	<-routing
}

// Accept appends what requests hand the spool until ctx is done, then
// answers what is queued with an error. With Route it does Run's work in two
// parts, for a store's spool: every replica that takes alerts accepts, one
// replica at a time routes.
func (s *Spool) Accept(ctx context.Context) { s.appends.Run(ctx) }

// Route takes the spool's entries into to, in order, until ctx is done.
func (s *Spool) Route(ctx context.Context, to SpoolStore) { s.route(ctx, to) }

// appender is the spool's file as the Batcher's store: one entry per group
// commit. Requests encode their own alerts (encode), so the Batcher's single
// writer only joins the encodings and commits.
type appender struct{ s *Spool }

// IngestAlerts stores alerts as one entry; the Batcher uses ingestEncoded.
func (a appender) IngestAlerts(_ context.Context, source string, alerts []store.AlertIn, now time.Time) (store.IngestResult, error) {
	body, err := a.encode(alerts)
	if err != nil {
		return store.IngestResult{}, err
	}
	return a.ingestEncoded(source, [][]byte{body}, len(alerts), now)
}

func (appender) encode(alerts []store.AlertIn) ([]byte, error) {
	body, err := jsonv2.Marshal(alerts, spoolJSON)
	if err != nil {
		return nil, fmt.Errorf("spool: append: %w", err)
	}
	return body, nil
}

// ingestEncoded appends one entry holding the alerts of bodies, each a JSON
// array, as one array.
func (a appender) ingestEncoded(source string, bodies [][]byte, count int, now time.Time) (store.IngestResult, error) {
	s := a.s
	limit := cmp.Or(s.MaxPending, DefaultSpoolMaxPending)
	if s.local() && s.pending.Load()+int64(count) > int64(limit) {
		return store.IngestResult{}, errSpoolFull
	}
	if err := s.q.append(context.Background(), source, now, joinArrays(bodies), count, limit); err != nil {
		if errors.Is(err, errSpoolFull) {
			return store.IngestResult{}, err
		}
		return store.IngestResult{}, fmt.Errorf("spool: append: %w", err)
	}
	if s.local() {
		s.pending.Add(int64(count))
	}
	s.accepting(time.Now())
	select {
	case s.routed <- struct{}{}:
	default:
	}
	outcomes := make([]store.IngestOutcome, count)
	for i := range outcomes {
		outcomes[i].Queued = true
	}
	return store.IngestResult{Outcomes: outcomes}, nil
}

// spoolJSON is how entries are encoded and read, with the proposed
// encoding/json/v2 (github.com/go-json-experiment/json): every request
// encodes its alerts, and it does so in under 60% of encoding/json's time,
// with a quarter of the allocations (BenchmarkSpoolEncode). It writes the
// same names and time format as encoding/json did, so entries an earlier
// version wrote read back as the same alerts. Invalid UTF-8 becomes U+FFFD,
// as encoding/json made it; names are not checked for repeats, as they come
// from Go maps and structs.
var spoolJSON = jsonv2.JoinOptions(jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true))

// joinArrays joins JSON arrays into one: [1,2] and [3] into [1,2,3].
func joinArrays(arrays [][]byte) []byte {
	if len(arrays) == 1 {
		return arrays[0]
	}
	n := 2
	for _, a := range arrays {
		n += len(a)
	}
	out := make([]byte, 0, n)
	out = append(out, '[')
	for _, a := range arrays {
		items := bytes.TrimSpace(a)
		items = bytes.TrimSpace(items[1 : len(items)-1])
		if len(items) == 0 {
			continue
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, items...)
	}
	return append(out, ']')
}

// route takes entries into the store in order until ctx is done. A failure
// is logged and retried with backoff from the same position.
func (s *Spool) route(ctx context.Context, to SpoolStore) {
	backoff := time.Duration(0)
	var pos int64
	started := false
	for ctx.Err() == nil {
		var err error
		if !started {
			if pos, err = s.q.position(ctx, to, s.name); err == nil {
				started = true
				err = s.dropRouted(pos)
			}
		}
		if err == nil {
			if err = s.yield(ctx, pos); ctx.Err() != nil {
				return // stopped while giving way: not a routing failure
			}
		}
		more := false
		if err == nil {
			pos, more, err = s.routeBatch(ctx, to, pos)
		}
		wait := 2 * time.Second
		switch {
		case err != nil:
			backoff = min(max(2*backoff, time.Second), 30*time.Second)
			wait = backoff
			s.logger.Error("spool: routing failed; will retry", "err", err, "position", pos, "retry_in", backoff)
		case more:
			backoff = 0
			continue
		default:
			backoff = 0
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-s.routed:
		case <-t.C:
		}
		t.Stop()
	}
}

// yield holds routing back while requests are being accepted (see
// RouteDelay): until none has been for SpoolQuiet, or the oldest entry after
// pos has waited RouteDelay, or ctx is done.
func (s *Spool) yield(ctx context.Context, pos int64) error {
	delay := cmp.Or(s.RouteDelay, DefaultSpoolRouteDelay)
	if delay < 0 || s.quietIn(time.Now()) <= 0 {
		return nil
	}
	next, err := s.q.entries(ctx, pos, 1)
	if err != nil {
		return fmt.Errorf("spool: read: %w", err)
	}
	if len(next) == 0 || next[0].ReceivedAt.IsZero() {
		return nil // nothing waits, or route it now rather than guess how long it waited
	}
	giveWay(ctx, next[0].ReceivedAt.Add(delay), s.Yield)
	return nil
}

// giveWay waits while yield asks to, until deadline or ctx is done.
func giveWay(ctx context.Context, deadline time.Time, yield func() time.Duration) {
	for {
		wait := min(yield(), time.Until(deadline))
		if wait <= 0 {
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// accepting notes that alerts were accepted at now.
func (s *Spool) accepting(now time.Time) { s.lastAccepted.Store(now.UnixNano()) }

// Yield is how long until acceptance counts as paused (no alerts accepted
// for SpoolQuiet): for work that should give way to a burst, as the router does.
// Zero when paused.
func (s *Spool) Yield() time.Duration { return max(s.quietIn(time.Now()), 0) }

// quietIn is how long until acceptance counts as paused, from now.
func (s *Spool) quietIn(now time.Time) time.Duration {
	return time.Unix(0, s.lastAccepted.Load()).Add(SpoolQuiet).Sub(now)
}

// routeBatch stores the entries after pos, about RouteBatch alerts of one
// source, and returns the new position and whether it routed any (so more
// may be left).
func (s *Spool) routeBatch(ctx context.Context, to SpoolStore, pos int64) (int64, bool, error) {
	entries, err := s.q.entries(ctx, pos, 512)
	if err != nil {
		return pos, false, fmt.Errorf("spool: read: %w", err)
	}
	var alerts []store.AlertIn
	var source string
	var last int64
	var now time.Time
	taken := 0 // alerts in the entries taken, readable or not
	limit := cmp.Or(s.RouteBatch, DefaultMaxBatch)
	for _, e := range entries {
		if last != 0 && (e.Source != source || taken+e.Count > limit) {
			break
		}
		var as []store.AlertIn
		if err := jsonv2.Unmarshal(e.Alerts, &as, spoolJSON); err != nil {
			// Only Vigil writes these entries; one it cannot read is logged
			// and skipped rather than holding up everything behind it.
			s.logger.Error("spool: unreadable entry skipped", "id", e.ID, "err", err)
		}
		alerts, source, last, taken = append(alerts, as...), e.Source, e.ID, taken+e.Count
		now = e.ReceivedAt
	}
	if last == 0 {
		return pos, false, nil
	}
	var ids []int64
	for _, e := range entries {
		if e.ID > last {
			break
		}
		ids = append(ids, e.ID)
	}
	res, err := s.q.commit(ctx, to, s.name, ids, source, alerts, now)
	if err != nil {
		return pos, false, err
	}
	if s.local() {
		s.pending.Add(-int64(taken))
	}
	s.logger.Debug("spool: routed", "alerts", len(alerts), "accepted", res.Accepted, "duplicates", res.Duplicates, "silenced", res.Silenced, "incidents", len(res.Incidents), "position", last)
	if s.Notify != nil && res.Accepted > 0 {
		s.Notify()
	}
	if err := s.drop(last); err != nil {
		s.logger.Warn("spool: routed entries not yet removed from the file; they will be at the next batch", "err", err)
	}
	// Entries may be left past this batch: look again at once.
	return last, true, nil
}

// dropRouted removes, at start, the entries up to pos that the store took
// before the last stop, and stops counting them as pending.
func (s *Spool) dropRouted(pos int64) error {
	n, err := s.q.drop(context.Background(), pos)
	if err != nil {
		return fmt.Errorf("spool: remove routed entries: %w", err)
	}
	if s.local() {
		s.pending.Add(-n)
	}
	return nil
}

// drop removes the entries up to pos, which the store has.
func (s *Spool) drop(pos int64) error {
	if _, err := s.q.drop(context.Background(), pos); err != nil {
		return fmt.Errorf("spool: remove routed entries: %w", err)
	}
	return nil
}

// spoolQueue is where a spool keeps its entries: a SQLite file of its own
// (fileQueue) or the store (storeQueue).
type spoolQueue interface {
	append(ctx context.Context, source string, received time.Time, alerts []byte, count, maxPending int) error
	// position is how far the store has routed the spool; entries reads
	// those after it.
	position(ctx context.Context, to SpoolStore, spool string) (int64, error)
	entries(ctx context.Context, after int64, limit int) ([]store.SpoolEntry, error)
	// commit routes the alerts of the entries ids, the last of them routed
	// so far, into to in one transaction that also marks them routed.
	commit(ctx context.Context, to SpoolStore, spool string, ids []int64, source string, alerts []store.AlertIn, now time.Time) (store.IngestResult, error)
	drop(ctx context.Context, upTo int64) (int64, error) // alerts the dropped entries held
	close() error
}

// fileQueue is a spool file, written by one process.
type fileQueue struct{ db *sql.DB }

func (f fileQueue) append(ctx context.Context, source string, received time.Time, alerts []byte, count, _ int) error {
	_, err := f.db.ExecContext(ctx, `INSERT INTO spool (source, received_at, alerts, count) VALUES (?, ?, ?, ?)`,
		source, received.UTC().Format(time.RFC3339Nano), alerts, count)
	return err
}

func (fileQueue) position(ctx context.Context, to SpoolStore, spool string) (int64, error) {
	return to.SpoolPosition(ctx, spool)
}

// commit records, with the alerts, that the file is routed up to its last
// entry: ids grow in commit order, as one process appends.
func (fileQueue) commit(ctx context.Context, to SpoolStore, spool string, ids []int64, source string, alerts []store.AlertIn, now time.Time) (store.IngestResult, error) {
	return to.IngestSpooled(ctx, spool, ids[len(ids)-1], source, alerts, now)
}

func (f fileQueue) entries(ctx context.Context, after int64, limit int) ([]store.SpoolEntry, error) {
	rows, err := f.db.QueryContext(ctx, `SELECT id, source, received_at, alerts, count FROM spool WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.SpoolEntry
	for rows.Next() {
		var e store.SpoolEntry
		var received string
		if err := rows.Scan(&e.ID, &e.Source, &received, &e.Alerts, &e.Count); err != nil {
			return nil, err
		}
		e.ReceivedAt, _ = time.Parse(time.RFC3339Nano, received)
		out = append(out, e)
	}
	return out, rows.Err()
}

func (f fileQueue) drop(ctx context.Context, upTo int64) (int64, error) {
	var n sql.NullInt64
	if err := f.db.QueryRowContext(ctx, `SELECT sum(count) FROM spool WHERE id <= ?`, upTo).Scan(&n); err != nil {
		return 0, err
	}
	_, err := f.db.ExecContext(ctx, `DELETE FROM spool WHERE id <= ?`, upTo)
	return n.Int64, err
}

func (f fileQueue) close() error { return f.db.Close() }

// storeQueue is a spool in the store, which replicas append to at once. An
// entry may commit after one with a higher id, so there is no position: the
// router reads the oldest entries left, and the store deletes each entry in
// the transaction that routes it.
type storeQueue struct {
	t     StoreSpoolTable
	spool string
	// pending is the spool's backlog as last read, at most pendingAge old:
	// the limit is a safety valve, and reading the sum on every append cost
	// about a tenth of the rate in a storm.
	pending *pendingCache
}

type pendingCache struct {
	mu     sync.Mutex
	alerts int64
	read   time.Time
}

// pendingAge is how old the backlog a store's spool checks its limit against may be.
const pendingAge = 500 * time.Millisecond

func (q storeQueue) append(ctx context.Context, source string, received time.Time, alerts []byte, count, maxPending int) error {
	if maxPending > 0 {
		p := q.pending
		p.mu.Lock()
		if time.Since(p.read) > pendingAge {
			n, err := q.t.SpoolPending(ctx, q.spool)
			if err != nil {
				p.mu.Unlock()
				return err
			}
			p.alerts, p.read = n, time.Now()
		}
		full := p.alerts+int64(count) > int64(maxPending)
		if !full {
			p.alerts += int64(count)
		}
		p.mu.Unlock()
		if full {
			return errSpoolFull
		}
	}
	return q.t.SpoolAppend(ctx, q.spool, source, received, alerts, count, 0)
}

func (storeQueue) position(context.Context, SpoolStore, string) (int64, error) { return 0, nil }

func (q storeQueue) entries(ctx context.Context, _ int64, limit int) ([]store.SpoolEntry, error) {
	return q.t.SpoolEntries(ctx, q.spool, 0, limit)
}

func (q storeQueue) commit(ctx context.Context, _ SpoolStore, spool string, ids []int64, source string, alerts []store.AlertIn, now time.Time) (store.IngestResult, error) {
	return q.t.IngestSpoolEntries(ctx, spool, ids, source, alerts, now)
}

// drop does nothing: routed entries are gone with the transaction that
// routed them, and deleting by id range could take one committed late.
func (storeQueue) drop(context.Context, int64) (int64, error) { return 0, nil }

func (storeQueue) close() error { return nil }
