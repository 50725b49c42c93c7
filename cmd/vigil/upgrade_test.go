package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestUpgradeFromPreviousRelease opens incidents on the previous release's
// binary, built from its commit (workflows/testdata/RELEASES), stops it while
// they wait for people, and starts this build on the same data directory: the
// incidents carry on to approval, a runbook run and resolution, and the audit
// trail the two versions wrote together verifies.
func TestUpgradeFromPreviousRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the previous release and runs real Vigil processes")
	}
	rel, commit := previousRelease(t)
	old := buildRelease(t, rel, commit)

	dataDir, rbDir := t.TempDir(), t.TempDir()
	target := filepath.Join(t.TempDir(), "restarted.txt")
	runbook := fmt.Sprintf(`id: restart-worker
title: Restart the worker (appends a line)
match:
  matchers: ['alertname="WorkerStuck"']
approval:
  approvers: [group:oncall]
steps:
  - id: restart
    run: shell
    command: [sh, -c, "echo restarted >> %s"]
    timeout: 30s
`, target)
	if err := os.WriteFile(filepath.Join(rbDir, "restart-worker.yaml"), []byte(runbook), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--data-dir", dataDir, "--runbooks", rbDir}
	alert := func(status, service string) string {
		return fmt.Sprintf(`{"version":"4","alerts":[{"status":%q,"labels":{"alertname":"WorkerStuck","service":%q,"severity":"critical"},"startsAt":"2026-11-24T03:00:00Z","fingerprint":"upgrade-%s"}]}`, status, service, service)
	}

	// On the previous release: three incidents waiting for people, one of
	// them with its proposal rejected and one acknowledged.
	p := startBinary(t, old, args...)
	v := &vigil{url: p.url}
	ids := map[string]string{}
	for _, svc := range []string{"approve", "reject", "ack"} {
		status, body := call(t, "POST", p.url+"/api/v1/alerts/alertmanager", alert("firing", svc))
		if status != 200 {
			t.Fatalf("%s ingest: %d %v", rel, status, body)
		}
		ids[svc] = body["incidents"].([]any)[0].(string)
		waitFor(t, v, ids[svc], "awaiting_approval on "+rel, hasStatus("awaiting_approval"))
	}
	decide(t, p.url, ids["reject"], `{"proposal_id":"P1","decision":"reject","user":"local-operator","comment":"not before the upgrade"}`)
	act(t, p.url, ids["ack"], `{"act":"ack","user":"local-operator"}`)
	waitFor(t, v, ids["ack"], "acknowledged on "+rel, func(inc map[string]any) bool { return inc["acked_at"] != nil && inc["acked_at"] != "" })
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not stop on SIGTERM:\n%s", rel, p.logs)
	}

	// This build, on the same data: the incidents carry on.
	p = startBinary(t, os.Args[0], args...)
	defer func() {
		if t.Failed() {
			t.Logf("logs of this build:\n%s", p.logs)
		}
	}()
	v = &vigil{url: p.url}
	decide(t, p.url, ids["approve"], `{"proposal_id":"P1","decision":"approve","user":"local-operator"}`)
	inc := waitFor(t, v, ids["approve"], "resolved by its runbook after the upgrade", hasStatus("resolved"))
	if reason := fmt.Sprint(inc["reason"]); !strings.Contains(reason, "restart-worker") || !strings.Contains(reason, "succeeded") {
		t.Errorf("approved incident resolved for %q, want its runbook's success", reason)
	}
	if b, err := os.ReadFile(target); err != nil || strings.Count(string(b), "restarted") != 1 {
		t.Errorf("the approved runbook's step should have run once after the upgrade; its file holds %q (%v)", b, err)
	}
	call(t, "POST", p.url+"/api/v1/alerts/alertmanager", alert("resolved", "reject"))
	inc = waitFor(t, v, ids["reject"], "resolved by its alert after the upgrade", hasStatus("resolved"))
	if reason := fmt.Sprint(inc["reason"]); !strings.Contains(reason, "Every alert") {
		t.Errorf("rejected incident resolved for %q, want its alert resolving", reason)
	}
	act(t, p.url, ids["ack"], `{"act":"resolve","user":"local-operator","text":"fixed by hand after the upgrade"}`)
	waitFor(t, v, ids["ack"], "resolved by hand after the upgrade", hasStatus("resolved"))

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p.exited
	var out, errb bytes.Buffer
	if code := run([]string{"audit", "verify", "--data-dir", dataDir}, &out, &errb); code != 0 {
		t.Fatalf("audit verify over both versions' records: exit %d\n%s%s", code, out.String(), errb.String())
	}
}

func decide(t *testing.T, url, id, body string) {
	t.Helper()
	if status, ans := call(t, "POST", url+"/api/v1/incidents/"+id+"/decisions", body); status != 200 {
		t.Fatalf("decision on %s: %d %v", id, status, ans)
	}
}

func act(t *testing.T, url, id, body string) {
	t.Helper()
	if status, ans := call(t, "POST", url+"/api/v1/incidents/"+id+"/acts", body); status != 200 {
		t.Fatalf("act on %s: %d %v", id, status, ans)
	}
}

// previousRelease is the newest release in workflows/testdata/RELEASES.
func previousRelease(t *testing.T) (version, commit string) {
	t.Helper()
	f, err := os.Open("../../workflows/testdata/RELEASES")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 {
			t.Fatalf("workflows/testdata/RELEASES: want \"<version> <commit>\", got %q", line)
		}
		version, commit = fields[0], fields[1]
	}
	if version == "" {
		t.Fatal("workflows/testdata/RELEASES lists no release")
	}
	return version, commit
}

// buildRelease builds vigil as it was at the release's commit, from the git
// history of this checkout, and returns the binary's path.
func buildRelease(t *testing.T, version, commit string) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	git := func(args ...string) (string, error) {
		out, err := exec.Command("git", append([]string{"-C", root}, args...)...).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	if _, err := git("cat-file", "-e", commit+"^{commit}"); err != nil {
		if shallow, _ := git("rev-parse", "--is-shallow-repository"); shallow == "true" {
			t.Skipf("this clone is shallow and lacks %s (%s); fetch its history (git fetch --unshallow) to run the upgrade test", version, commit)
		}
		t.Fatalf("%s's commit %s is not in this checkout's history: %v", version, commit, err)
	}
	if tagged, err := git("rev-parse", "-q", "--verify", "refs/tags/"+version+"^{commit}"); err == nil && tagged != commit {
		t.Fatalf("tag %s is %s but workflows/testdata/RELEASES says %s", version, tagged, commit)
	}
	src := t.TempDir()
	archive := exec.Command("git", "-C", root, "archive", "--format=tar", commit)
	untar := exec.Command("tar", "-x", "-C", src)
	pipe, err := archive.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	untar.Stdin = pipe
	if err := untar.Start(); err != nil {
		t.Fatal(err)
	}
	if err := archive.Run(); err != nil {
		t.Fatalf("git archive %s: %v", commit, err)
	}
	if err := untar.Wait(); err != nil {
		t.Fatalf("unpacking %s: %v", version, err)
	}
	bin := filepath.Join(t.TempDir(), "vigil-"+version)
	build := exec.Command("go", "build", "-o", bin, "./cmd/vigil")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building %s at %s: %v\n%s", version, commit, err, out)
	}
	return bin
}
