package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/vigilops/vigil/internal/pgtest"
)

func TestTemporalServerCLI(t *testing.T) {
	t.Setenv("VIGIL_TEST_TEMPORAL_STORE", "")
	tests := []struct {
		name    string
		args    []string
		code    int
		want    []string
		notWant string
	}{
		{name: "help", args: []string{"temporal-server", "--help"},
			want: []string{"--store", "--listen", "--visibility-store", "not a cluster", "_visibility", "env:NAME"}},
		{name: "listed", args: []string{"--help"}, want: []string{"temporal-server"}},
		{name: "no store", args: []string{"temporal-server"}, code: 1, want: []string{"--store is required"}},
		{name: "not postgres", args: []string{"temporal-server", "--store", "mysql://vigil:s3cret@db/temporal"}, code: 1,
			want: []string{`--store: mysql://vigil:xxxxx@db/temporal: scheme "mysql"`}, notWant: "s3cret"},
		{name: "no database", args: []string{"temporal-server", "--store", "postgres://vigil:s3cret@db:5432"}, code: 1,
			want: []string{"--store:", "no database name"}, notWant: "s3cret"},
		{name: "bad visibility", args: []string{"temporal-server", "--store", "postgres://db/t", "--visibility-store", "postgres:///t_vis"}, code: 1,
			want: []string{"--visibility-store:", "no host"}},
		{name: "unset env", args: []string{"temporal-server", "--store", "env:VIGIL_TEST_TEMPORAL_STORE"}, code: 1,
			want: []string{"--store:", "VIGIL_TEST_TEMPORAL_STORE is not set"}},
		// The listen address is checked before any database is dialled.
		{name: "bad listen", args: []string{"temporal-server", "--store", "postgres://vigil:s3cret@127.0.0.1:1/t", "--listen", "temporal.internal:7233"}, code: 1,
			want: []string{`listen address "temporal.internal:7233"`, "must be an IP address"}, notWant: "s3cret"},
		{name: "bad log level", args: []string{"temporal-server", "--store", "postgres://db/t", "--log-level", "loud"}, code: 1,
			want: []string{`--log-level "loud"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if code := run(tt.args, &out, &out); code != tt.code {
				t.Errorf("exit %d, want %d\n%s", code, tt.code, out.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if tt.notWant != "" && strings.Contains(out.String(), tt.notWant) {
				t.Errorf("output shows %q:\n%s", tt.notWant, out.String())
			}
		})
	}
}

// TestRunTemporalServer serves on a fresh PostgreSQL database until its context
// ends: it announces itself with the password hidden, answers clients, and
// stops cleanly.
func TestRunTemporalServer(t *testing.T) {
	dsn := pgtest.DSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	pgtest.DropAtCleanup(t, name+"_visibility")
	o := temporalServerOptions{store: dsn, listen: "127.0.0.1:0", namespace: "vigil"}
	opts, err := o.resolve()
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- runTemporalServer(ctx, opts, quiet, &out) }()

	var line string
	for deadline := time.Now().Add(60 * time.Second); line == ""; time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("server ended before ready: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no ready line within 60s")
		}
		line = out.String()
	}
	prefix, want := "Temporal server listening on 127.0.0.1:", "(namespace vigil, store postgres://vigil:xxxxx@127.0.0.1:5432/"+name+"?sslmode=disable)\n"
	if pgtest.AdminDSN() != pgtest.DefaultAdminDSN {
		want = "(namespace vigil, store " // another server: only its form is known
	}
	if !strings.HasPrefix(line, prefix) || !strings.Contains(line, want) || strings.Contains(line, ":vigil@") {
		t.Fatalf("ready line = %q, want %q…%q", line, prefix, want)
	}
	addr := strings.Fields(line)[4]
	c, err := client.Dial(client.Options{HostPort: addr, Namespace: "vigil", Logger: sdklog.NewStructuredLogger(quiet)})
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		t.Errorf("health at %s: %v", addr, err)
	}
	c.Close()

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("stop: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("server did not stop within 60s of its context ending")
	}
}
