// Package pgtest gives tests a fresh PostgreSQL database each. The server is
// the one VIGIL_TEST_POSTGRES names (a DSN for a role that may create
// databases; default postgres://vigil:vigil@127.0.0.1:5432/postgres, which
// .ci/run sets up). When no server answers, tests skip with a message saying
// how to start one, unless VIGIL_REQUIRE_POSTGRES=1 (CI), where they fail.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultAdminDSN is used when VIGIL_TEST_POSTGRES is unset.
const DefaultAdminDSN = "postgres://vigil:vigil@127.0.0.1:5432/postgres?sslmode=disable"

// AdminDSN is the DSN tests create their databases through.
func AdminDSN() string {
	if v := os.Getenv("VIGIL_TEST_POSTGRES"); v != "" {
		return v
	}
	return DefaultAdminDSN
}

var (
	reachOnce sync.Once
	reachErr  error
)

// reachable checks once per test binary that the server answers.
func reachable() error {
	reachOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, AdminDSN())
		if err != nil {
			reachErr = err
			return
		}
		reachErr = c.Close(ctx)
	})
	return reachErr
}

// require skips t, or fails it under VIGIL_REQUIRE_POSTGRES=1, when no
// server answers.
func require(t testing.TB) {
	t.Helper()
	if err := reachable(); err != nil {
		msg := fmt.Sprintf("no PostgreSQL at %s (%v): start one (as root: pg_ctlcluster 15 main start; then "+
			"su postgres -c \"psql -c \\\"CREATE ROLE vigil LOGIN CREATEDB PASSWORD 'vigil'\\\"\"), or set VIGIL_TEST_POSTGRES", redact(AdminDSN()), err)
		if os.Getenv("VIGIL_REQUIRE_POSTGRES") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// sharedDB is the database SchemaDSN's schemas live in.
const sharedDB = "vigil_test_schemas"

var (
	sharedOnce sync.Once
	sharedErr  error
)

// SchemaDSN creates an empty schema for t in a database shared by the test
// binary's schemas and returns a DSN whose search_path is that schema; the
// schema is dropped when t ends. A schema takes milliseconds where a database
// takes most of a second. Advisory locks are per database, so tests holding
// them at once wait for each other.
func SchemaDSN(t testing.TB) string {
	t.Helper()
	require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sharedOnce.Do(func() {
		c, err := pgx.Connect(ctx, AdminDSN())
		if err != nil {
			sharedErr = err
			return
		}
		defer c.Close(ctx)
		var n int
		if sharedErr = c.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, sharedDB).Scan(&n); sharedErr != nil || n > 0 {
			return
		}
		if _, err := c.Exec(ctx, "CREATE DATABASE "+sharedDB); err != nil {
			// Another test binary may have created it meanwhile.
			if err2 := c.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, sharedDB).Scan(&n); err2 != nil || n == 0 {
				sharedErr = err
			}
		}
	})
	if sharedErr != nil {
		t.Fatalf("pgtest: database %s: %v", sharedDB, sharedErr)
	}
	dsn := WithDatabase(AdminDSN(), sharedDB)
	schema := "t_" + randomSuffix()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("pgtest: create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Logf("pgtest: drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			t.Logf("pgtest: drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// DSN creates an empty database for t and returns its DSN; the database is
// dropped when t ends.
func DSN(t testing.TB) string {
	t.Helper()
	require(t)
	name := "vigil_test_" + randomSuffix()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, AdminDSN())
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	DropAtCleanup(t, name)
	return WithDatabase(AdminDSN(), name)
}

// DropAtCleanup drops database name, if it exists then, when t ends: for a
// database the code under test creates itself (say beside one from DSN).
// Connections still open to it are closed.
func DropAtCleanup(t testing.TB, name string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, AdminDSN())
		if err != nil {
			t.Logf("pgtest: drop %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Logf("pgtest: drop %s: %v", name, err)
		}
	})
}

// WithDatabase returns dsn naming database name instead of its own.
func WithDatabase(dsn, name string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	u.Path = "/" + name
	return u.String()
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return strings.ToLower(hex.EncodeToString(b))
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
