package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/config"
	"github.com/vigilops/vigil/internal/app"
	"github.com/vigilops/vigil/internal/devtemporal"
	"github.com/vigilops/vigil/internal/pgtest"
	"github.com/vigilops/vigil/store"
)

func TestServeFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no temporal address", []string{"serve", "--data-dir", t.TempDir()}, "--temporal-address is required: vigil serve embeds no Temporal server"},
		{"temporal address not host:port", []string{"serve", "--temporal-address", "temporal"}, `--temporal-address "temporal" is not host:port`},
		{"unknown role", []string{"serve", "--temporal-address", "127.0.0.1:7233", "--roles", "api,scheduler"}, `--roles: unknown role "scheduler": roles are api, ingest, worker and console`},
		{"no role", []string{"serve", "--temporal-address", "127.0.0.1:7233", "--roles", ","}, "--roles: no role given"},
		{"bad store", []string{"serve", "--temporal-address", "127.0.0.1:7233", "--store", "mysql://vigil@db/vigil"}, `--store: store "mysql://vigil@db/vigil": not a store DSN`},
		{"store from a missing variable", []string{"serve", "--temporal-address", "127.0.0.1:7233", "--store", "env:VIGIL_TEST_NO_SUCH_STORE"}, "--store: "},
		{"postgres without a signing key", []string{"serve", "--temporal-address", "127.0.0.1:7233", "--store", "postgres://vigil:pw-s3cr3t@127.0.0.1:1/vigil"},
			"audit.signing_key is required with a PostgreSQL store"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if code := run(tt.args, &out, &out); code != 1 || !strings.Contains(out.String(), tt.want) {
				t.Errorf("exit %d, output %q; want exit 1 and %q", code, out.String(), tt.want)
			}
			if strings.Contains(out.String(), "pw-s3cr3t") {
				t.Errorf("the output shows the store's password: %s", out.String())
			}
		})
	}
	var out bytes.Buffer
	if code := run([]string{"serve", "--help"}, &out, &out); code != 0 || !strings.Contains(out.String(), "--roles") || !strings.Contains(out.String(), "holding a lease") {
		t.Errorf("serve --help: exit %d\n%s", code, out.String())
	}
}

// TestServeReplicasSplitRoles runs `vigil serve`'s replicas in this process on
// one store and one Temporal server: an api replica, an ingest replica (with
// the API too) and a worker replica. The api replica has no ingest route; an
// alert accepted by the ingest replica is delivered by the worker's
// dispatcher and shows in the api replica's API. When the worker stops,
// another worker replica takes the dispatcher's lease over and runs both new
// incidents and the approved runbook. It runs on SQLite and, when a server
// answers (internal/pgtest), on PostgreSQL.
func TestServeReplicasSplitRoles(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a Temporal server and four replicas")
	}
	t.Run("sqlite", func(t *testing.T) {
		splitRoles(t, func(dir string, _ *config.Config) string { return "sqlite://" + filepath.Join(dir, vigilDB) })
	})
	t.Run("postgres", func(t *testing.T) {
		splitRoles(t, func(dir string, cfg *config.Config) string {
			dsn := pgtest.SchemaDSN(t)
			cfg.Audit.SigningKey = config.Secret("file:" + newSigningKeyFile(t))
			return dsn
		})
	})
}

