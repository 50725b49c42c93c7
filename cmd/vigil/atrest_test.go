package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/vigilops/vigil/config"
	"github.com/vigilops/vigil/internal/app"
	"github.com/vigilops/vigil/internal/codec"
	"github.com/vigilops/vigil/internal/devtemporal"
	"github.com/vigilops/vigil/internal/pgtest"
)

// probeRunbook prints its secret (printenv) and its parameter: a run of it
// puts both where Vigil keeps step output, unless Vigil redacts and seals them.
const probeRunbook = `id: leak-probe
title: Print the probe token and target
description: Test runbook whose first step prints a secret.
match:
  matchers: ['alertname="LeakProbe"']
params:
  target:
    from: label.target
    pattern: '[a-z0-9-]{1,64}'
risk: low
secrets:
  PROBE_TOKEN: env:VIGIL_TEST_PROBE_TOKEN
approval:
  approvers: [group:oncall]
steps:
  - id: show-token
    run: shell
    command: [printenv, PROBE_TOKEN]
    env: [PROBE_TOKEN]
    timeout: 5s
  - id: echo-target
    run: shell
    command: [echo, "{{ .params.target }}"]
    timeout: 5s
`

func canary(t *testing.T, what string) string {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return what + "-" + hex.EncodeToString(b)
}

// startDevApp is startVigilWith keeping the app (for its Temporal client).
func startDevApp(t *testing.T, cfg config.Config, logs *syncBuffer) (*devVigil, string) {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d, err := startDev(context.Background(), cfg, logger)
	if err != nil {
		t.Fatalf("vigil dev did not start: %v\n%s", err, logs)
	}
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { _ = d.stop() }) })
	return d, "http://" + d.app.Addr()
}

// probe is one run of the leak-probe runbook: its alert's text, its
// parameter's value and the secret it prints, each a random canary.
type probe struct{ alertText, param, secret string }

// newProbe makes the canaries, puts the secret where the runbook reads it
// and returns the runbooks directory.
func newProbe(t *testing.T) (probe, string) {
	t.Helper()
	p := probe{alertText: canary(t, "annotation"), param: canary(t, "param"), secret: canary(t, "secret")}
	t.Setenv("VIGIL_TEST_PROBE_TOKEN", p.secret)
	rbDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(rbDir, "leak-probe.yaml"), []byte(probeRunbook), 0o600); err != nil {
		t.Fatal(err)
	}
	return p, rbDir
}

// run takes the probe's incident from alert to resolution on the Vigil at
// url, checks that the texts went through Temporal sealed (tc reads the
// history, c opens it), and returns the incident and everything the API and
// console answered about it.
func (p probe) run(t *testing.T, url string, tc client.Client, c *codec.Codec) (string, []byte) {
	t.Helper()
	v := &vigil{url: url}
	alert := fmt.Sprintf(`{"version":"4","status":"firing","receiver":"vigil","groupLabels":{"alertname":"LeakProbe"},
	  "alerts":[{"status":"firing","labels":{"alertname":"LeakProbe","service":"probe","severity":"warning","target":%q},
	  "annotations":{"summary":%q},"startsAt":"2026-11-24T03:00:00Z","fingerprint":"probe-1"}]}`, p.param, p.alertText)
	status, body := call(t, "POST", url+"/api/v1/alerts/alertmanager", alert)
	if status != 200 {
		t.Fatalf("ingest: %d %v", status, body)
	}
	// A spooled alert (PostgreSQL) opens its incident after the answer.
	id := firstIncident(body)
	for deadline := time.Now().Add(30 * time.Second); id == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		_, list := call(t, "GET", url+"/api/v1/incidents", "")
		id = firstIncident(list)
	}
	if id == "" {
		t.Fatalf("the probe alert opened no incident: %v", body)
	}
	waitFor(t, v, id, "awaiting_approval", hasStatus("awaiting_approval"))
	if status, body = call(t, "POST", url+"/api/v1/incidents/"+id+"/decisions", `{"proposal_id":"P1","decision":"approve"}`); status != 200 {
		t.Fatalf("approve: %d %v", status, body)
	}
	inc := waitFor(t, v, id, "resolved", hasStatus("resolved"))
	thread := fmt.Sprint(inc["messages"])
	if !strings.Contains(thread, "show-token: succeeded") || !strings.Contains(thread, p.param) {
		t.Fatalf("the probe runbook did not run as expected: %s", thread)
	}
	// The texts did pass through Temporal: the history, opened with the
	// codec, holds them; its raw payloads are sealed.
	history := decodedHistory(t, tc, c, id)
	for _, want := range []string{p.alertText, p.param} {
		if !strings.Contains(history, want) {
			t.Errorf("decoded history lacks %q: the checks of the database would prove nothing", want)
		}
	}
	var answers bytes.Buffer
	for _, path := range []string{"/api/v1/incidents", "/api/v1/incidents/" + id, "/api/v1/incidents/" + id + "/timeline", "/api/v1/reports", "/incidents/" + id, "/incidents/" + id + "/timeline"} {
		_, b := getWith(t, url+path, nil)
		answers.WriteString(b)
	}
	return id, answers.Bytes()
}

