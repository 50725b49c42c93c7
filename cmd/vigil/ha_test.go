package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/internal/pgtest"
	"github.com/vigilops/vigil/store"
)

// TestHighAvailability runs Vigil as production runs it, in real processes:
// PostgreSQL, `vigil temporal-server` on it, and two `vigil serve` replicas
// sharing one store. Every alert group goes to both replicas at once and
// still opens one incident, which both list; after one replica is killed
// with SIGKILL the survivor takes more groups, its dispatcher lease taken over,
// runs an approved non-idempotent step exactly once, and the shared audit
// trail verifies.
func TestHighAvailability(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills real Vigil processes")
	}
	storeDSN := pgtest.DSN(t)
	temporalDB := "vigil_test_ha_" + fmt.Sprint(time.Now().UnixNano())
	pgtest.DropAtCleanup(t, temporalDB)
	pgtest.DropAtCleanup(t, temporalDB+"_visibility")
	temporalDSN := pgtest.WithDatabase(pgtest.AdminDSN(), temporalDB)

	dir := t.TempDir()
	marks := filepath.Join(dir, "ran.txt")
	rb := filepath.Join(dir, "runbooks")
	if err := os.MkdirAll(rb, 0o755); err != nil {
		t.Fatal(err)
	}
	runbook := fmt.Sprintf(`id: append-once
title: Append a line (not idempotent)
match:
  matchers: ['alertname="HATest"']
approval:
  approvers: [user:local-operator]
  self_approval: true
steps:
  - id: append
    run: shell
    command: [sh, -c, 'echo "{{ .incident.id }}" >> %s']
`, marks)
	if err := os.WriteFile(filepath.Join(rb, "append.yaml"), []byte(runbook), 0o644); err != nil {
		t.Fatal(err)
	}
	keyPath, cfgPath := newSigningKeyFile(t), filepath.Join(dir, "vigil.yaml")
	cfg := "audit:\n  signing_key: file:" + keyPath + "\nha:\n  lease_ttl: 3s\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	tAddr := freeAddr(t)
	temporal := startChild(t, "temporal-server", "temporal-server", "--store", temporalDSN, "--listen", tAddr)
	waitListening(t, temporal, tAddr, 120*time.Second)
	replica := func(name string) *child {
		addr := freeAddr(t)
		c := startChild(t, name, "serve", "--store", storeDSN, "--temporal-address", tAddr, "--config", cfgPath,
			"--runbooks", rb, "--http-addr", addr)
		c.url = "http://" + addr
		waitReady(t, c, 90*time.Second)
		return c
	}
	a, b := replica("replica-a"), replica("replica-b")
	defer func() {
		if t.Failed() {
			for _, c := range []*child{temporal, a, b} {
				t.Logf("%s logs:\n%s", c.name, c.logs)
			}
		}
	}()

	payload := func(g int) string {
		return fmt.Sprintf(`{"version":"4","status":"firing","groupKey":"g%d","alerts":[{"status":"firing","fingerprint":"fp-%d",`+
			`"labels":{"alertname":"HATest","service":"svc-%d","severity":"critical"},"startsAt":"2026-12-08T03:00:00Z"}]}`, g, g, g)
	}
	send := func(g int, to ...*child) {
		var wg sync.WaitGroup
		for _, c := range to {
			wg.Go(func() {
				if status, body := call(t, "POST", c.url+"/api/v1/alerts/alertmanager", payload(g)); status != 200 {
					t.Errorf("group %d to %s: %d %v", g, c.name, status, body)
				}
			})
		}
		wg.Wait()
	}
	for g := range 20 {
		if g%2 == 0 {
			send(g, a, b)
		} else {
			send(g, b, a)
		}
	}
	ids := waitIncidents(t, 20, a, b)
	time.Sleep(2 * time.Second) // nothing more may open
	if again := waitIncidents(t, 20, a, b); !slices.Equal(ids, again) {
		t.Fatalf("incidents changed after the groups settled: %v, then %v", ids, again)
	}

	// Kill the replica that dispatches (holds the outbox's lease), so the
	// survivor must take the loop over before anything new opens.
	dead, b := a, b
	if holder := leaseHolder(t, storeDSN, "dispatch"); strings.Contains(holder, fmt.Sprintf("-%d-", b.cmd.Process.Pid)) {
		dead, b = b, a
	} else if !strings.Contains(holder, fmt.Sprintf("-%d-", a.cmd.Process.Pid)) {
		t.Fatalf("the dispatch lease is held by %q, neither replica (pids %d, %d)", holder, a.cmd.Process.Pid, b.cmd.Process.Pid)
	}
	if err := dead.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-dead.exited
	for g := 20; g < 25; g++ {
		send(g, b)
	}
	ids = waitIncidents(t, 25, b)
	// Listed at once (routing opened them); their workflows start once the
	// survivor holds the dispatch lease, within about the lease's TTL.
	v := &vigil{url: b.url}
	for _, id := range ids[20:] {
		waitFor(t, v, id, "awaiting_approval", hasStatus("awaiting_approval"))
	}
	if holder := leaseHolder(t, storeDSN, "dispatch"); !strings.Contains(holder, fmt.Sprintf("-%d-", b.cmd.Process.Pid)) {
		t.Errorf("after the kill the dispatch lease is held by %q, not the survivor (pid %d)", holder, b.cmd.Process.Pid)
	}

	id := ids[len(ids)-1]
	if status, body := call(t, "POST", b.url+"/api/v1/incidents/"+id+"/decisions", `{"proposal_id":"P1","decision":"approve","comment":"ha"}`); status != 200 {
		t.Fatalf("approve %s through the survivor: %d %v", id, status, body)
	}
	waitFor(t, v, id, "resolved after its run", hasStatus("resolved"))
	time.Sleep(2 * time.Second) // a second run would land here
	ran, err := os.ReadFile(marks)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(ran), id+"\n"); got != 1 {
		t.Errorf("the approved step ran %d times, want exactly once:\n%s", got, ran)
	}

	code, out := vigilCLI(t, "audit", "verify", "--store", storeDSN, "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "audit trail intact") {
		t.Errorf("audit verify on the shared store: exit %d: %s", code, out)
	}
}