// splitRoles is TestServeReplicasSplitRoles on the store storeAt returns
// (it may edit the configuration for it).
func splitRoles(t *testing.T, storeAt func(dir string, cfg *config.Config) string) {
	dir := t.TempDir()
	logs := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("vigil logs:\n%s", logs)
		}
	})
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx := context.Background()
	cfg := config.Default()
	cfg.DataDir, cfg.HTTP.Addr, cfg.Runbooks.Dir = dir, "127.0.0.1:0", "../../examples/runbooks"
	cfg.HA.LeaseTTL = 3 * time.Second
	dsn := storeAt(dir, &cfg)
	srv, err := devtemporal.Start(ctx, devtemporal.Options{Logger: logger.With("component", "temporal-server")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() }) // after the replicas' cleanups

	var out syncBuffer
	replica := func(name, roles string) *app.App {
		t.Helper()
		o := serveOptions{roles: roles, store: dsn}
		opts, err := o.resolve(withTemporal(cfg, srv.Address()))
		if err != nil {
			t.Fatal(err)
		}
		opts.Logger = logger.With("replica", name)
		a, err := startReplica(ctx, opts, &out)
		if err != nil {
			t.Fatalf("replica %s: %v", name, err)
		}
		t.Cleanup(func() {
			if err := a.Stop(ctx); err != nil {
				t.Errorf("stop %s: %v", name, err)
			}
		})
		return a
	}
	api, ingest, worker := replica("api", "api"), replica("ingest", "ingest,api"), replica("worker", "worker")
	for _, a := range []*app.App{api, ingest, worker} {
		want := fmt.Sprintf("Vigil serving on http://%s: roles %s, store %s", a.Addr(), a.Roles(), a.Store())
		if !strings.Contains(out.String(), want) {
			t.Errorf("printed %q, want a line %q", out.String(), want)
		}
		if code, body := get(t, "http://"+a.Addr()+"/readyz"); code != 200 || body != "ok\n" {
			t.Errorf("%s /readyz: %d %q", a.Roles(), code, body)
		}
	}
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && strings.Contains(out.String(), ":"+pw+"@") {
			t.Errorf("the ready line shows the store's password: %s", out.String())
		}
	}
	apiURL, ingestURL := "http://"+api.Addr(), "http://"+ingest.Addr()

	scratch := t.TempDir()
	stale := filepath.Join(scratch, "stale.tmp")
	if err := os.WriteFile(stale, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-3 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	if code, _ := post(t, apiURL+"/api/v1/alerts/alertmanager", alertPayload(scratch)); code != 404 {
		t.Errorf("the api replica's ingest route: %d, want 404", code)
	}
	if code, _ := get(t, "http://"+worker.Addr()+"/api/v1/incidents"); code != 404 {
		t.Errorf("the worker replica's API: %d, want 404", code)
	}
	status, body := call(t, "POST", ingestURL+"/api/v1/alerts/alertmanager", alertPayload(scratch))
	if status != 200 {
		t.Fatalf("ingest: %d %v", status, body)
	}
	id := answeredIncident(t, apiURL, body, "DiskFillingUp")
	inc := waitFor(t, &vigil{url: apiURL}, id, "awaiting approval, with its evidence", func(inc map[string]any) bool {
		return inc["status"] == "awaiting_approval" && strings.Contains(fmt.Sprint(inc["messages"]), "E1 · alert firing: DiskFillingUp")
	})
	if thread := fmt.Sprint(inc["messages"]); !strings.Contains(thread, "P1 · Proposed: Delete old *.tmp files") {
		t.Errorf("thread lacks the proposal: %s", thread)
	}
	waitLease(t, worker.Store(), "dispatch", worker.Holder())

	// The worker replica goes; a second one takes its loops and its work.
	worker2 := replica("worker-2", "worker")
	if err := worker.Stop(ctx); err != nil {
		t.Fatalf("stop the first worker: %v", err)
	}
	waitLease(t, worker2.Store(), "dispatch", worker2.Holder())
	status, body = call(t, "POST", ingestURL+"/api/v1/alerts/alertmanager", strings.NewReplacer("DiskFillingUp", "InodesFillingUp", `"service":"db"`, `"service":"cache"`, "e2e-1", "e2e-2").Replace(alertPayload(t.TempDir())))
	if status != 200 {
		t.Fatalf("second ingest: %d %v", status, body)
	}
	id2 := answeredIncident(t, apiURL, body, "InodesFillingUp")
	waitFor(t, &vigil{url: apiURL}, id2, "showing its evidence", func(inc map[string]any) bool {
		return strings.Contains(fmt.Sprint(inc["messages"]), "E1 · alert firing: InodesFillingUp")
	})
	status, body = call(t, "POST", apiURL+"/api/v1/incidents/"+id+"/decisions", `{"proposal_id":"P1","decision":"approve","comment":"go"}`)
	if status != 200 || !strings.Contains(fmt.Sprint(body["message"]), "local-operator approved P1") {
		t.Fatalf("approve: %d %v", status, body)
	}
	waitFor(t, &vigil{url: apiURL}, id, "resolved", hasStatus("resolved"))
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale.tmp still exists: the step did not run (%v)", err)
	}
}

