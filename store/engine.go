package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"
)

// Engine names the database a store runs on.
type Engine string

// The engines a store runs on.
const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// db is the store's connection pool. Queries are written once, in SQL both
// engines take, with ? placeholders (or ?N to reuse an argument); on
// PostgreSQL they are rewritten to $N once and the rewrite is cached.
type db struct {
	*sql.DB
	engine Engine
	binds  sync.Map // query → its PostgreSQL form
}

// q returns query in the engine's placeholder syntax.
func (d *db) q(query string) string {
	if d.engine != Postgres {
		return query
	}
	if b, ok := d.binds.Load(query); ok {
		return b.(string)
	}
	b := rebind(query)
	d.binds.Store(query, b)
	return b
}

func (d *db) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return d.DB.QueryContext(ctx, d.q(query), args...)
}

func (d *db) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return d.DB.QueryRowContext(ctx, d.q(query), args...)
}

func (d *db) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return d.DB.ExecContext(ctx, d.q(query), args...)
}

func (d *db) QueryRow(query string, args ...any) *sql.Row {
	return d.QueryRowContext(context.Background(), query, args...)
}

func (d *db) Exec(query string, args ...any) (sql.Result, error) {
	return d.ExecContext(context.Background(), query, args...)
}

func (d *db) BeginTx(ctx context.Context, opts *sql.TxOptions) (*txn, error) {
	tx, err := d.DB.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &txn{Tx: tx, d: d}, nil
}

func (d *db) Begin() (*txn, error) { return d.BeginTx(context.Background(), nil) }

func (d *db) dialect() Engine { return d.engine }

// txn is a transaction whose queries are rewritten as db's are.
type txn struct {
	*sql.Tx
	d *db
}

func (t *txn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.Tx.QueryContext(ctx, t.d.q(query), args...)
}

func (t *txn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return t.Tx.QueryRowContext(ctx, t.d.q(query), args...)
}

func (t *txn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.Tx.ExecContext(ctx, t.d.q(query), args...)
}

func (t *txn) dialect() Engine { return t.d.engine }

func (t *txn) Exec(query string, args ...any) (sql.Result, error) {
	return t.ExecContext(context.Background(), query, args...)
}

// rebind turns ? placeholders into $1, $2, … and ?N into $N, leaving quoted
// text alone.
func rebind(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	quoted := false
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'':
			quoted = !quoted
		case c == '?' && !quoted:
			j := i + 1
			for j < len(query) && query[j] >= '0' && query[j] <= '9' {
				j++
			}
			b.WriteByte('$')
			if j > i+1 {
				b.WriteString(query[i+1 : j])
			} else {
				n++
				b.WriteString(strconv.Itoa(n))
			}
			i = j - 1
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// Locks that serialise writers across processes on PostgreSQL, taken for the
// length of a transaction (pg_advisory_xact_lock). SQLite needs none: every
// write transaction there takes the database's one write lock up front.
const (
	// lockRouting is held by every transaction that routes signals to
	// incidents: deduplication, grouping, correlation, silences and opening an
	// incident are decided against one view of the open incidents, so two
	// replicas given the same group at once still open one incident.
	lockRouting int64 = 0x76696731 // "vig1"
	// lockAudit is held while the audit chain grows, so concurrent replicas
	// append to one chain.
	lockAudit int64 = 0x76696732
	// lockMigrate is held while migrations run.
	lockMigrate int64 = 0x76696733
)

// lock takes an advisory lock for the rest of tx on PostgreSQL.
func (t *txn) lock(ctx context.Context, key int64) error {
	if t.d.engine != Postgres {
		return nil
	}
	_, err := t.Tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, key)
	return err
}
