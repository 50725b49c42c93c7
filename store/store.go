// Package store keeps Vigil's durable state: accepted events and their
// delivery outbox, the incident projection the API reads, the console's thread
// messages, the hash-chained audit trail, step-run markers for crash safety and
// the leases that keep singleton loops on one replica. It runs on one SQLite
// file (mattn/go-sqlite3, WAL mode, synchronous=FULL) for one process, or on
// PostgreSQL (jackc/pgx/v5) shared by any number of replicas; both engines pass
// one contract test suite. Schema changes are embedded migrations per engine,
// applied at Open.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "github.com/mattn/go-sqlite3"    // registers the "sqlite3" driver

	"github.com/vigilops/vigil/routing"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// ErrNotFound is returned when a requested row does not exist.
var ErrNotFound = errors.New("not found")

// Store is Vigil's store on SQLite or PostgreSQL. It is safe for concurrent
// use, and on PostgreSQL by any number of processes at once.
type Store struct {
	db *db
	// wmu lets one of this process's writers at a time at a SQLite database.
	// SQLite admits one writer anyway; left to its busy handler, waiting
	// writers sleep up to 100 ms between tries, so in a storm ingest's steady
	// commits starved every other writer (thread posts, audit, delivery marks)
	// for seconds. Waiting on a mutex, a writer goes as soon as the lock is
	// free. Readers never take it, nor does any PostgreSQL writer.
	wmu    sync.Mutex
	audit  auditLog             // the audit chain's group-committing writer (audit_commit.go)
	corr   *routing.Correlation // nil: no correlation across groups (correlate.go)
	mute   []Muter              // silences, inhibition (silences.go)
	router *routing.Router      // routes ingest over mute and corr (correlate.go)
	where  string               // the file or the server, for messages
}

// Open opens (creating if needed) the SQLite file at path and applies pending
// migrations.
func Open(path string) (*Store, error) {
	s, err := openSQLite(path)
	if err != nil {
		return nil, err
	}
	if err := s.migrate(context.Background()); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	return s, nil
}

func openSQLite(path string) (*Store, error) {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_busy_timeout", "10000")
	q.Set("_txlock", "immediate") // writers take the lock up front: no upgrade deadlocks
	q.Set("_foreign_keys", "1")
	// Reuse prepared statements across calls: preparing dominated the cost of
	// ingest (about a third of the time per alert) before this.
	q.Set("_stmt_cache_size", "64")
	sqldb, err := sql.Open("sqlite3", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return newStore(&db{DB: sqldb, engine: SQLite}, path), nil
}

// newStore returns a store on d that routes by group key and service alone
// until Correlate or Mute say otherwise.
func newStore(d *db, where string) *Store {
	s := &Store{db: d, where: where}
	s.route()
	return s
}

// OpenDSN opens the store a data source name names: postgres://… (or
// postgresql://…) for a PostgreSQL database, sqlite:///abs/path or
// sqlite://rel/path for a SQLite file. Pending migrations are applied.
func OpenDSN(dsn string) (*Store, error) {
	s, err := openDSN(dsn)
	if err != nil {
		return nil, err
	}
	if err := s.migrate(context.Background()); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("store: %s: %w", s.where, err)
	}
	return s, nil
}

// MigrateDSN applies the pending migrations of the store dsn names and returns
// the versions it applied (none when the schema is current).
func MigrateDSN(ctx context.Context, dsn string) ([]int, error) {
	s, err := openDSN(dsn)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	done, err := s.Migrate(ctx)
	if err != nil {
		return done, fmt.Errorf("store: %s: %w", s.where, err)
	}
	return done, nil
}

// openDSN connects to the store dsn names without migrating it.
func openDSN(dsn string) (*Store, error) {
	engine, target, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	if engine == SQLite {
		return openSQLite(target)
	}
	sqldb, err := sql.Open("pgx", target)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", Redact(dsn), err)
	}
	// Enough for ingest, the worker's activities and the API at once; a
	// replica never needs more, and many replicas must fit the server's
	// max_connections (100 by default).
	sqldb.SetMaxOpenConns(16)
	sqldb.SetMaxIdleConns(16)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := sqldb.PingContext(ctx); err != nil {
		_ = sqldb.Close()
		return nil, fmt.Errorf("store: connect to %s: %w (is PostgreSQL running, and do the user, password and database in the DSN exist?)", Redact(dsn), err)
	}
	return newStore(&db{DB: sqldb, engine: Postgres}, Redact(dsn)), nil
}

