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
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/vigilops/vigil/config"
	"github.com/vigilops/vigil/internal/app"
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

// TestNothingInClearAtRest runs a full incident whose runbook prints a
// secret, then reads every byte Vigil left behind: the Temporal server's
// database holds neither the alert's text, nor the parameter's value, nor
// the secret (payloads are sealed), and the secret is nowhere at all: not
// in the store, the spool, the logs, the API's answers or the audit export.
func TestNothingInClearAtRest(t *testing.T) {
	alertText, param, secret := canary(t, "annotation"), canary(t, "param"), canary(t, "secret")
	t.Setenv("VIGIL_TEST_PROBE_TOKEN", secret)
	dataDir, rbDir := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(rbDir, "leak-probe.yaml"), []byte(probeRunbook), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir, cfg.HTTP.Addr, cfg.Runbooks.Dir = dataDir, "127.0.0.1:0", rbDir
	logs := &syncBuffer{}
	d, url := startDevApp(t, cfg, logs)
	v := &vigil{url: url}

	alert := fmt.Sprintf(`{"version":"4","status":"firing","receiver":"vigil","groupLabels":{"alertname":"LeakProbe"},
	  "alerts":[{"status":"firing","labels":{"alertname":"LeakProbe","service":"probe","severity":"warning","target":%q},
	  "annotations":{"summary":%q},"startsAt":"2026-11-24T03:00:00Z","fingerprint":"probe-1"}]}`, param, alertText)
	status, body := call(t, "POST", url+"/api/v1/alerts/alertmanager", alert)
	if status != 200 {
		t.Fatalf("ingest: %d %v", status, body)
	}
	id := body["incidents"].([]any)[0].(string)
	waitFor(t, v, id, "awaiting_approval", hasStatus("awaiting_approval"))
	if status, body = call(t, "POST", url+"/api/v1/incidents/"+id+"/decisions", `{"proposal_id":"P1","decision":"approve"}`); status != 200 {
		t.Fatalf("approve: %d %v", status, body)
	}
	inc := waitFor(t, v, id, "resolved", hasStatus("resolved"))
	thread := fmt.Sprint(inc["messages"])
	if !strings.Contains(thread, "show-token: succeeded") || !strings.Contains(thread, param) {
		t.Fatalf("the probe runbook did not run as expected: %s", thread)
	}

	// The texts did pass through Temporal: the history, opened with the
	// codec, holds them; its raw payloads are sealed.
	history := decodedHistory(t, d, dataDir, id)
	for _, want := range []string{alertText, param} {
		if !strings.Contains(history, want) {
			t.Errorf("decoded history lacks %q: the check below would prove nothing", want)
		}
	}

	var answers bytes.Buffer
	for _, path := range []string{"/api/v1/incidents", "/api/v1/incidents/" + id, "/api/v1/incidents/" + id + "/timeline", "/api/v1/reports", "/incidents/" + id, "/incidents/" + id + "/timeline"} {
		_, b := getWith(t, url+path, nil)
		answers.WriteString(b)
	}
	if err := d.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	var export bytes.Buffer
	if code := run([]string{"audit", "export", "--incident", id, "--data-dir", dataDir}, &export, &export); code != 0 {
		t.Fatalf("audit export: exit %d: %s", code, export.String())
	}
	if !strings.Contains(export.String(), id) {
		t.Fatalf("audit export names no record of %s: %s", id, export.String())
	}

	temporalFiles := readAll(t, dataDir, func(name string) bool { return strings.HasPrefix(name, temporalDB) })
	if !bytes.Contains(temporalFiles, []byte(id)) {
		t.Fatalf("the Temporal database files do not even name the workflow %s: wrong files read", id)
	}
	everything := readAll(t, dataDir, func(string) bool { return true })
	places := []struct {
		name  string
		bytes []byte
		clear []string // what must not be there in clear
	}{
		{"the Temporal server's database", temporalFiles, []string{alertText, param, secret}},
		{"the data directory (store, spool, Temporal)", everything, []string{secret}},
		{"the logs", []byte(logs.String()), []string{secret}},
		{"the API's and console's answers", answers.Bytes(), []string{secret}},
		{"the audit export", export.Bytes(), []string{secret}},
	}
	for _, p := range places {
		for _, s := range p.clear {
			if bytes.Contains(p.bytes, []byte(s)) {
				t.Errorf("%s holds %q in clear", p.name, s)
			}
		}
	}
}

// decodedHistory returns the workflow's history with every payload opened by
// the app's codec, after checking that none is stored unsealed.
func decodedHistory(t *testing.T, d *devVigil, dataDir, id string) string {
	t.Helper()
	key, err := app.DevPayloadKey(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := app.NewCodec(config.Encryption{Keys: []config.EncryptionKey{key}})
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	it := d.app.Temporal().GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
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
