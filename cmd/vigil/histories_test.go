package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/vigilops/vigil/activities"
	"github.com/vigilops/vigil/bot/console"
	"github.com/vigilops/vigil/config"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/internal/app"
	"github.com/vigilops/vigil/internal/devtemporal"
	"github.com/vigilops/vigil/internal/version"
	"github.com/vigilops/vigil/runbooks"
	"github.com/vigilops/vigil/store"
	"github.com/vigilops/vigil/workflows"
	"github.com/vigilops/vigil/workflows/contract"
)

// TestRecordHistories records the histories that workflows' replay test replays:
// representative incidents run on the real embedded server with the real
// activities, written to workflows/testdata/<version.Release>/ and listed in
// its SHA256SUMS. It only runs with UPDATE=1, once per release; it refuses to
// overwrite a history already recorded.
func TestRecordHistories(t *testing.T) {
	if os.Getenv("UPDATE") != "1" {
		t.Skip("records workflow histories; run with UPDATE=1 to refresh workflows/testdata")
	}
	ctx := context.Background()
	srv, err := devtemporal.Start(ctx, devtemporal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	tc, err := client.Dial(client.Options{HostPort: srv.Address(), Namespace: srv.Namespace()})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	st, err := store.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	groups := map[string][]string{"oncall": {"alice", "bob"}}
	lib, ps, err := runbooks.LoadDir("../../examples/runbooks", groups)
	if err != nil || len(ps) > 0 {
		t.Fatalf("runbooks: %v %v", err, ps)
	}
	w := worker.New(tc, "vigil", worker.Options{})
	w.RegisterWorkflow(workflows.IncidentWorkflow)
	w.RegisterWorkflow(workflows.RemediationWorkflow)
	w.RegisterActivity(&activities.Activities{Store: st, Chat: console.Thread{Store: st}, Runbooks: runbooks.NewHolder(lib), Groups: groups, Steps: runbooks.Executor{}})
	w.RegisterActivity(&activities.Review{Store: st, Chat: console.Thread{Store: st}})
	off, err := app.NewAssistant(config.Default(), nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	w.RegisterActivity(&activities.Assist{Assistant: off, Store: st})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	wf := contract.Client{Temporal: tc, TaskQueue: "vigil"}
	alice := incident.Actor{User: "alice", Surface: "test", Verification: "test"}
	bob := incident.Actor{User: "bob", Surface: "test", Verification: "test"}

	type scenario struct {
		name string
		play func(t *testing.T, id string, fire func(status string))
	}
	scenarios := []scenario{
		{name: "approve", play: func(t *testing.T, id string, _ func(string)) {
			waitStatus(t, tc, id, incident.StatusAwaitingApproval)
			must(t)(wf.Decide(ctx, id, contract.DecideRequest{ProposalID: "P1", Decision: incident.Approve, Actor: alice}))
		}},
		{name: "reject-ack-note-resolve", play: func(t *testing.T, id string, fire func(string)) {
			waitStatus(t, tc, id, incident.StatusAwaitingApproval)
			must(t)(wf.Decide(ctx, id, contract.DecideRequest{ProposalID: "P1", Decision: incident.Reject, Actor: bob, Comment: "not now"}))
			must(t)(wf.Act(ctx, id, contract.ActAck, contract.ActRequest{Actor: alice}))
			must(t)(wf.Act(ctx, id, contract.ActNote, contract.ActRequest{Actor: alice, Text: "watching"}))
			fire(incident.AlertResolved)
		}},
		{name: "failing-step-escalates", play: func(t *testing.T, id string, _ func(string)) {
			waitStatus(t, tc, id, incident.StatusAwaitingApproval)
			must(t)(wf.Decide(ctx, id, contract.DecideRequest{ProposalID: "P1", Decision: incident.Approve, Actor: alice}))
			waitStatus(t, tc, id, incident.StatusEscalated)
			must(t)(wf.Act(ctx, id, contract.ActResolve, contract.ActRequest{Actor: bob, Text: "fixed by hand"}))
		}},
	}
	for i, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			dir := t.TempDir()
			if sc.name == "failing-step-escalates" {
				dir = filepath.Join(dir, "missing")
			}
			fire := func(status string) {
				in := []store.AlertIn{{Fingerprint: "fp-" + sc.name, Status: status, StartsAt: time.Date(2026, 11, 24, 3, i, 0, 0, time.UTC),
					Labels:   map[string]string{"alertname": "DiskFillingUp", "service": sc.name, "severity": "critical", "path": dir},
					GroupKey: sc.name, GroupLabels: map[string]string{"alertname": "DiskFillingUp", "service": sc.name}}}
				if _, err := st.IngestAlerts(ctx, "test", in, time.Now()); err != nil {
					t.Fatal(err)
				}
				out, err := st.Outbox(ctx, 10)
				if err != nil || len(out) != 1 {
					t.Fatalf("outbox %v %v", out, err)
				}
				d := out[0]
				if err := wf.Deliver(ctx, contract.IncidentInput{ID: d.IncidentID, Key: d.GroupKey, GroupLabels: d.GroupLabels}, d.Events); err != nil {
					t.Fatal(err)
				}
				_ = st.MarkDelivered(ctx, out[:1], time.Now())
			}
			fire(incident.AlertFiring)
			id := "incident-" + string(rune('1'+i)) + "-diskfillingup-" + sc.name
			sc.play(t, id, fire)
			var inc incident.Incident
			if err := tc.GetWorkflow(ctx, id, "").Get(ctx, &inc); err != nil {
				t.Fatalf("incident %s did not finish: %v", id, err)
			}
			save(t, tc, id, "incident-"+sc.name)
			if len(inc.Runs) > 0 {
				save(t, tc, inc.Runs[0].ID, "run-"+sc.name)
			}
		})
	}
}

func must(t *testing.T) func(contract.Answer, error) {
	return func(_ contract.Answer, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}

func waitStatus(t *testing.T, tc client.Client, id string, want incident.Status) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		v, err := tc.QueryWorkflow(context.Background(), id, "", contract.QueryState)
		if err == nil {
			var inc incident.Incident
			if v.Get(&inc) == nil && inc.Status == want {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never reached %s", id, want)
}

// save writes a workflow's history as JSON in the format the replayer reads.
func save(t *testing.T, tc client.Client, id, name string) {
	t.Helper()
	it := tc.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, e)
	}
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	rel := version.Release + "/" + strings.ReplaceAll(name, "/", "-") + ".history.json"
	path := filepath.Join("..", "..", "workflows", "testdata", filepath.FromSlash(rel))
	if _, err := os.Stat(path); err == nil {
		t.Fatalf("%s exists: a released history is never rewritten; bump internal/version.Release to record new ones", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	sums, err := os.OpenFile(filepath.Join("..", "..", "workflows", "testdata", "SHA256SUMS"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sums.Close()
	sum := sha256.Sum256(b)
	if _, err := fmt.Fprintf(sums, "%x  %s\n", sum, rel); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %s (%d events)", path, len(h.Events))
}
