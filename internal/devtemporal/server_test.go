package devtemporal

import (
	"context"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

func echo(ctx workflow.Context, s string) (string, error) { return "echo:" + s, nil }

// TestWorkflowSurvivesRestart runs a workflow on the embedded server, stops it, starts
// a new server on the same SQLite file, and reads the finished workflow's result back.
func TestWorkflowSurvivesRestart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "temporal.db")
	ctx := context.Background()

	run := func(t *testing.T, f func(c client.Client)) {
		srv, err := Start(ctx, Options{DBPath: db})
		if err != nil {
			t.Fatalf("start: %v", err)
		}
		defer func() {
			if err := srv.Stop(); err != nil {
				t.Errorf("stop: %v", err)
			}
		}()
		c, err := client.Dial(client.Options{HostPort: srv.Address(), Namespace: srv.Namespace(), Logger: discardSDKLogger{}})
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer c.Close()
		f(c)
	}

	run(t, func(c client.Client) {
		w := worker.New(c, "q", worker.Options{})
		w.RegisterWorkflow(echo)
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "wf-1", TaskQueue: "q"}, echo, "hi")
		if err != nil {
			t.Fatal(err)
		}
		var out string
		if err := run.Get(ctx, &out); err != nil || out != "echo:hi" {
			t.Fatalf("result = %q, %v; want echo:hi", out, err)
		}
	})
	run(t, func(c client.Client) {
		var out string
		if err := c.GetWorkflow(ctx, "wf-1", "").Get(ctx, &out); err != nil || out != "echo:hi" {
			t.Fatalf("after restart: result = %q, %v; want echo:hi", out, err)
		}
	})
}

// TestFreePorts: distinct ports below the ephemeral range, each free to bind.
func TestFreePorts(t *testing.T) {
	ports, err := freePorts(4)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] || p < 20000 || p >= 32000 {
			t.Errorf("ports %v: %d repeated or outside [20000, 32000)", ports, p)
		}
		seen[p] = true
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Errorf("port %d is not free: %v", p, err)
			continue
		}
		_ = l.Close()
	}
}
