package devtemporal

import (
	"context"
	"maps"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	postgresqlschema "go.temporal.io/server/schema/postgresql/v12"

	"github.com/vigilops/vigil/internal/pgtest"
)

// TestPostgresWorkflowSurvivesRestart runs a workflow on a server persisted to a
// fresh PostgreSQL database, stops it, starts a new server on the same database
// and finds the finished workflow's result, history and visibility record.
func TestPostgresWorkflowSurvivesRestart(t *testing.T) {
	dsn := pgtest.DSN(t)
	visibility := databaseName(t, dsn) + "_visibility"
	pgtest.DropAtCleanup(t, visibility) // Start creates it
	ctx := context.Background()

	run := func(t *testing.T, listen string, f func(c client.Client)) {
		t.Helper()
		began := time.Now()
		srv, err := Start(ctx, Options{PostgresDSN: dsn, ListenAddr: listen})
		if err != nil {
			t.Fatalf("start: %v", err)
		}
		t.Logf("start to ready: %v", time.Since(began).Round(time.Millisecond))
		defer func() {
			began := time.Now()
			if err := srv.Stop(); err != nil {
				t.Errorf("stop: %v", err)
			}
			t.Logf("stop: %v", time.Since(began).Round(time.Millisecond))
		}()
		c, err := client.Dial(client.Options{HostPort: srv.Address(), Namespace: srv.Namespace(), Logger: discardSDKLogger{}})
		if err != nil {
			t.Fatalf("dial %s: %v", srv.Address(), err)
		}
		defer c.Close()
		f(c)
	}

	// A wildcard listen address is reached through loopback.
	run(t, "0.0.0.0:0", func(c client.Client) {
		w := worker.New(c, "q", worker.Options{})
		w.RegisterWorkflow(echo)
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		began := time.Now()
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "wf-1", TaskQueue: "q"}, echo, "hi")
		if err != nil {
			t.Fatal(err)
		}
		var out string
		if err := run.Get(ctx, &out); err != nil || out != "echo:hi" {
			t.Fatalf("result = %q, %v; want echo:hi", out, err)
		}
		t.Logf("workflow round trip: %v", time.Since(began).Round(time.Millisecond))

		if second, err := Start(ctx, Options{PostgresDSN: dsn}); err == nil || !strings.Contains(err.Error(), "another Temporal server is using this database") {
			if second != nil {
				_ = second.Stop()
			}
			t.Errorf("second server on the same database: %v; want it refused", err)
		}
	})
	versions := schemaVersions(t, dsn, visibility)
	want := map[string]string{"main": postgresqlschema.Version, "visibility": postgresqlschema.VisibilityVersion}
	for db, v := range want {
		if versions[db].version != v {
			t.Errorf("%s schema version = %q, want %q", db, versions[db].version, v)
		}
	}

	run(t, "127.0.0.1:0", func(c client.Client) {
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		var out string
		if err := c.GetWorkflow(ctx, "wf-1", "").Get(ctx, &out); err != nil || out != "echo:hi" {
			t.Fatalf("after restart: result = %q, %v; want echo:hi", out, err)
		}
		var last enumspb.EventType
		for it := c.GetWorkflowHistory(ctx, "wf-1", "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT); it.HasNext(); {
			e, err := it.Next()
			if err != nil {
				t.Fatalf("after restart: history: %v", err)
			}
			last = e.GetEventType()
		}
		if last != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED {
			t.Errorf("after restart: last history event = %v, want WorkflowExecutionCompleted", last)
		}
		// Visibility records are written asynchronously, so poll.
		for {
			resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: "WorkflowId = 'wf-1'"})
			if err == nil && len(resp.Executions) == 1 && resp.Executions[0].GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("after restart: list wf-1 = %v, %v; want one completed execution", resp, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	if again := schemaVersions(t, dsn, visibility); !maps.Equal(again, versions) {
		t.Errorf("second start changed the schema: %+v, was %+v", again, versions)
	}
}

// TestPostgresRefusesForeignDatabase points the server at a database that holds
// someone else's tables: it must stop before touching them.
func TestPostgresRefusesForeignDatabase(t *testing.T) {
	dsn := pgtest.DSN(t)
	pgtest.DropAtCleanup(t, databaseName(t, dsn)+"_visibility")
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE TABLE incidents (id int)"); err != nil {
		t.Fatal(err)
	}
	_, err = Start(ctx, Options{PostgresDSN: dsn})
	if err == nil || !strings.Contains(err.Error(), "no Temporal schema version") || !strings.Contains(err.Error(), "incidents") {
		t.Fatalf("Start = %v; want a refusal naming the foreign table", err)
	}
	var n int
	if err := c.QueryRow(ctx, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'").Scan(&n); err != nil || n != 1 {
		t.Errorf("tables after refusal = %d, %v; want only incidents", n, err)
	}
}

