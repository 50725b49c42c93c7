package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/vigilops/vigil/config"
)

// syncBuffer is a goroutine-safe bytes.Buffer for capturing output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// vigil is one in-process `vigil dev`.
type vigil struct {
	url  string
	stop func() error
}

func startVigil(t *testing.T, dataDir string, logs *syncBuffer) *vigil {
	t.Helper()
	return startVigilWith(t, dataDir, logs, nil)
}

// startVigilWith starts Vigil as `vigil dev` does (startDev: the data
// directory's lock, the embedded Temporal server, every role) with
// configuration changed by edit (may be nil), listening on a free port.
func startVigilWith(t *testing.T, dataDir string, logs *syncBuffer, edit func(*config.Config)) *vigil {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir, cfg.HTTP.Addr, cfg.Runbooks.Dir = dataDir, "127.0.0.1:0", "../../examples/runbooks"
	if edit != nil {
		edit(&cfg)
	}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	d, err := startDev(context.Background(), cfg, logger)
	if err != nil {
		t.Fatalf("vigil dev did not start: %v\n%s", err, logs)
	}
	var once sync.Once
	return &vigil{url: "http://" + d.app.Addr(), stop: func() error {
		once.Do(func() { err = d.stop() })
		return err
	}}
}

func call(t *testing.T, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s %s: not JSON: %s", method, url, b)
	}
	return resp.StatusCode, v
}

