package devtemporal

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.temporal.io/server/common/config"
	tlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	"go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	"go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql"
	"go.temporal.io/server/common/resolver"
	"go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/tools/common/schema"

	"github.com/vigilops/vigil/store"
)

// Temporal's embedded schema directories (go.temporal.io/server/schema) for
// its PostgreSQL 12+ plugin.
const (
	mainSchema       = "postgresql/v12/temporal"
	visibilitySchema = "postgresql/v12/visibility"
)

// Connection pool sizes per Temporal service (frontend, history, matching and
// worker each open their own pools), so the server holds at most
// 4*(mainConns+visibilityConns) connections: well under PostgreSQL's default
// max_connections of 100.
const (
	mainConns       = 10
	visibilityConns = 5
)

// CheckPostgresDSN reports whether dsn is a PostgreSQL URL Start can use:
// postgres://user:password@host[:port]/database[?param=value…]. Its errors
// never contain the password.
func CheckPostgresDSN(dsn string) error {
	_, err := postgresConfig(dsn)
	return err
}

// postgresConfig turns a PostgreSQL URL into the plugin's connection settings.
// URL query parameters (sslmode, sslrootcert, …) pass through to the driver;
// sslmode defaults to prefer, as psql and pgx do with the same URL (the plugin's
// own default would be disable).
func postgresConfig(dsn string) (*config.SQL, error) {
	const want = "want postgres://user:password@host:port/database"
	if dsn == "" {
		return nil, errors.New("empty, " + want)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		// A *url.Error quotes the whole URL, password included.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("not a URL (%v), %s", err, want)
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return nil, fmt.Errorf("%s: scheme %q, %s", store.Redact(dsn), u.Scheme, want)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%s: no host, %s", store.Redact(dsn), want)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" || strings.Contains(name, "/") {
		return nil, fmt.Errorf("%s: no database name, %s", store.Redact(dsn), want)
	}
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	attrs := map[string]string{"sslmode": "prefer"}
	for k, vs := range u.Query() {
		if len(vs) != 1 {
			return nil, fmt.Errorf("%s: parameter %s given %d times", store.Redact(dsn), k, len(vs))
		}
		attrs[k] = vs[0]
	}
	cfg := &config.SQL{
		PluginName:        postgresql.PluginNamePGX,
		DatabaseName:      name,
		ConnectAddr:       net.JoinHostPort(u.Hostname(), port),
		ConnectProtocol:   "tcp",
		ConnectAttributes: attrs,
		MaxConnLifetime:   time.Hour,
	}
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Password, _ = u.User.Password()
	}
	return cfg, nil
}

// visibilityDSN is the default visibility database: <database>_visibility on
// the same server, reached with the same credentials and parameters.
func visibilityDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn // postgresConfig rejects it with a better message
	}
	u.Path = u.Path + "_visibility"
	u.RawPath = ""
	return u.String()
}

// preparePostgres makes both databases ready for the server: each is created
// if missing, its schema set up on first use and updated to the version this
// Temporal library expects; then the namespace is registered if missing. The
// main database stays locked to this server until the returned func is called.
func preparePostgres(ctx context.Context, opts Options, logger tlog.Logger) (config.Persistence, func(), error) {
	visDSN := opts.VisibilityDSN
	if visDSN == "" {
		visDSN = visibilityDSN(opts.PostgresDSN)
	}
	stores := []struct {
		dsn    string
		kind   sqlplugin.DbKind
		schema string
		conns  int
		cfg    *config.SQL
	}{
		{dsn: opts.PostgresDSN, kind: sqlplugin.DbKindMain, schema: mainSchema, conns: mainConns},
		{dsn: visDSN, kind: sqlplugin.DbKindVisibility, schema: visibilitySchema, conns: visibilityConns},
	}
	unlock := func() {}
	fail := func(err error) (config.Persistence, func(), error) {
		unlock()
		return config.Persistence{}, nil, err
	}
	for i := range stores {
		s := &stores[i]
		cfg, err := postgresConfig(s.dsn)
		if err != nil {
			return fail(fmt.Errorf("embedded temporal: PostgreSQL DSN: %w", err))
		}
		if err := ensureDatabase(ctx, s.dsn, cfg.DatabaseName); err != nil {
			return fail(fmt.Errorf("embedded temporal: database %s: %w", store.Redact(s.dsn), err))
		}
		if s.kind == sqlplugin.DbKindMain {
			release, err := lockDatabase(ctx, s.dsn)
			if err != nil {
				return fail(fmt.Errorf("embedded temporal: database %s: %w", store.Redact(s.dsn), err))
			}
			unlock = release
		}
		if err := migrate(cfg, s.kind, s.schema, logger); err != nil {
			return fail(fmt.Errorf("embedded temporal: schema of %s: %w", store.Redact(s.dsn), err))
		}
		cfg.MaxConns, cfg.MaxIdleConns = s.conns, s.conns
		s.cfg = cfg
	}
	// The namespace helpers in Temporal's sqlite package work on any SQL plugin.
	ns, err := sqlite.NewNamespaceConfig(clusterName, opts.Namespace, false, nil)
	if err != nil {
		return fail(fmt.Errorf("embedded temporal: namespace %q: %w", opts.Namespace, err))
	}
	if err := sqlite.CreateNamespaces(stores[0].cfg, ns); err != nil {
		return fail(fmt.Errorf("embedded temporal: register namespace %q in %s: %w", opts.Namespace, store.Redact(opts.PostgresDSN), err))
	}
	return config.Persistence{
		DefaultStore:    "postgres",
		VisibilityStore: "postgres-visibility",
		// Fixed when the database is first used: Temporal refuses to start on
		// it with another count. Four is Temporal's own development default.
		NumHistoryShards: 4,
		DataStores: map[string]config.DataStore{
			"postgres":            {SQL: stores[0].cfg},
			"postgres-visibility": {SQL: stores[1].cfg},
		},
	}, unlock, nil
}