// firstIncident is the first incident an ingest answer (ids) or a listing
// (objects) names; "" when none.
func firstIncident(body map[string]any) string {
	ids, _ := body["incidents"].([]any)
	if len(ids) == 0 {
		return ""
	}
	switch v := ids[0].(type) {
	case string:
		return v
	case map[string]any:
		id, _ := v["id"].(string)
		return id
	}
	return ""
}

// place is somewhere Vigil left bytes, and what must not be in them.
type place struct {
	name  string
	bytes []byte
	clear []string
}

// checkAbsent fails for every canary found in a place, as text or as the
// hex PostgreSQL prints bytea in.
func checkAbsent(t *testing.T, places []place) {
	t.Helper()
	for _, p := range places {
		for _, s := range p.clear {
			if bytes.Contains(p.bytes, []byte(s)) || bytes.Contains(p.bytes, []byte(hex.EncodeToString([]byte(s)))) {
				t.Errorf("%s: %q found in clear", p.name, s)
			}
		}
	}
}

// auditExport runs vigil audit export for id with args naming the store.
func auditExport(t *testing.T, id string, args ...string) []byte {
	t.Helper()
	var export bytes.Buffer
	if code := run(append([]string{"audit", "export", "--incident", id}, args...), &export, &export); code != 0 {
		t.Fatalf("audit export: exit %d: %s", code, export.String())
	}
	if !strings.Contains(export.String(), id) {
		t.Fatalf("audit export names no record of %s: %s", id, export.String())
	}
	return export.Bytes()
}