// waitFor polls the incident until cond holds.
func waitFor(t *testing.T, v *vigil, id string, what string, cond func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last map[string]any
	for time.Now().Before(deadline) {
		status, inc := call(t, "GET", v.url+"/api/v1/incidents/"+id, "")
		if status == 200 && cond(inc) {
			return inc
		}
		last = inc
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("incident %s never became %s; last state: %v", id, what, last)
	return nil
}

func hasStatus(s string) func(map[string]any) bool {
	return func(inc map[string]any) bool { return inc["status"] == s }
}

func alertPayload(path string) string {
	return fmt.Sprintf(`{"version":"4","status":"firing","receiver":"vigil","groupLabels":{"alertname":"DiskFillingUp"},
	  "alerts":[{"status":"firing","labels":{"alertname":"DiskFillingUp","service":"db","severity":"critical","instance":"db-1","path":%q},
	  "annotations":{"summary":"disk 93%% full"},"startsAt":"2026-11-24T03:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"e2e-1"}]}`, path)
}

func TestEndToEnd(t *testing.T) {
	dataDir := t.TempDir()
	logs := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("vigil logs:\n%s", logs)
		}
	})
	scratch := t.TempDir()
	oldTmp := filepath.Join(scratch, "stale.tmp")
	if err := os.WriteFile(oldTmp, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-3 * time.Hour)
	if err := os.Chtimes(oldTmp, old, old); err != nil {
		t.Fatal(err)
	}

	// An alert arrives and becomes an incident waiting for approval.
	v := startVigil(t, dataDir, logs)
	status, body := call(t, "POST", v.url+"/api/v1/alerts/alertmanager", alertPayload(scratch))
	if status != 200 {
		t.Fatalf("ingest: %d %v", status, body)
	}
	id := body["incidents"].([]any)[0].(string)
	inc := waitFor(t, v, id, "awaiting_approval", hasStatus("awaiting_approval"))
	thread := fmt.Sprint(inc["messages"])
	for _, want := range []string{"E1 · alert firing: DiskFillingUp", "Root-cause candidates", "P1 · Proposed: Delete old *.tmp files"} {
		if !strings.Contains(thread, want) {
			t.Errorf("thread lacks %q: %s", want, thread)
		}
	}

	// Vigil stops and starts again on the same data dir: the incident still waits.
	if err := v.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	v = startVigil(t, dataDir, logs)
	defer func() { _ = v.stop() }()
	waitFor(t, v, id, "awaiting_approval after restart", hasStatus("awaiting_approval"))

	// Someone outside the runbook's approvers is refused; nothing runs.
	status, body = call(t, "POST", v.url+"/api/v1/incidents/"+id+"/decisions", `{"proposal_id":"P1","decision":"approve","user":"mallory"}`)
	if status != 403 || !strings.Contains(fmt.Sprint(body["error"]), "mallory may not decide P1") {
		t.Errorf("unauthorized approval: %d %v", status, body)
	}
	if _, err := os.Stat(oldTmp); err != nil {
		t.Fatalf("a refused approval ran the runbook: %v", err)
	}

	// The console user approves; the runbook runs for real and resolves the incident.
	status, body = call(t, "POST", v.url+"/api/v1/incidents/"+id+"/decisions", `{"proposal_id":"P1","decision":"approve","comment":"go"}`)
	if status != 200 || !strings.Contains(fmt.Sprint(body["message"]), "local-operator approved P1") {
		t.Fatalf("approve: %d %v", status, body)
	}
	inc = waitFor(t, v, id, "resolved", hasStatus("resolved"))
	if _, err := os.Stat(oldTmp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale.tmp still exists: the step did not run (%v)", err)
	}
	thread = fmt.Sprint(inc["messages"])
	for _, want := range []string{"Step 2/3 delete-old-tmp: succeeded (exit 0", oldTmp, "Runbook clean-temp-files (P1) succeeded."} {
		if !strings.Contains(thread, want) {
			t.Errorf("thread lacks %q: %s", want, thread)
		}
	}
	status, _ = call(t, "POST", v.url+"/api/v1/incidents/"+id+"/decisions", `{"proposal_id":"P2","decision":"approve"}`)
	if status != 409 {
		t.Errorf("decision on a resolved incident: %d, want 409", status)
	}
	if err := v.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}

	// The audit trail verifies, and stops verifying once a row is altered.
	var out bytes.Buffer
	if code := run([]string{"audit", "verify", "--data-dir", dataDir}, &out, &out); code != 0 || !strings.Contains(out.String(), "audit trail intact") {
		t.Fatalf("audit verify: exit %d: %s", code, out.String())
	}
	db, err := sql.Open("sqlite3", filepath.Join(dataDir, vigilDB))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE audit SET details = replace(details, 'local-operator', 'mallory') WHERE action = 'decision.approve'`); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	out.Reset()
	if code := run([]string{"audit", "verify", "--data-dir", dataDir}, &out, &out); code != 1 || !regexp.MustCompile(`audit record \d+: content does not match its hash`).MatchString(out.String()) {
		t.Errorf("audit verify after tampering: exit %d: %s", code, out.String())
	}
}

// TestSpooledIngestEndToEnd: with ingest.spool, `vigil dev` answers that the
// alert is queued, then routes it into an incident whose workflow takes it in.
func TestSpooledIngestEndToEnd(t *testing.T) {
	logs := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("vigil logs:\n%s", logs)
		}
	})
	v := startVigilWith(t, t.TempDir(), logs, func(c *config.Config) { c.Ingest.Spool = config.SpoolAlways })
	defer func() { _ = v.stop() }()
	status, body := call(t, "POST", v.url+"/api/v1/alerts/alertmanager", alertPayload(t.TempDir()))
	if status != 200 || body["queued"] != float64(1) || len(body["incidents"].([]any)) != 0 {
		t.Fatalf("ingest: %d %v, want 200 with the alert queued", status, body)
	}
	var id string
	for deadline := time.Now().Add(30 * time.Second); id == ""; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the spooled alert never became an incident")
		}
		if _, list := call(t, "GET", v.url+"/api/v1/incidents", ""); list != nil {
			if incs, _ := list["incidents"].([]any); len(incs) == 1 {
				id, _ = incs[0].(map[string]any)["id"].(string)
			}
		}
	}
	waitFor(t, v, id, "analysed", func(inc map[string]any) bool {
		alerts, _ := inc["alerts"].([]any)
		return len(alerts) == 1
	})
}
