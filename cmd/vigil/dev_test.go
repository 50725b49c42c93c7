package main

import (
	"context"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/config"
)

// TestDevMainPrintsWhereItRuns: `vigil dev` (make run) prints the banner
// with the console and ingest URLs of the port it listens on, serves there,
// and stops cleanly when its context ends.
func TestDevMainPrintsWhereItRuns(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir, cfg.HTTP.Addr, cfg.Runbooks.Dir = t.TempDir(), "127.0.0.1:0", "../../examples/runbooks"
	logs, out := &syncBuffer{}, &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- devMain(ctx, cfg, false, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})), out)
	}()
	banner := regexp.MustCompile(`^Vigil is running.\n  console:  (http://127\.0\.0\.1:\d+)/\n  ingest:   POST (http://\S+)/api/v1/alerts/alertmanager\n  data dir: ` + regexp.QuoteMeta(cfg.DataDir) + `\nPress Ctrl-C to stop.\n$`)
	var m []string
	for deadline := time.Now().Add(60 * time.Second); m == nil; time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("vigil dev exited: %v\n%s", err, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no banner; printed %q\n%s", out, logs)
		}
		m = banner.FindStringSubmatch(out.String())
	}
	if m[1] != m[2] {
		t.Errorf("console at %s, ingest at %s", m[1], m[2])
	}
	resp, err := http.Get(m[1] + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz: %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("vigil dev: %v\n%s", err, logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("vigil dev did not stop")
	}
	if !strings.Contains(logs.String(), "Vigil stopped") {
		t.Errorf("logs lack the clean stop:\n%s", logs)
	}
}