// TestNothingInClearAtRest runs a full incident on vigil dev whose runbook
// prints a secret, then reads every byte Vigil left behind: the embedded
// Temporal server's database holds neither the alert's text, nor the
// parameter's value, nor the secret (payloads are sealed), and the secret
// is nowhere at all: not in the store, the spool, the logs, the API's
// answers or the audit export.
func TestNothingInClearAtRest(t *testing.T) {
	p, rbDir := newProbe(t)
	dataDir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir, cfg.HTTP.Addr, cfg.Runbooks.Dir = dataDir, "127.0.0.1:0", rbDir
	logs := &syncBuffer{}
	d, url := startDevApp(t, cfg, logs)
	key, err := app.DevPayloadKey(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := app.NewCodec(config.Encryption{Keys: []config.EncryptionKey{key}})
	if err != nil {
		t.Fatal(err)
	}
	id, answers := p.run(t, url, d.app.Temporal(), c)
	if err := d.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	export := auditExport(t, id, "--data-dir", dataDir)

	temporalFiles := readAll(t, dataDir, func(name string) bool { return strings.HasPrefix(name, temporalDB) })
	if !bytes.Contains(temporalFiles, []byte(id)) {
		t.Fatalf("the Temporal database files do not even name the workflow %s: wrong files read", id)
	}
	checkAbsent(t, []place{
		{"the Temporal server's database", temporalFiles, []string{p.alertText, p.param, p.secret}},
		{"the data directory (store, spool, Temporal)", readAll(t, dataDir, func(string) bool { return true }), []string{p.secret}},
		{"the logs", []byte(logs.String()), []string{p.secret}},
		{"the API's and console's answers", answers, []string{p.secret}},
		{"the audit export", export, []string{p.secret}},
	})
}

// TestNothingInClearAtRestPostgres is the same run as production runs it:
// the store on PostgreSQL and Temporal (vigil temporal-server's engine) on
// PostgreSQL too, with a configured key ring. Every table of the three
// databases is read back.
func TestNothingInClearAtRestPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a Temporal server on PostgreSQL")
	}
	storeDSN, temporalDSN := pgtest.DSN(t), pgtest.DSN(t)
	visibilityDSN := temporalDSN[:strings.LastIndex(temporalDSN, "?")] + "_visibility" + temporalDSN[strings.LastIndex(temporalDSN, "?"):]
	pgtest.DropAtCleanup(t, databaseName(t, visibilityDSN))
	p, rbDir := newProbe(t)
	t.Setenv("VIGIL_TEST_PAYLOAD_KEY", codec.NewKey())
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	srv, err := devtemporal.Start(ctx, devtemporal.Options{PostgresDSN: temporalDSN, VisibilityDSN: visibilityDSN, Namespace: "default", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Stop() }()
	cfg := config.Default()
	cfg.DataDir, cfg.HTTP.Addr, cfg.Runbooks.Dir = t.TempDir(), "127.0.0.1:0", rbDir
	cfg.Audit.SigningKey = config.Secret("file:" + newSigningKeyFile(t))
	cfg.Temporal.Encryption.Keys = []config.EncryptionKey{{ID: "k1", Secret: "env:VIGIL_TEST_PAYLOAD_KEY"}}
	a, err := app.New(ctx, app.Options{Config: cfg, StoreDSN: storeDSN, TemporalAddress: srv.Address(), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(ctx); err != nil {
		_ = a.Stop(ctx)
		t.Fatal(err)
	}
	c, err := app.NewCodec(cfg.Temporal.Encryption)
	if err != nil {
		t.Fatal(err)
	}
	id, answers := p.run(t, "http://"+a.Addr(), a.Temporal(), c)
	if err := a.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatalf("stop Temporal: %v", err)
	}
	cfgPath := filepath.Join(t.TempDir(), "vigil.yaml")
	if err := os.WriteFile(cfgPath, []byte("audit:\n  signing_key: "+string(cfg.Audit.SigningKey)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	export := auditExport(t, id, "--store", storeDSN, "--config", cfgPath)

	temporalRows := slices.Concat(dumpDatabase(t, temporalDSN), dumpDatabase(t, visibilityDSN))
	if !bytes.Contains(temporalRows, []byte(id)) {
		t.Fatalf("the Temporal databases do not even name the workflow %s: wrong databases read", id)
	}
	checkAbsent(t, []place{
		{"the Temporal server's databases", temporalRows, []string{p.alertText, p.param, p.secret}},
		{"the store", dumpDatabase(t, storeDSN), []string{p.secret}},
		{"the data directory", readAll(t, cfg.DataDir, func(string) bool { return true }), []string{p.secret}},
		{"the logs", []byte(logs.String()), []string{p.secret}},
		{"the API's and console's answers", answers, []string{p.secret}},
		{"the audit export", export, []string{p.secret}},
	})
}

func databaseName(t *testing.T, dsn string) string {
	t.Helper()
	u, err := neturl.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(u.Path, "/")
}

// dumpDatabase returns every row of every table of the database at dsn, as
// PostgreSQL prints rows (bytea in hex).
func dumpDatabase(t *testing.T, dsn string) []byte {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables
		WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var all []byte
	for _, table := range tables {
		rows, err := conn.Query(ctx, "SELECT t::text FROM "+table+" t")
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		for _, r := range texts {
			all = append(all, r...)
		}
	}
	return all
}

// decodedHistory returns the workflow's history with every payload opened by
// c, after checking that none is stored unsealed.
func decodedHistory(t *testing.T, tc client.Client, c *codec.Codec, id string) string {
	t.Helper()
	var sb strings.Builder
	it := tc.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range payloadsOf(ev) {
			if enc := string(p.Metadata["encoding"]); enc != "binary/encrypted" {
				t.Errorf("event %d %s: payload stored with encoding %q, not sealed", ev.EventId, ev.EventType, enc)
				continue
			}
			out, err := c.Decode([]*commonpb.Payload{p})
			if err != nil {
				t.Fatal(err)
			}
			sb.Write(out[0].Data)
		}
	}
	return sb.String()
}

// payloadsOf finds every payload in a history event, but for search
// attributes (Temporal indexes those, so no codec touches them: Vigil puts
// no incident content in them).
func payloadsOf(m proto.Message) []*commonpb.Payload {
	var out []*commonpb.Payload
	var walk func(protoreflect.Message)
	walk = func(m protoreflect.Message) {
		switch p := m.Interface().(type) {
		case *commonpb.Payload:
			out = append(out, p)
			return
		case *commonpb.SearchAttributes:
			return
		}
		m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			switch {
			case fd.IsList() && fd.Message() != nil:
				for i := range v.List().Len() {
					walk(v.List().Get(i).Message())
				}
			case fd.IsMap() && fd.MapValue().Message() != nil:
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool { walk(mv.Message()); return true })
			case !fd.IsList() && !fd.IsMap() && fd.Message() != nil:
				walk(v.Message())
			}
			return true
		})
	}
	walk(m.ProtoReflect())
	return out
}

// readAll concatenates the files under dir whose names pass keep.
func readAll(t *testing.T, dir string, keep func(name string) bool) []byte {
	t.Helper()
	var all []byte
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || !keep(e.Name()) {
			return err
		}
		b, err := os.ReadFile(path)
		all = append(all, b...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// getWith GETs url with headers and returns the status and body.
func getWith(t *testing.T, url string, headers map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