func TestStartErrorsHidePassword(t *testing.T) {
	tests := []struct {
		name, dsn, want string
	}{
		{"unreachable server", "postgres://vigil:s3cret@127.0.0.1:1/temporal?connect_timeout=2", "postgres://vigil:xxxxx@127.0.0.1:1/temporal"},
		{"bad URL escape", "postgres://vigil:s3cret@host/temporal%zz", "not a URL"},
		{"wrong scheme", "mysql://vigil:s3cret@host/temporal", `scheme "mysql"`},
		{"no database", "postgres://vigil:s3cret@host", "no database name"},
		{"no host", "postgres://vigil:s3cret@/temporal", "no host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Start(context.Background(), Options{PostgresDSN: tt.dsn})
			if err == nil {
				t.Fatal("Start succeeded")
			}
			if strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q; want it to contain %q and not the password", err, tt.want)
			}
		})
	}
}

func TestPostgresConfig(t *testing.T) {
	tests := []struct {
		dsn                               string
		addr, db, user, password, sslmode string
	}{
		{"postgres://vigil:pw@db.internal/temporal", "db.internal:5432", "temporal", "vigil", "pw", "prefer"},
		{"postgresql://u:p%40ss@10.0.0.5:6543/t?sslmode=verify-full", "10.0.0.5:6543", "t", "u", "p@ss", "verify-full"},
		{"postgres://u@[::1]:5432/t?sslmode=disable", "[::1]:5432", "t", "u", "", "disable"},
	}
	for _, tt := range tests {
		t.Run(tt.dsn, func(t *testing.T) {
			cfg, err := postgresConfig(tt.dsn)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.ConnectAddr != tt.addr || cfg.DatabaseName != tt.db || cfg.User != tt.user || cfg.Password != tt.password || cfg.ConnectAttributes["sslmode"] != tt.sslmode {
				t.Errorf("got addr %q db %q user %q password %q sslmode %q", cfg.ConnectAddr, cfg.DatabaseName, cfg.User, cfg.Password, cfg.ConnectAttributes["sslmode"])
			}
		})
	}
	if got, want := visibilityDSN("postgres://u:p@h:5432/temporal?sslmode=disable"), "postgres://u:p@h:5432/temporal_visibility?sslmode=disable"; got != want {
		t.Errorf("visibilityDSN = %q, want %q", got, want)
	}
}

func TestParseListen(t *testing.T) {
	tests := []struct {
		addr, bind, dial string
		port             int
		wantErr          string
	}{
		{addr: "0.0.0.0:7233", bind: "0.0.0.0", dial: "127.0.0.1", port: 7233},
		{addr: ":7233", bind: "0.0.0.0", dial: "127.0.0.1", port: 7233},
		{addr: "[::]:7233", bind: "::", dial: "::1", port: 7233},
		{addr: "localhost:0", bind: "127.0.0.1", dial: "127.0.0.1", port: 0},
		{addr: "10.1.2.3:7233", bind: "10.1.2.3", dial: "10.1.2.3", port: 7233},
		{addr: "temporal.internal:7233", wantErr: "must be an IP address"},
		{addr: "7233", wantErr: "want IP:port"},
		{addr: "127.0.0.1:70000", wantErr: "from 0 to 65535"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			bind, dial, port, err := parseListen(tt.addr)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || bind != tt.bind || dial != tt.dial || port != tt.port {
				t.Errorf("= %q, %q, %d, %v; want %q, %q, %d", bind, dial, port, err, tt.bind, tt.dial, tt.port)
			}
		})
	}
}

func databaseName(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(u.Path, "/")
}

type schemaState struct {
	version string
	updates int // rows in schema_update_history
}

// schemaVersions reads the Temporal schema version of the main database dsn
// names and of the visibility database beside it.
func schemaVersions(t *testing.T, dsn, visibility string) map[string]schemaState {
	t.Helper()
	ctx := context.Background()
	out := map[string]schemaState{}
	for db, name := range map[string]string{"main": databaseName(t, dsn), "visibility": visibility} {
		c, err := pgx.Connect(ctx, pgtest.WithDatabase(dsn, name))
		if err != nil {
			t.Fatalf("%s: %v", db, err)
		}
		var s schemaState
		err = c.QueryRow(ctx, "SELECT curr_version, (SELECT count(*) FROM schema_update_history) FROM schema_version WHERE db_name = $1", name).Scan(&s.version, &s.updates)
		_ = c.Close(ctx)
		if err != nil {
			t.Fatalf("%s schema version: %v", db, err)
		}
		out[db] = s
	}
	return out
}
