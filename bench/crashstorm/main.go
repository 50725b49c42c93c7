// Command crashstorm sends alerts to a real Vigil process at a steady rate
// while killing it with SIGKILL at random moments, mid-burst and mid-step,
// restarting it each time on the same data, and then checks the promises a
// crash must not break:
//
//   - no acknowledged alert is missing: every alert in a request Vigil
//     answered 200 is in the store;
//   - no group ends with more than one open incident;
//   - no runbook step ran twice: the storm's runbook appends a start and an
//     end line per run, and a run key that starts twice is a step re-run.
//
// Incidents are approved as they wait, so steps run all along and some kills
// land while one runs. With --store sqlite (default) it runs `vigil dev` on a
// data directory; with --store postgres://… it runs `vigil temporal-server`
// on a database beside that one and `vigil serve` on the store.
//
// Usage:
//
//	go run ./bench/crashstorm [--vigil BIN] [--store sqlite|postgres://…]
//	    [--groups 127] [--rate 200] [--kills 12] [--json]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

type options struct {
	vigil   string
	store   string
	groups  int
	rate    int
	kills   int
	seed    uint64
	asJSON  bool
	workDir string
}

// Result is what one storm found.
type Result struct {
	Store             string  `json:"store"`
	Kills             int     `json:"kills"`
	KillsMidStep      int     `json:"kills_mid_step"`
	Requests          int     `json:"requests"`
	AlertsAcked       int     `json:"alerts_acknowledged"`
	AlertsMissing     int     `json:"alerts_missing"`
	Groups            int     `json:"groups"`
	GroupsMultiOpen   int     `json:"groups_with_more_than_one_open_incident"`
	Incidents         int     `json:"incidents"`
	StepRuns          int     `json:"step_runs"`
	StepsRunTwice     int     `json:"steps_run_twice"`
	RestartSecondsP50 float64 `json:"restart_seconds_p50"`
	Seconds           float64 `json:"seconds"`
}

