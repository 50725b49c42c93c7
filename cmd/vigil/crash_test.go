package main

import (
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// process is `vigil dev` running as a real subprocess.
type process struct {
	cmd    *exec.Cmd
	url    string
	logs   *syncBuffer
	exited chan struct{} // closed once the process has exited
}

// startProcess runs `vigil dev` on a free port and waits until /readyz
// answers 200.
func startProcess(t *testing.T, args ...string) *process {
	t.Helper()
	return startBinary(t, os.Args[0], args...)
}

// startBinary runs `bin dev` on a free port and waits until /readyz answers
// 200; bin is this test binary (as vigil) or another build of vigil.
func startBinary(t *testing.T, bin string, args ...string) *process {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bin, append([]string{"dev", "--http-addr", addr}, args...)...)
	cmd.Env = append(os.Environ(), "VIGIL_TEST_AS_MAIN=1")
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = io.Discard, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, url: "http://" + addr, logs: logs, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-p.exited })
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(p.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("vigil dev exited: %v\n%s", cmd.ProcessState, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("vigil dev is not ready on %s:\n%s", addr, logs)
		}
	}
}

// freeAddr is a loopback address with a port free a moment ago, drawn below
// Linux's ephemeral range so that no outgoing connection takes it before the
// child process binds it.
func freeAddr(t *testing.T) string {
	t.Helper()
	for range 200 {
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(20000+rand.IntN(12000))))
		if err != nil {
			continue
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	t.Fatal("no free port below 32000 on loopback")
	return ""
}

// TestCrashMidStepNeverRunsItTwice kills Vigil with SIGKILL while a step that
// sleeps and then appends a line is running, starts it again on the same data
// dir, and checks the README's guarantee: the line is written at most once (the
// step's own process may finish after Vigil died), the step is not re-run, and
// the thread tells a human it was interrupted and asks what to do.
func TestCrashMidStepNeverRunsItTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills real Vigil processes")
	}
	dataDir, rbDir := t.TempDir(), t.TempDir()
	target := filepath.Join(t.TempDir(), "appended.txt")
	runbook := fmt.Sprintf(`id: slow-append
title: Sleep, then append a line
match:
  matchers: ['alertname="CrashTest"']
approval:
  approvers: [group:oncall]
steps:
  - id: append
    run: shell
    command: [sh, -c, "sleep 3; echo line >> %s"]
    timeout: 60s
`, target)
	if err := os.WriteFile(filepath.Join(rbDir, "slow-append.yaml"), []byte(runbook), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--data-dir", dataDir, "--runbooks", rbDir}
	p := startProcess(t, args...)
	defer func() {
		if t.Failed() {
			t.Logf("vigil logs:\n%s", p.logs)
		}
	}()

	payload := `{"version":"4","alerts":[{"status":"firing","labels":{"alertname":"CrashTest","service":"db"},"startsAt":"2026-11-24T03:00:00Z"}]}`
	status, body := call(t, "POST", p.url+"/api/v1/alerts/alertmanager", payload)
	if status != 200 {
		t.Fatalf("ingest: %d %v", status, body)
	}
	id := body["incidents"].([]any)[0].(string)
	v := &vigil{url: p.url}
	waitFor(t, v, id, "awaiting_approval", hasStatus("awaiting_approval"))
	if status, body = call(t, "POST", p.url+"/api/v1/incidents/"+id+"/decisions", `{"proposal_id":"P1","decision":"approve","user":"local-operator"}`); status != 200 {
		t.Fatalf("approve: %d %v", status, body)
	}

	// Kill Vigil once the step's "started" marker is durable, while it sleeps.
	waitStepStarted(t, filepath.Join(dataDir, vigilDB))
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.exited
	time.Sleep(4 * time.Second) // let an orphaned step process finish, if it lives on

	p = startProcess(t, args...)
	v = &vigil{url: p.url}
	inc := waitFor(t, v, id, "asking about the interrupted step", func(inc map[string]any) bool {
		return strings.Contains(fmt.Sprint(inc["messages"]), "Step append was interrupted and was not re-run")
	})
	time.Sleep(4 * time.Second) // were the step re-run now, its line would land here
	b, err := os.ReadFile(target)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "line"); n > 1 {
		t.Fatalf("the step ran %d times after a crash; the guarantee is at most once", n)
	}
	thread := fmt.Sprint(inc["messages"])
	for _, want := range []string{"may or may not have taken effect", "rerun:" + id + "-run-1/append", "markdone:" + id + "-run-1/append"} {
		if !strings.Contains(thread, want) {
			t.Errorf("thread lacks %q", want)
		}
	}
}

// waitStepStarted polls Vigil's store, as another process, for the step's
// durable "started" marker.
func waitStepStarted(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		if db.QueryRow(`SELECT count(*) FROM step_runs WHERE step_id = 'append' AND finished_at IS NULL`).Scan(&n) == nil && n > 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the step never started")
}
