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

// devRun is devMain running in the test: what it printed, its logs, and how
// to wait for a line of its output and to stop it.
type devRun struct {
	out, logs *syncBuffer
	cancel    context.CancelFunc
	done      chan error
}

func startDevMain(t *testing.T, cfg config.Config, demo bool) *devRun {
	t.Helper()
	r := &devRun{out: &syncBuffer{}, logs: &syncBuffer{}, done: make(chan error, 1)}
	var ctx context.Context
	ctx, r.cancel = context.WithCancel(context.Background())
	t.Cleanup(r.cancel)
	go func() {
		r.done <- devMain(ctx, cfg, demo, slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelInfo})), r.out)
	}()
	return r
}

// await waits up to within for re to match what it printed.
func (r *devRun) await(t *testing.T, what string, re *regexp.Regexp, within time.Duration) []string {
	t.Helper()
	for deadline := time.Now().Add(within); ; time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-r.done:
			t.Fatalf("vigil dev exited: %v\n%s", err, r.logs)
		default:
		}
		if m := re.FindStringSubmatch(r.out.String()); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s; printed %q\n%s", what, r.out, r.logs)
		}
	}
}

// stop cancels it and waits for a clean stop.
func (r *devRun) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("vigil dev: %v\n%s", err, r.logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("vigil dev did not stop")
	}
}

// TestDevMainPrintsWhereItRuns: `vigil dev` (make run) prints the banner
// with the console and ingest URLs of the port it listens on, serves there,
// and stops cleanly when its context ends.
func TestDevMainPrintsWhereItRuns(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir, cfg.HTTP.Addr, cfg.Runbooks.Dir = t.TempDir(), "127.0.0.1:0", "../../examples/runbooks"
	r := startDevMain(t, cfg, false)
	banner := regexp.MustCompile(`^Vigil is running.\n  console:  (http://127\.0\.0\.1:\d+)/\n  ingest:   POST (http://\S+)/api/v1/alerts/alertmanager\n  data dir: ` + regexp.QuoteMeta(cfg.DataDir) + `\nPress Ctrl-C to stop.\n$`)
	m := r.await(t, "banner", banner, 60*time.Second)
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
	r.stop(t)
	if !strings.Contains(r.logs.String(), "Vigil stopped") {
		t.Errorf("logs lack the clean stop:\n%s", r.logs)
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
	r := startDevMain(t, cfg, true)
	verdict := regexp.MustCompile(`Vigil: (\S+) ranked first \(strongest factor: \w+\); proposes P1 (\S+), P2 (\S+)\n  open http://\S+/incidents/(\S+)\n`)
	m := r.await(t, "verdict", verdict, 90*time.Second)
	if m[1] != "payments" || m[2] != "rollback-release" || m[3] != "collect-diagnostics" || m[4] != "incident-1-errorratehigh-payments" {
		t.Errorf("verdict %q: want payments first, P1 rollback-release, P2 collect-diagnostics on incident-1-errorratehigh-payments", m[0])
	}
	for _, want := range []string{"deploy of payments v1.5.0 (GitHub webhook)", "a forecast, before any alert → incident-2-diskfillingup-search"} {
		if !strings.Contains(r.out.String(), want) {
			t.Errorf("story lacks %q:\n%s", want, r.out)
		}
	}
	r.stop(t)
}