// serverLock is the advisory lock key a server holds in its main database. Such
// locks are per database, and the database is Temporal's alone.
const serverLock = 0x7669_6769_6c54 // "vigilT"

// lockDatabase holds serverLock on a connection of its own until release, so
// that a second server on the same database (a replicated deployment, say)
// fails at start instead of contending with the first for history shards. The
// lock goes with the connection: if PostgreSQL drops it, it is gone.
func lockDatabase(ctx context.Context, dsn string) (release func(), err error) {
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	var ok bool
	if err := c.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", serverLock).Scan(&ok); err != nil {
		_ = c.Close(ctx)
		return nil, fmt.Errorf("lock: %w", err)
	}
	if !ok {
		_ = c.Close(ctx)
		return nil, errors.New("another Temporal server is using this database; run only one")
	}
	return func() { _ = c.Close(context.Background()) }, nil
}

// ensureDatabase creates database name, which dsn names, when the server says
// it does not exist. It is created through the server's "postgres" database,
// so only then does the role need CREATEDB.
func ensureDatabase(ctx context.Context, dsn, name string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err == nil {
		return c.Close(ctx)
	}
	if pgCode(err) != "3D000" { // invalid_catalog_name: no such database
		return fmt.Errorf("connect: %w", err)
	}
	u, _ := url.Parse(dsn) // postgresConfig has parsed it
	u.Path, u.RawPath = "/postgres", ""
	c, err = pgx.Connect(ctx, u.String())
	if err != nil {
		return fmt.Errorf("missing; connect to database postgres to create it: %w", err)
	}
	defer c.Close(ctx)
	_, err = c.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	if err != nil && pgCode(err) != "42P04" { // duplicate_database: created meanwhile
		return fmt.Errorf("missing; create it: %w", err)
	}
	return nil
}

func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// migrate brings one database's schema to the version the Temporal library
// expects, as temporal-sql-tool's `setup-schema -v 0.0` then `update-schema -d
// <schema>/versioned` do: each version's statements are applied in order and the
// version recorded after them, and a step cut short is safe to rerun (the tool
// skips "already exists"), so a start interrupted during setup resumes on the
// next. A database holding other tables but no Temporal schema is refused.
func migrate(cfg *config.SQL, kind sqlplugin.DbKind, schemaName string, logger tlog.Logger) error {
	db, err := sql.NewSQLAdminDB(kind, cfg, resolver.NewNoopResolver(), logger, metrics.NoopMetricsHandler)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	sdb := schemaDB{db: db}
	defer sdb.Close()
	if _, err := sdb.ReadSchemaVersion(); err != nil {
		tables, lerr := db.ListTables(cfg.DatabaseName)
		if lerr != nil {
			return fmt.Errorf("list tables: %w", lerr)
		}
		tables = slices.DeleteFunc(tables, func(t string) bool { return t == "schema_version" || t == "schema_update_history" })
		if len(tables) > 0 {
			return fmt.Errorf("database has tables (%s…) but no Temporal schema version; use an empty or a Temporal database", tables[0])
		}
	}
	if err := schema.NewSetupSchemaTask(sdb, &schema.SetupConfig{InitialVersion: "0.0"}, logger).Run(); err != nil {
		return fmt.Errorf("set up version tables: %w", err)
	}
	if err := schema.NewUpdateSchemaTask(sdb, &schema.UpdateConfig{DBName: cfg.DatabaseName, SchemaName: schemaName}, logger).Run(); err != nil {
		return fmt.Errorf("update to %s: %w", schemaName, err)
	}
	return db.VerifyVersion()
}

// schemaDB is one database as Temporal's schema tasks drive it: what
// temporal-sql-tool's tools/sql.Connection does, without that package's panic
// when closing fails.
type schemaDB struct{ db sqlplugin.AdminDB }

var _ schema.DB = schemaDB{}

func (s schemaDB) Exec(stmt string, args ...any) error { return s.db.Exec(stmt, args...) }
func (s schemaDB) DropAllTables() error                { return s.db.DropAllTables(s.db.DbName()) }
func (s schemaDB) CreateSchemaVersionTables() error    { return s.db.CreateSchemaVersionTables() }
func (s schemaDB) ReadSchemaVersion() (string, error)  { return s.db.ReadSchemaVersion(s.db.DbName()) }
func (s schemaDB) UpdateSchemaVersion(newVersion, minCompatibleVersion string) error {
	return s.db.UpdateSchemaVersion(s.db.DbName(), newVersion, minCompatibleVersion)
}
func (s schemaDB) WriteSchemaUpdateLog(oldVersion, newVersion, manifestMD5, desc string) error {
	return s.db.WriteSchemaUpdateLog(oldVersion, newVersion, manifestMD5, desc)
}
func (s schemaDB) Close()       { _ = s.db.Close() }
func (s schemaDB) Type() string { return "sql" }
