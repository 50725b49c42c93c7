package workflows

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"
)

// TestReplayRecordedHistories replays histories of real runs, recorded on the
// embedded Temporal server, against today's workflow code. A change that would
// make a running incident take a different path on replay (non-determinism)
// fails here instead of in production. Record again, deliberately, with:
//
//	UPDATE=1 go test ./cmd/vigil -run TestRecordHistories
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob("testdata/*.history.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("found %d recorded histories in workflows/testdata, want at least 4; record them with UPDATE=1 go test ./cmd/vigil -run TestRecordHistories", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflow(IncidentWorkflow)
			r.RegisterWorkflow(RemediationWorkflow)
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Errorf("replay of %s: %v", f, err)
			}
		})
	}
}