// child is a vigil subcommand running as a real process.
type child struct {
	name, url string
	cmd       *exec.Cmd
	logs      *syncBuffer
	exited    chan struct{}
}

func startChild(t *testing.T, name string, args ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "VIGIL_TEST_AS_MAIN=1")
	c := &child{name: name, cmd: cmd, logs: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = io.Discard, c.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(c.exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-c.exited
		}
	})
	return c
}

func waitListening(t *testing.T, c *child, addr string, limit time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if conn, err := net.Dial("tcp", addr); err == nil {
			conn.Close()
			return
		}
		select {
		case <-c.exited:
			t.Fatalf("%s exited: %v\n%s", c.name, c.cmd.ProcessState, c.logs)
		default:
		}
	}
	t.Fatalf("%s does not listen on %s:\n%s", c.name, addr, c.logs)
}

func waitReady(t *testing.T, c *child, limit time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(c.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-c.exited:
			t.Fatalf("%s exited: %v\n%s", c.name, c.cmd.ProcessState, c.logs)
		default:
		}
	}
	t.Fatalf("%s is not ready:\n%s", c.name, c.logs)
}

// waitIncidents waits until every replica lists exactly n incidents, the
// same ones, and returns their ids, oldest first.
func waitIncidents(t *testing.T, n int, replicas ...*child) []string {
	t.Helper()
	var lists [][]string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		lists = lists[:0]
		for _, c := range replicas {
			status, body := call(t, "GET", c.url+"/api/v1/incidents?limit=500", "")
			if status != 200 {
				t.Fatalf("%s: list: %d %v", c.name, status, body)
			}
			var ids []string
			for _, inc := range body["incidents"].([]any) {
				ids = append(ids, inc.(map[string]any)["id"].(string))
			}
			slices.Reverse(ids) // newest first → oldest first
			lists = append(lists, ids)
		}
		same := true
		for _, l := range lists {
			same = same && slices.Equal(l, lists[0])
		}
		if same && len(lists[0]) == n {
			return lists[0]
		}
		if len(lists[0]) > n {
			t.Fatalf("%d incidents, want %d: %v", len(lists[0]), n, lists[0])
		}
	}
	t.Fatalf("replicas list %v, want the same %d incidents on each", lists, n)
	return nil
}

// leaseHolder is who holds the lease name in the store dsn names.
func leaseHolder(t *testing.T, dsn, name string) string {
	t.Helper()
	st, err := store.OpenDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ls, err := st.Leases(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		if l.Name == name {
			return l.Holder
		}
	}
	t.Fatalf("no %s lease among %+v", name, ls)
	return ""
}

// newSigningKeyFile writes a new audit signing key, one for every replica of
// a shared store, and returns its path.
func newSigningKeyFile(t *testing.T) string {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := audit.MarshalPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "audit.key")
	if err := os.WriteFile(path, pem, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
