package workflows

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/workflows/contract"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/internal/version"
)

// released lists the recorded histories of every released version,
// testdata/<version>/*.history.json, after checking them against
// testdata/SHA256SUMS: a released history is never modified or deleted, so a
// change that breaks an incident recorded by an older release cannot be
// "fixed" by recording it again.
func released(t *testing.T) []string {
	t.Helper()
	sums := readSums(t)
	files, err := filepath.Glob("testdata/v*/*.history.json")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		name := filepath.ToSlash(strings.TrimPrefix(f, "testdata"+string(filepath.Separator)))
		names = append(names, name)
		want, ok := sums[name]
		if !ok {
			t.Errorf("%s is not in workflows/testdata/SHA256SUMS: record histories with UPDATE=1 go test ./cmd/vigil -run TestRecordHistories, which lists them", f)
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := sha256.Sum256(b); hex.EncodeToString(got[:]) != want {
			t.Errorf("%s was modified after its release; released histories are never rewritten: restore it with git checkout and record new ones under testdata/%s/", f, version.Release)
		}
	}
	for name := range sums {
		if !slices.Contains(names, name) {
			t.Errorf("released history testdata/%s is missing; released histories are never deleted: restore it with git checkout", name)
		}
	}
	return files
}

// readSums reads testdata/SHA256SUMS (sha256sum's format) into name → hash.
func readSums(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open("testdata/SHA256SUMS")
	if err != nil {
		t.Fatalf("the hashes of released histories: %v", err)
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		hash, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || len(hash) != 64 {
			t.Fatalf("testdata/SHA256SUMS:%d: want \"<sha256>  <version>/<name>.history.json\", got %q", n, sc.Text())
		}
		sums[name] = hash
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return sums
}

// TestReplayReleasedHistories replays the recorded histories of every
// released version against today's workflow code. A change that would make an
// incident opened by an older release take a different path on replay
// (non-determinism) fails here instead of in production: put it behind
// workflow.GetVersion (see versions.go). Record the current release's
// histories, once, with:
//
//	UPDATE=1 go test ./cmd/vigil -run TestRecordHistories
func TestReplayReleasedHistories(t *testing.T) {
	files := released(t)
	versions := map[string]int{}
	for _, f := range files {
		versions[filepath.Base(filepath.Dir(f))]++
	}
	if versions["v0.1.0"] < 4 {
		t.Fatalf("found %d histories of v0.1.0 in workflows/testdata/v0.1.0, want at least 4", versions["v0.1.0"])
	}
	for _, f := range files {
		t.Run(filepath.ToSlash(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflow(IncidentWorkflow)
			r.RegisterWorkflow(RemediationWorkflow)
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Errorf("replay of %s: %v", f, err)
			}
		})
	}
}

// TestReplayCatchesAnIncompatibleChange shows the replay test can fail: an
// IncidentWorkflow that starts with a timer it did not have when v0.1.0
// recorded its history, and one that skips its first local activity, are both
// refused on replay.
func TestReplayCatchesAnIncompatibleChange(t *testing.T) {
	changed := map[string]func(workflow.Context, contract.IncidentInput) (incident.Incident, error){
		"extra timer": func(ctx workflow.Context, in contract.IncidentInput) (incident.Incident, error) {
			if err := workflow.Sleep(ctx, time.Second); err != nil {
				return incident.Incident{}, err
			}
			return IncidentWorkflow(ctx, in)
		},
		"first post skipped": func(ctx workflow.Context, in contract.IncidentInput) (incident.Incident, error) {
			return incident.Incident{}, workflow.Await(ctx, func() bool { return false })
		},
	}
	for name, wf := range changed {
		t.Run(name, func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: "IncidentWorkflow"})
			r.RegisterWorkflow(RemediationWorkflow)
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, "testdata/v0.1.0/incident-approve.history.json"); err == nil {
				t.Fatal("replay accepted a workflow whose history differs from the recorded one")
			} else {
				t.Logf("refused as it should be: %v", err)
			}
		})
	}
}