// ParseDSN says which engine a store DSN names and what to open: the file's
// path for SQLite, the DSN itself for PostgreSQL.
func ParseDSN(dsn string) (Engine, string, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return Postgres, dsn, nil
	case strings.HasPrefix(dsn, "sqlite://"):
		path := strings.TrimPrefix(dsn, "sqlite://")
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		if path == "" {
			return "", "", fmt.Errorf("store %q: no file: write sqlite:///abs/path/vigil.db or sqlite://rel/path/vigil.db", dsn)
		}
		return SQLite, path, nil
	}
	return "", "", fmt.Errorf("store %q: not a store DSN: use postgres://user:password@host:5432/db or sqlite:///path/to/vigil.db", Redact(dsn))
}

// Redact returns dsn with any password replaced by "xxxxx", for messages. A
// DSN that does not parse as a URL is hidden whole, since where its password
// is cannot be told.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable DSN)"
	}
	if u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Engine says which database the store runs on.
func (s *Store) Engine() Engine { return s.db.engine }

// String names the store's file or server (without a password).
func (s *Store) String() string { return string(s.db.engine) + " " + s.where }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Ready reports whether the store answers and its schema is the one this
// build expects: every embedded migration applied, none unknown.
func (s *Store) Ready(ctx context.Context) error {
	applied, err := s.appliedMigrations(ctx)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	want, err := s.migrationVersions()
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	for _, v := range want {
		if !slices.Contains(applied, v) {
			return fmt.Errorf("store: migration %d is not applied (run `vigil migrate`)", v)
		}
	}
	for _, v := range applied {
		if !slices.Contains(want, v) {
			return fmt.Errorf("store: migration %d is applied but unknown to this build: the store was migrated by a newer Vigil", v)
		}
	}
	return nil
}

// migration is one embedded schema change.
type migration struct {
	version int
	name    string
}

// migrationList returns the engine's migrations in order.
func (s *Store) migrationList() ([]migration, error) {
	dir := "migrations/" + string(s.db.engine)
	names, err := fs.Glob(migrations, dir+"/*.sql")
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	out := make([]migration, 0, len(names))
	for _, name := range names {
		base := strings.TrimPrefix(name, dir+"/")
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number", base)
		}
		out = append(out, migration{version: v, name: name})
	}
	return out, nil
}

func (s *Store) migrationVersions() ([]int, error) {
	ms, err := s.migrationList()
	if err != nil {
		return nil, err
	}
	vs := make([]int, len(ms))
	for i, m := range ms {
		vs[i] = m.version
	}
	return vs, nil
}

func (s *Store) appliedMigrations(ctx context.Context) ([]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Migrate applies pending migrations and returns the versions it applied. Open
// already does; `vigil migrate` calls it to report. Concurrent callers (replicas
// starting together) apply each migration once.
func (s *Store) Migrate(ctx context.Context) ([]int, error) {
	ms, err := s.migrationList()
	if err != nil {
		return nil, err
	}
	var done []int
	for _, m := range ms {
		err = s.tx(ctx, func(tx *txn) error {
			if err := tx.lock(ctx, lockMigrate); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
				return fmt.Errorf("create schema_migrations: %w", err)
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n); err != nil || n > 0 {
				return err
			}
			body, err := migrations.ReadFile(m.name)
			if err != nil {
				return err
			}
			// Migration files hold several statements and no placeholders.
			if _, err := tx.Tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
			if _, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, m.version, ts(time.Now())); err != nil {
				return err
			}
			done = append(done, m.version)
			return nil
		})
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

func (s *Store) migrate(ctx context.Context) error {
	_, err := s.Migrate(ctx)
	return err
}

// tx runs f in a write transaction, committing if it returns nil.
func (s *Store) tx(ctx context.Context, f func(*txn) error) error {
	if s.db.engine == SQLite {
		s.wmu.Lock()
		defer s.wmu.Unlock()
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// lockedTx runs f in a write transaction that first takes the advisory lock
// key (on PostgreSQL; see lockRouting).
func (s *Store) lockedTx(ctx context.Context, key int64, f func(*txn) error) error {
	return s.tx(ctx, func(tx *txn) error {
		if err := tx.lock(ctx, key); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		return f(tx)
	})
}

// exec runs one writing statement outside a transaction of its own making.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s.db.engine == SQLite {
		s.wmu.Lock()
		defer s.wmu.Unlock()
	}
	return s.db.ExecContext(ctx, query, args...)
}

// ts formats times as stored: RFC 3339 with nanoseconds, UTC, so text order is
// time order.
func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000000Z07:00")
}

func parseTS(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}