func run(args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("crashstorm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.vigil, "vigil", "", "vigil binary to run (default: go build ./cmd/vigil)")
	fs.StringVar(&o.store, "store", "sqlite", "sqlite, or a postgres:// DSN of an empty database to run vigil serve on")
	fs.IntVar(&o.groups, "groups", 127, "alert groups (alertname × service)")
	fs.IntVar(&o.rate, "rate", 200, "alerts per second sent")
	fs.IntVar(&o.kills, "kills", 12, "SIGKILLs at random moments")
	fs.Uint64Var(&o.seed, "seed", 1, "random seed")
	fs.BoolVar(&o.asJSON, "json", false, "print the result as JSON")
	fs.StringVar(&o.workDir, "dir", "", "working directory (default: a new temporary one, removed after)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	res, err := storm(o, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "crashstorm:", err)
		return 1
	}
	if o.asJSON {
		b, _ := json.MarshalIndent(res, "", "  ")
		fmt.Fprintln(stdout, string(b))
	} else {
		fmt.Fprintf(stdout, "store %s: %d kills (%d mid-step) in %.0fs; restart p50 %.2fs\n", res.Store, res.Kills, res.KillsMidStep, res.Seconds, res.RestartSecondsP50)
		fmt.Fprintf(stdout, "alerts acknowledged %d, missing %d\n", res.AlertsAcked, res.AlertsMissing)
		fmt.Fprintf(stdout, "groups %d, incidents %d, groups with more than one open incident %d\n", res.Groups, res.Incidents, res.GroupsMultiOpen)
		fmt.Fprintf(stdout, "step runs %d, steps run twice %d\n", res.StepRuns, res.StepsRunTwice)
	}
	if res.AlertsMissing > 0 || res.GroupsMultiOpen > 0 || res.StepsRunTwice > 0 {
		return 1
	}
	return 0
}

// cluster is the Vigil under test: how to start it, and the process running.
type cluster struct {
	bin, dir, dsn, addr string
	tAddr               string   // temporal-server's, with a postgres store
	extra               []string // processes' arguments after the subcommand
	logs                *os.File
	cmd                 *exec.Cmd
	temporal            *exec.Cmd
}

func storm(o options, stderr io.Writer) (Result, error) {
	res := Result{Store: "sqlite", Groups: o.groups}
	dir := o.workDir
	if dir == "" {
		d, err := os.MkdirTemp("", "crashstorm-")
		if err != nil {
			return res, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	bin := o.vigil
	if bin == "" {
		bin = filepath.Join(dir, "vigil")
		fmt.Fprintln(stderr, "building vigil…")
		if out, err := exec.Command("go", "build", "-o", bin, "./cmd/vigil").CombinedOutput(); err != nil {
			return res, fmt.Errorf("go build ./cmd/vigil: %v\n%s", err, out)
		}
	}
	marks := filepath.Join(dir, "steps.log")
	rb := filepath.Join(dir, "runbooks")
	if err := os.MkdirAll(rb, 0o755); err != nil {
		return res, err
	}
	// One step per run, not idempotent: a start line, a second's work, an end
	// line. A crash between them leaves a start without an end.
	runbook := fmt.Sprintf(`id: mark
title: Mark the run
match:
  matchers: ['alertname=~"Storm.*"']
approval:
  approvers: [user:local-operator]
  self_approval: true
steps:
  - id: mark
    run: shell
    command: [sh, -c, 'echo "start {{ .incident.id }}" >> %[1]s; sleep 1; echo "end {{ .incident.id }}" >> %[1]s']
    timeout: 30s
`, marks)
	if err := os.WriteFile(filepath.Join(rb, "mark.yaml"), []byte(runbook), 0o644); err != nil {
		return res, err
	}
	logs, err := os.Create(filepath.Join(dir, "vigil.log"))
	if err != nil {
		return res, err
	}
	defer logs.Close()
	c := &cluster{bin: bin, dir: dir, addr: freeAddr(), logs: logs}
	if strings.HasPrefix(o.store, "postgres") {
		res.Store = "postgres"
		c.dsn = o.store
		if err := c.startTemporal(); err != nil {
			return res, err
		}
		defer c.stopTemporal()
	}
	c.extra = []string{"--runbooks", rb, "--http-addr", c.addr}
	if _, err := c.start(); err != nil {
		return res, err
	}
	defer c.kill()

	rng := rand.New(rand.NewPCG(o.seed, o.seed^0x9e3779b97f4a7c15))
	acked := &ackLog{}
	start := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	actx, stopApproving := context.WithCancel(context.Background())
	defer stopApproving()
	var wg, approving sync.WaitGroup
	wg.Go(func() { send(ctx, "http://"+c.addr, o, acked) })
	approving.Go(func() { approve(actx, "http://"+c.addr) })

	var restarts []float64
	for range o.kills {
		time.Sleep(time.Duration(500+rng.IntN(3500)) * time.Millisecond)
		if midStep(marks) {
			res.KillsMidStep++
		}
		c.kill()
		res.Kills++
		took, err := c.start()
		if err != nil {
			cancel()
			wg.Wait()
			return res, fmt.Errorf("restart after kill %d: %w (logs: %s)", res.Kills, err, logs.Name())
		}
		restarts = append(restarts, took.Seconds())
		fmt.Fprintf(stderr, "kill %d: restarted in %.2fs\n", res.Kills, took.Seconds())
	}
	time.Sleep(2 * time.Second)
	cancel()
	wg.Wait()
	// Let routing, delivery, approvals and steps settle.
	if err := settle("http://"+c.addr, marks, 120*time.Second); err != nil {
		fmt.Fprintln(stderr, "warning:", err)
	}
	stopApproving()
	approving.Wait()
	res.Seconds = time.Since(start).Seconds()
	slices.Sort(restarts)
	if len(restarts) > 0 {
		res.RestartSecondsP50 = restarts[len(restarts)/2]
	}
	res.Requests, res.AlertsAcked = acked.counts()

	c.kill() // read the store as it is, with nothing writing
	dsn := c.dsn
	if dsn == "" {
		dsn = "sqlite://" + filepath.Join(dir, "data", "vigil.db")
	}
	return check(res, dsn, acked, marks)
}

// start starts Vigil and waits until it is ready; it returns how long that took.
func (c *cluster) start() (time.Duration, error) {
	t0 := time.Now()
	var args []string
	if c.dsn == "" {
		args = append([]string{"dev", "--data-dir", filepath.Join(c.dir, "data")}, c.extra...)
	} else {
		args = append([]string{"serve", "--store", c.dsn, "--temporal-address", c.tAddr, "--config", c.configPath()}, c.extra...)
	}
	c.cmd = exec.Command(c.bin, args...)
	c.cmd.Stdout, c.cmd.Stderr = c.logs, c.logs
	if err := c.cmd.Start(); err != nil {
		return 0, err
	}
	exited := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(exited) }()
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(25 * time.Millisecond) {
		select {
		case <-exited:
			return 0, fmt.Errorf("vigil exited: %v", c.cmd.ProcessState)
		default:
		}
		if ready("http://" + c.addr) {
			return time.Since(t0), nil
		}
	}
	return 0, errors.New("vigil did not become ready in 90s")
}

func ready(base string) bool {
	for _, path := range []string{"/readyz", "/healthz"} {
		resp, err := http.Get(base + path)
		if err != nil {
			return false
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return true
		}
		if resp.StatusCode != http.StatusNotFound {
			return false
		}
	}
	return false
}

func (c *cluster) kill() {
	if c.cmd != nil && c.cmd.Process != nil {
		_ = c.cmd.Process.Signal(syscall.SIGKILL)
		for c.cmd.ProcessState == nil {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func (c *cluster) configPath() string { return filepath.Join(c.dir, "vigil.yaml") }

func (c *cluster) startTemporal() error {
	c.tAddr = freeAddr()
	tdsn, err := siblingDB(c.dsn, "_temporal")
	if err != nil {
		return err
	}
	c.temporal = exec.Command(c.bin, "temporal-server", "--store", tdsn, "--listen", c.tAddr)
	c.temporal.Stdout, c.temporal.Stderr = c.logs, c.logs
	if err := c.temporal.Start(); err != nil {
		return err
	}
	for deadline := time.Now().Add(120 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if conn, err := net.Dial("tcp", c.tAddr); err == nil {
			conn.Close()
			return writeServeConfig(c.configPath(), c.dir)
		}
	}
	return errors.New("temporal-server did not listen in 120s")
}

func (c *cluster) stopTemporal() {
	if c.temporal != nil && c.temporal.Process != nil {
		_ = c.temporal.Process.Signal(syscall.SIGTERM)
		_ = c.temporal.Wait()
	}
}
