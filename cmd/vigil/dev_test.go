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

// TestDevDemoTellsTheStory: `vigil dev --demo` (make run) plays the story
// through the public ingest paths and prints what Vigil made of it: the
// payments incident with payments ranked first and the rollback proposed
// first, and the forecast's preventive incident on search.
func TestDevDemoTellsTheStory(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir, cfg.HTTP.Addr, cfg.Runbooks.Dir = t.TempDir(), "127.0.0.1:0", "../../examples/runbooks"
	if err := demoConfig(&cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the demo's configuration: %v", err)
	}
	logs, out := &syncBuffer{}, &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- devMain(ctx, cfg, true, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})), out)
	}()
	verdict := regexp.MustCompile(`Vigil: (\S+) ranked first \(strongest factor: \w+\); proposes P1 (\S+), P2 (\S+)\n  open http://\S+/incidents/(\S+)\n`)
	var m []string
	for deadline := time.Now().Add(90 * time.Second); m == nil; time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("vigil dev exited: %v\n%s", err, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no verdict; printed %q\n%s", out, logs)
		}
		m = verdict.FindStringSubmatch(out.String())
	}
	if m[1] != "payments" || m[2] != "rollback-release" || m[3] != "collect-diagnostics" || m[4] != "incident-1-errorratehigh-payments" {
		t.Errorf("verdict %q: want payments first, P1 rollback-release, P2 collect-diagnostics on incident-1-errorratehigh-payments", m[0])
	}
	for _, want := range []string{"deploy of payments v1.5.0 (GitHub webhook)", "a forecast, before any alert → incident-2-diskfillingup-search"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("story lacks %q:\n%s", want, out)
		}
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
}