// withTemporal is cfg pointing at a Temporal frontend.
func withTemporal(cfg config.Config, addr string) config.Config {
	cfg.Temporal.Address = addr
	return cfg
}

// waitLease waits until holder holds the lease name.
func waitLease(t *testing.T, st *store.Store, name, holder string) {
	t.Helper()
	var leases []store.Lease
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var err error
		if leases, err = st.Leases(context.Background()); err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(leases, func(l store.Lease) bool {
			return l.Name == name && l.Holder == holder && l.ExpiresAt.After(time.Now())
		}) {
			return
		}
	}
	t.Fatalf("%s never held the lease %s; leases %+v", holder, name, leases)
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A replica reports on /readyz when Temporal does not answer, and one that
// cannot listen fails to start and leaves the store free.
func TestServeReadiness(t *testing.T) {
	ctx := context.Background()
	srv, err := devtemporal.Start(ctx, devtemporal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = srv.Stop()
		}
	})
	cfg := config.Default()
	cfg.DataDir, cfg.HTTP.Addr, cfg.Runbooks.Dir = t.TempDir(), "127.0.0.1:0", "../../examples/runbooks"
	o := serveOptions{roles: "api"}
	opts, err := o.resolve(withTemporal(cfg, srv.Address()))
	if err != nil {
		t.Fatal(err)
	}
	a, err := startReplica(ctx, opts, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Stop(ctx) })
	url := "http://" + a.Addr()

	taken := opts
	taken.Config.HTTP.Addr = a.Addr()
	if _, err := startReplica(ctx, taken, io.Discard); err == nil || !strings.Contains(err.Error(), "listen on "+a.Addr()) {
		t.Errorf("a replica on a taken port: %v, want it to fail to listen", err)
	}

	if code, body := get(t, url+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, body := get(t, url+"/readyz"); code != 200 || body != "ok\n" {
		t.Errorf("/readyz: %d %q", code, body)
	}
	if code, body := get(t, url+"/metrics"); code != 200 || !strings.Contains(body, "# TYPE") {
		t.Errorf("/metrics: %d %q", code, body)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped = true
	code, body := get(t, url+"/readyz")
	if code != 503 || !strings.HasPrefix(body, "temporal at "+srv.Address()) || strings.Count(body, "\n") != 1 {
		t.Errorf("/readyz without Temporal: %d %q, want 503 and one line naming Temporal", code, body)
	}
	if code, _ := get(t, url+"/healthz"); code != 200 {
		t.Errorf("/healthz without Temporal: %d, want 200 (the process is alive)", code)
	}
}

// answeredIncident is the incident an ingest answer names, or, when the
// alerts were only queued (a store's spool routes them after the answer),
// the newest incident titled after alertname once routing has opened it.
func answeredIncident(t *testing.T, apiURL string, answer map[string]any, alertname string) string {
	t.Helper()
	if ids, _ := answer["incidents"].([]any); len(ids) > 0 {
		return ids[0].(string)
	}
	if answer["queued"] == nil {
		t.Fatalf("the answer names no incident and queued nothing: %v", answer)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		_, list := call(t, "GET", apiURL+"/api/v1/incidents", "")
		for _, inc := range list["incidents"].([]any) {
			if m := inc.(map[string]any); strings.HasPrefix(fmt.Sprint(m["title"]), alertname) {
				return m["id"].(string)
			}
		}
	}
	t.Fatalf("no incident for %s was opened from the queued alerts", alertname)
	return ""
}
