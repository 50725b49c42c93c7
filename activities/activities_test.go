package activities

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/runbooks"
	"github.com/vigilops/vigil/store"
)

// countingRunner runs nothing; it counts how often a step would have run.
type countingRunner struct{ runs atomic.Int32 }

func (c *countingRunner) Run(_ context.Context, _ incident.RunRef, s incident.Step) incident.StepResult {
	c.runs.Add(1)
	now := time.Now()
	return incident.StepResult{StepID: s.ID, Command: s.Command, Status: incident.StepSucceeded, Output: "done", StartedAt: now, FinishedAt: now}
}

func newEnv(t *testing.T) (*testsuite.TestActivityEnvironment, *store.Store, *countingRunner, *Activities) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	runner := &countingRunner{}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	acts := &Activities{Store: st, Steps: runner}
	env.RegisterActivity(acts)
	return env, st, runner, acts
}

func runStep(t *testing.T, env *testsuite.TestActivityEnvironment, acts *Activities, in RunStepInput) incident.StepResult {
	t.Helper()
	v, err := env.ExecuteActivity(acts.RunStep, in)
	if err != nil {
		t.Fatal(err)
	}
	var res incident.StepResult
	if err := v.Get(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

func TestRunStepRunsAtMostOnce(t *testing.T) {
	env, st, runner, acts := newEnv(t)
	in := RunStepInput{IncidentID: "inc", RunID: "inc-run-1", Step: incident.Step{ID: "restart", Command: []string{"true"}}}

	first := runStep(t, env, acts, in)
	if first.Status != incident.StepSucceeded || runner.runs.Load() != 1 {
		t.Fatalf("first run: %+v, runs %d", first, runner.runs.Load())
	}
	// A retry (e.g. the worker died after the step finished, before Temporal
	// heard back) returns the recorded result and runs nothing.
	again := runStep(t, env, acts, in)
	if again.Output != "done" || runner.runs.Load() != 1 {
		t.Errorf("retry after finish re-ran the step: %+v, runs %d", again, runner.runs.Load())
	}

	// A step that started but never finished (the worker was killed mid-step) is
	// reported interrupted and not run again.
	crashed := RunStepInput{IncidentID: "inc", RunID: "inc-run-2", Step: incident.Step{ID: "migrate", Command: []string{"migrate-db"}}}
	if err := st.StartStep(context.Background(), "inc-run-2/migrate", "inc", "inc-run-2", "migrate", time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	res := runStep(t, env, acts, crashed)
	if res.Status != incident.StepInterrupted || runner.runs.Load() != 1 || !strings.Contains(res.Error, "it was not re-run") {
		t.Errorf("interrupted step: %+v, runs %d", res, runner.runs.Load())
	}
}

type staticLib struct{ lib *runbooks.Library }

func (s staticLib) Current() *runbooks.Library { return s.lib }

func TestProposeRemediations(t *testing.T) {
	lib, ps, err := runbooks.LoadDir("../examples/runbooks", map[string][]string{"oncall": {"alice"}})
	if err != nil || len(ps) > 0 {
		t.Fatal(err, ps)
	}
	a := &Activities{Runbooks: staticLib{lib}, Groups: map[string][]string{"oncall": {"alice", "bob"}}}
	inc := incident.Incident{ID: "inc", Alerts: []incident.Alert{
		{EvidenceID: "E1", Status: incident.AlertResolved, Labels: map[string]string{"alertname": "DiskFillingUp", "severity": "critical", "path": "/ok"}},
		{EvidenceID: "E2", Status: incident.AlertFiring, Labels: map[string]string{"alertname": "DiskFillingUp", "severity": "critical", "path": "/bad path;rm"}},
		{EvidenceID: "E3", Status: incident.AlertFiring, Labels: map[string]string{"alertname": "DiskFillingUp", "severity": "warning", "path": "/srv/tmp"}},
	}}
	res, err := a.ProposeRemediations(context.Background(), ProposeInput{Incident: inc, Exclude: []string{"collect-diagnostics"}})
	if err != nil {
		t.Fatal(err)
	}
	// E2's hostile path blocks rendering for E2 only; E3 renders cleanly, so the
	// runbook is proposed from E3 and no note is needed.
	if len(res.Notes) != 0 || len(res.Proposals) != 1 {
		t.Fatalf("result = %+v", res)
	}
	p := res.Proposals[0]
	if p.RunbookID != "clean-temp-files" || !strings.Contains(p.Why, `alertname="DiskFillingUp", path=~"/.+" on E3`) ||
		strings.Join(p.Allowed, ",") != "alice,bob" || p.Steps[0].Command[2] != "/srv/tmp" {
		t.Errorf("proposal = %+v", p)
	}

	// With no clean alert at all, the thread gets a note saying why.
	inc.Alerts = inc.Alerts[:2]
	res, _ = a.ProposeRemediations(context.Background(), ProposeInput{Incident: inc, Exclude: []string{"collect-diagnostics"}})
	if len(res.Proposals) != 0 || len(res.Notes) != 1 || !strings.Contains(res.Notes[0], `clean-temp-files matched E2 but was not proposed: runbook clean-temp-files: param dir: value "/bad path;rm" does not match its pattern`) {
		t.Errorf("result = %+v", res)
	}
}

func TestRankCauses(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	alert := func(id string, at time.Duration, svc, sev string) (incident.Alert, incident.Evidence) {
		labels := map[string]string{"service": svc, "severity": sev}
		if svc == "" {
			labels = map[string]string{"alertname": "NoComponent"}
		}
		return incident.Alert{EvidenceID: id, StartsAt: t0.Add(at), Labels: labels},
			incident.Evidence{ID: id, Kind: incident.KindAlert, Start: t0.Add(at), Data: labels}
	}
	var inc incident.Incident
	for _, a := range []struct {
		id       string
		at       time.Duration
		svc, sev string
	}{{"E1", 2 * time.Minute, "frontend", "critical"}, {"E2", time.Minute, "db", "warning"}, {"E4", 0, "", ""}} {
		al, ev := alert(a.id, a.at, a.svc, a.sev)
		inc.Alerts, inc.Evidence = append(inc.Alerts, al), append(inc.Evidence, ev)
	}
	// A metric anomaly on db, seen before any alert: the earliest evidence.
	inc.Evidence = append(inc.Evidence, incident.Evidence{ID: "E3", Kind: incident.KindMetricAnomaly, Start: t0.Add(-time.Minute),
		Data: map[string]string{"service": "db"}, Value: 0.9})
	cs, err := (&Activities{}).RankCauses(context.Background(), RankInput{Incident: inc})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].Component != "db" || cs[1].Component != "frontend" {
		t.Fatalf("candidates = %+v", cs)
	}
	db := cs[0]
	if !strings.HasPrefix(db.Reason, "first to show trouble; evidence E3, E2") {
		t.Errorf("db reason = %q", db.Reason)
	}
	want := []incident.Factor{
		{Name: "onset order", Weight: 0.5, Value: 1, Evidence: []string{"E3"}},
		{Name: "alert severity", Weight: 0.3, Value: 0.5, Evidence: []string{"E2"}},
		{Name: "anomaly score", Weight: 0.2, Value: 0.9, Evidence: []string{"E3"}},
	}
	if !reflect.DeepEqual(db.Factors, want) {
		t.Errorf("db factors = %+v", db.Factors)
	}
	if got := 0.5*1 + 0.3*0.5 + 0.2*0.9; math.Abs(db.Score-got) > 1e-9 {
		t.Errorf("db score %v, want the weighted sum %v", db.Score, got)
	}
}

// flakyThread is a chat surface that records post keys in order and fails the
// post of one key once.
type flakyThread struct {
	keys   []string
	failOn string
}

func (f *flakyThread) Post(_ context.Context, _, key string, _ bot.Message) error {
	if key == f.failOn {
		f.failOn = ""
		return errors.New("chat unavailable")
	}
	f.keys = append(f.keys, key)
	return nil
}

// TestBatchesAreIdempotent: AuditMany and PostMessages keep their order, and a
// retry after a failure part-way records each act once and leaves every
// message posted; a retry that has the failed attempt's heartbeat resumes
// after the posts it reported.
func TestBatchesAreIdempotent(t *testing.T) {
	env, st, _, acts := newEnv(t)
	chat := &flakyThread{failOn: "evidence-E2"}
	acts.Chat = chat
	at := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	audits := []AuditInput{
		{Key: "inc/1", IncidentID: "inc", At: at, Actor: "system:ingest", Action: "incident.opened"},
		{Key: "inc/2", IncidentID: "inc", At: at, Actor: "system:ingest", Action: "alert.firing", Details: map[string]any{"evidence": "E1"}},
		{Key: "inc/3", IncidentID: "inc", At: at, Actor: "system:ingest", Action: "alert.firing", Details: map[string]any{"evidence": "E2"}},
	}
	for range 2 {
		if _, err := env.ExecuteActivity(acts.AuditMany, audits); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := st.AuditTrail(context.Background(), "inc")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, r.Key+" "+r.Action)
	}
	if want := []string{"inc/1 incident.opened", "inc/2 alert.firing", "inc/3 alert.firing"}; !slices.Equal(got, want) {
		t.Errorf("audit trail after a retried batch = %v, want %v", got, want)
	}

	posts := []PostInput{{IncidentID: "inc", Key: "evidence-E1"}, {IncidentID: "inc", Key: "evidence-E2"}, {IncidentID: "inc", Key: "evidence-E3"}}
	if _, err := env.ExecuteActivity(acts.PostMessages, posts); err == nil || !strings.Contains(err.Error(), "post evidence-E2 of inc: chat unavailable") {
		t.Fatalf("batch with a failing post = %v", err)
	}
	if !slices.Equal(chat.keys, []string{"evidence-E1"}) {
		t.Errorf("posted %v before the failure, want only E1 (posts stop at the first failure)", chat.keys)
	}
	env.SetHeartbeatDetails(1) // what the failed attempt reported
	if _, err := env.ExecuteActivity(acts.PostMessages, posts); err != nil {
		t.Fatal(err)
	}
	if want := []string{"evidence-E1", "evidence-E2", "evidence-E3"}; !slices.Equal(chat.keys, want) {
		t.Errorf("posts = %v, want %v (the retry resumes after E1)", chat.keys, want)
	}
	env.SetHeartbeatDetails(nil)
	if _, err := env.ExecuteActivity(acts.PostMessages, posts); err != nil {
		t.Fatal(err)
	}
	if want := []string{"evidence-E1", "evidence-E2", "evidence-E3", "evidence-E1", "evidence-E2", "evidence-E3"}; !slices.Equal(chat.keys, want) {
		t.Errorf("posts = %v, want %v (without progress, everything is posted again in order)", chat.keys, want)
	}
}
