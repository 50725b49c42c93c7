package workflows

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/workflows/contract"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/vigilops/vigil/activities"
	"github.com/vigilops/vigil/assist"
	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/runbooks"
	"github.com/vigilops/vigil/store"
)

// thread records what the workflow posted, as a chat surface would show it.
type thread struct {
	mu      sync.Mutex
	keys    []string
	msgs    map[string]bot.Message
	posts   int
	history []bot.Message // every version of every message, in posting order
	failing []string      // keys whose next post fails once (the chat was down)
}

func (t *thread) Post(_ context.Context, _, key string, m bot.Message) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if i := slices.Index(t.failing, key); i >= 0 {
		t.failing = slices.Delete(t.failing, i, i+1)
		return errors.New("chat unavailable")
	}
	if t.msgs == nil {
		t.msgs = map[string]bot.Message{}
	}
	if _, ok := t.msgs[key]; !ok {
		t.keys = append(t.keys, key)
	}
	t.msgs[key] = m
	t.posts++
	t.history = append(t.history, m)
	return nil
}

// everything renders every version of every message, edits included.
func (t *thread) everything() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var b strings.Builder
	for _, m := range t.history {
		b.WriteString(m.Title + "\n" + m.Text + "\n" + m.Code + "\n")
	}
	return b.String()
}

// text renders the thread in order, one message title per line plus its text.
func (t *thread) text() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var b strings.Builder
	for _, k := range t.keys {
		m := t.msgs[k]
		b.WriteString(m.Title + "\n" + m.Text + "\n" + m.Code + "\n" + m.Footer + "\n")
	}
	return b.String()
}

type staticLib struct{ lib *runbooks.Library }

func (s staticLib) Current() *runbooks.Library { return s.lib }

type fixture struct {
	env     *testsuite.TestWorkflowEnvironment
	acts    *activities.Activities
	policy  contract.IncidentPolicy
	store   *store.Store
	thread  *thread
	scratch string // the directory the DiskFillingUp alert points at
	id      string
}

var groups = map[string][]string{"oncall": {"alice", "bob"}}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return newFixtureOn(t, st)
}

// newFixtureOn is a fixture on an existing store (a later run of an incident).
func newFixtureOn(t *testing.T, st *store.Store) *fixture {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetTestTimeout(time.Minute)
	lib, ps, err := runbooks.LoadDir("../examples/runbooks", groups)
	if err != nil || len(ps) > 0 {
		t.Fatalf("load runbooks: %v %v", err, ps)
	}
	f := &fixture{env: env, store: st, thread: &thread{}, scratch: t.TempDir()}
	f.acts = &activities.Activities{Store: st, Chat: f.thread, Runbooks: staticLib{lib}, Groups: groups, Steps: runbooks.Executor{}}
	env.RegisterActivity(f.acts)
	env.RegisterActivity(&activities.Review{Store: st, Chat: f.thread})
	env.RegisterActivity(&activities.Assist{Assistant: offAssistant(t), Store: st})
	env.RegisterWorkflow(RemediationWorkflow)
	return f
}

// alerts ingests alerts into the store as the receiver would and returns the batch
// the dispatcher would signal.
func (f *fixture) alerts(t *testing.T, status string, instances ...string) contract.AlertsSignal {
	t.Helper()
	var in []store.AlertIn
	group := map[string]string{"alertname": "DiskFillingUp", "service": "db"}
	for _, inst := range instances {
		in = append(in, store.AlertIn{
			Fingerprint: "fp-" + inst, Status: status, StartsAt: time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC),
			Labels:      map[string]string{"alertname": "DiskFillingUp", "service": "db", "instance": inst, "severity": "critical", "path": f.scratch},
			Annotations: map[string]string{"summary": "disk almost full"},
			GroupKey:    "DiskFillingUp/db", GroupLabels: group,
		})
	}
	if _, err := f.store.IngestAlerts(context.Background(), "test", in, time.Now()); err != nil {
		t.Fatal(err)
	}
	out, err := f.store.Outbox(context.Background(), 100)
	if err != nil || len(out) != 1 {
		t.Fatalf("outbox: %v %v", out, err)
	}
	_ = f.store.MarkDelivered(context.Background(), out[:1], time.Now())
	f.id = out[0].IncidentID
	return contract.AlertsSignal{Events: out[0].Events}
}

func (f *fixture) signal(at time.Duration, s contract.AlertsSignal) {
	f.env.RegisterDelayedCallback(func() { f.env.SignalWorkflow(contract.SignalAlerts, s) }, at)
}

// decide sends a decide update at a simulated time and records the answer.
func (f *fixture) decide(at time.Duration, req contract.DecideRequest, answer *decideAnswer) {
	f.env.RegisterDelayedCallback(func() {
		f.env.UpdateWorkflow(contract.UpdateDecide, "decide-"+at.String(), &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { answer.rejected = err },
			OnComplete: func(res any, err error) {
				if r, ok := res.(contract.Answer); ok {
					answer.message = r.Message
				}
				answer.err = err
			},
		}, req)
	}, at)
}

type decideAnswer struct {
	rejected error
	message  string
	err      error
}

func (f *fixture) run(t *testing.T) incident.Incident {
	t.Helper()
	f.env.ExecuteWorkflow(IncidentWorkflow, contract.IncidentInput{ID: f.id, Key: "DiskFillingUp/db", GroupLabels: map[string]string{"alertname": "DiskFillingUp", "service": "db"}, Policy: f.policy})
	if !f.env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := f.env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	var inc incident.Incident
	if err := f.env.GetWorkflowResult(&inc); err != nil {
		t.Fatal(err)
	}
	return inc
}

func (f *fixture) auditActions(t *testing.T) []string {
	t.Helper()
	recs, err := f.store.AuditTrail(context.Background(), f.id)
	if err != nil {
		t.Fatal(err)
	}
	var acts []string
	for _, r := range recs {
		acts = append(acts, r.Action)
	}
	if _, err := f.store.VerifyAudit(context.Background()); err != nil {
		t.Errorf("audit chain broken: %v", err)
	}
	return acts
}

func actor(user string) incident.Actor {
	return incident.Actor{User: user, Surface: "test", Verification: "test"}
}

func approve(p, user string) contract.DecideRequest {
	return contract.DecideRequest{ProposalID: p, Decision: incident.Approve, Actor: actor(user)}
}

func TestApprovedRunbookRunsAndResolves(t *testing.T) {
	f := newFixture(t)
	oldTmp := filepath.Join(f.scratch, "old.tmp")
	keep := filepath.Join(f.scratch, "keep.log")
	for _, p := range []string{oldTmp, keep} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-2 * time.Hour)
		_ = os.Chtimes(p, old, old)
	}
	f.signal(0, f.alerts(t, incident.AlertFiring, "db-1", "db-2"))
	var ans decideAnswer
	f.decide(time.Minute, approve("P1", "alice"), &ans)
	inc := f.run(t)

	if inc.Status != incident.StatusResolved || !strings.Contains(inc.Reason, "clean-temp-files (P1) succeeded") {
		t.Errorf("status %s (%s), want resolved by the runbook", inc.Status, inc.Reason)
	}
	if ans.rejected != nil || ans.err != nil || !strings.Contains(ans.message, "alice approved P1") {
		t.Errorf("decide answer = %+v", ans)
	}
	if _, err := os.Stat(oldTmp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("old .tmp file still there: the step did not run (%v)", err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("non-.tmp file was touched: %v", err)
	}
	if len(inc.Evidence) != 2 || inc.Evidence[0].ID != "E1" || inc.Evidence[1].ID != "E2" {
		t.Errorf("evidence = %+v", inc.Evidence)
	}
	if len(inc.Candidates) == 0 || inc.Candidates[0].Component != "db" {
		t.Errorf("candidates = %+v", inc.Candidates)
	}
	if len(inc.Runs) != 1 || len(inc.Runs[0].Steps) != 3 || inc.Runs[0].Status != incident.ProposalSucceeded {
		t.Fatalf("runs = %+v", inc.Runs)
	}
	if inc.ApprovedAt.IsZero() || inc.ResolvedAt.IsZero() || inc.MitigatedAt.IsZero() {
		t.Errorf("times not set: %+v", inc)
	}
	thread := f.thread.text()
	for _, want := range []string{
		"[RESOLVED] DiskFillingUp on db",
		"E1 · alert firing: DiskFillingUp", "E2 · alert firing",
		"Root-cause candidates", "1. db (score",
		"P1 · Proposed: Delete old *.tmp files", "delete-old-tmp: find " + f.scratch,
		"P2 · Proposed: Collect host diagnostics",
		"alice approved P1 (clean-temp-files)",
		"Step 1/3 check-dir: succeeded (exit 0", "Step 2/3 delete-old-tmp: succeeded", oldTmp,
		"Runbook clean-temp-files succeeded",
		"Resolved\nRunbook clean-temp-files (P1) succeeded.",
	} {
		if !strings.Contains(thread, want) {
			t.Errorf("thread lacks %q:\n%s", want, thread)
		}
	}
	if m := f.thread.msgs["brief"]; !strings.Contains(m.Title+m.Text, "Vigil's own summary") || len(m.Actions) != 0 {
		t.Errorf("brief with the assistant off: %+v", m)
	}
	if m := f.thread.msgs["proposal-P1"]; len(m.Actions) != 0 || !strings.HasPrefix(m.Footer, "succeeded") {
		t.Errorf("decided proposal still offers buttons or lacks outcome: %+v", m)
	}
	if m := f.thread.msgs["proposal-P2"]; len(m.Actions) != 0 || !strings.Contains(m.Footer, "not needed") {
		t.Errorf("proposal left pending after resolution: %+v", m)
	}
	got := f.auditActions(t)
	want := []string{"incident.opened", "alert.firing", "alert.firing", "candidates.ranked", "proposal.offered", "proposal.offered",
		"decision.approve", "run.started", "step.finished", "step.finished", "step.finished", "run.finished", "incident.resolved", "postmortem.posted"}
	if !slices.Equal(got, want) {
		t.Errorf("audit actions\n got %v\nwant %v", got, want)
	}
}

func TestRejectedProposalDoesNotRun(t *testing.T) {
	f := newFixture(t)
	f.signal(0, f.alerts(t, incident.AlertFiring, "db-1"))
	var ans decideAnswer
	f.decide(time.Minute, contract.DecideRequest{ProposalID: "P1", Decision: incident.Reject, Actor: actor("bob"), Comment: "not now"}, &ans)
	f.signal(time.Hour, f.alerts(t, incident.AlertResolved, "db-1"))
	inc := f.run(t)
	if len(inc.Runs) != 0 {
		t.Errorf("a rejected proposal ran: %+v", inc.Runs)
	}
	if p := inc.Proposal("P1"); p.Status != incident.ProposalRejected {
		t.Errorf("P1 status %s", p.Status)
	}
	if inc.Status != incident.StatusResolved || inc.Reason != "Every alert of this incident has resolved." {
		t.Errorf("status %s (%s)", inc.Status, inc.Reason)
	}
	if !strings.Contains(f.thread.text(), "bob rejected P1 (clean-temp-files)\nnot now") {
		t.Errorf("thread does not show the rejection:\n%s", f.thread.text())
	}
	if acts := f.auditActions(t); !slices.Contains(acts, "decision.reject") || slices.Contains(acts, "run.started") {
		t.Errorf("audit = %v", acts)
	}
}

func TestValidatorRefusesDecisions(t *testing.T) {
	tests := []struct {
		name     string
		req      contract.DecideRequest
		wantType string
		wantMsg  string
	}{
		{name: "not an approver", req: approve("P1", "mallory"), wantType: contract.RefusedForbidden, wantMsg: "mallory may not decide P1 (clean-temp-files): its approvers are group:oncall"},
		{name: "unknown proposal", req: approve("P9", "alice"), wantType: contract.RefusedNotFound, wantMsg: `has no proposal "P9" (proposals: P1, P2)`},
		{name: "no identity", req: approve("P1", ""), wantType: contract.RefusedForbidden, wantMsg: "no verified user identity"},
		{name: "bad decision", req: contract.DecideRequest{ProposalID: "P1", Decision: "maybe", Actor: actor("alice")}, wantType: contract.RefusedBadRequest, wantMsg: `not "maybe"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.signal(0, f.alerts(t, incident.AlertFiring, "db-1"))
			var ans decideAnswer
			f.decide(time.Minute, tt.req, &ans)
			f.signal(time.Hour, f.alerts(t, incident.AlertResolved, "db-1"))
			inc := f.run(t)
			var appErr *temporal.ApplicationError
			if !errors.As(ans.rejected, &appErr) || appErr.Type() != tt.wantType || !strings.Contains(appErr.Error(), tt.wantMsg) {
				t.Fatalf("refusal = %v, want %s %q", ans.rejected, tt.wantType, tt.wantMsg)
			}
			if len(inc.Runs) != 0 || len(inc.Decisions) != 0 {
				t.Errorf("a refused decision had an effect: runs %v decisions %v", inc.Runs, inc.Decisions)
			}
		})
	}
}

func TestSecondApprovalOfSameProposalRefused(t *testing.T) {
	f := newFixture(t)
	f.signal(0, f.alerts(t, incident.AlertFiring, "db-1"))
	var first, second decideAnswer
	f.decide(time.Minute, contract.DecideRequest{ProposalID: "P2", Decision: incident.Reject, Actor: actor("alice")}, &first)
	f.decide(2*time.Minute, approve("P2", "bob"), &second)
	f.signal(time.Hour, f.alerts(t, incident.AlertResolved, "db-1"))
	f.run(t)
	var appErr *temporal.ApplicationError
	if first.rejected != nil || !errors.As(second.rejected, &appErr) || appErr.Type() != contract.RefusedConflict || !strings.Contains(appErr.Error(), "P2 (collect-diagnostics) is already rejected") {
		t.Errorf("first %+v second %+v", first, second)
	}
}

func TestFailingStepEscalates(t *testing.T) {
	f := newFixture(t)
	sig := f.alerts(t, incident.AlertFiring, "db-1")
	if err := os.Remove(f.scratch); err != nil { // check-dir will fail
		t.Fatal(err)
	}
	f.signal(0, sig)
	var ans decideAnswer
	f.decide(time.Minute, approve("P1", "alice"), &ans)
	f.signal(time.Hour, f.alerts(t, incident.AlertResolved, "db-1"))
	inc := f.run(t)
	if len(inc.Runs) != 1 {
		t.Fatalf("runs = %+v", inc.Runs)
	}
	run := inc.Runs[0]
	if run.Status != incident.ProposalFailed || len(run.Steps) != 1 || run.Steps[0].ExitCode != 1 {
		t.Errorf("run = %+v, want failed at step 1 with exit 1 and no later steps", run)
	}
	thread := f.thread.text()
	for _, want := range []string{
		"Step 1/3 check-dir: failed (exit 1",
		"Runbook clean-temp-files failed\nstep check-dir failed (exited with status 1)",
		"Escalated\nRunbook clean-temp-files (P1) failed: step check-dir failed",
	} {
		if !strings.Contains(thread, want) {
			t.Errorf("thread lacks %q:\n%s", want, thread)
		}
	}
	if _, ok := f.thread.msgs["run-"+run.ID+"-step-delete-old-tmp"]; ok {
		t.Error("a step after the failed one was started")
	}
	if acts := f.auditActions(t); !slices.Contains(acts, "incident.escalated") {
		t.Errorf("audit lacks escalation: %v", acts)
	}
	// It stays open after escalation and resolves when the alert does.
	if inc.Status != incident.StatusResolved || inc.Reason != "Every alert of this incident has resolved." {
		t.Errorf("final status %s (%s)", inc.Status, inc.Reason)
	}
}

func TestAlertsResolvingResolveIncident(t *testing.T) {
	f := newFixture(t)
	f.signal(0, f.alerts(t, incident.AlertFiring, "db-1", "db-2"))
	f.signal(time.Minute, f.alerts(t, incident.AlertResolved, "db-1"))
	// A resend of the same resolve must not change anything.
	f.signal(2*time.Minute, contract.AlertsSignal{Events: []incident.Event{{Fingerprint: "fp-db-1", Status: incident.AlertResolved, StartsAt: time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)}}})
	f.signal(3*time.Minute, f.alerts(t, incident.AlertResolved, "db-2"))
	inc := f.run(t)
	if inc.Status != incident.StatusResolved || inc.Firing() {
		t.Errorf("status %s firing %v", inc.Status, inc.Firing())
	}
	if len(inc.Runs) != 0 {
		t.Errorf("something ran without approval: %+v", inc.Runs)
	}
	if !strings.Contains(f.thread.text(), "E1 · alert resolved: DiskFillingUp") {
		t.Errorf("thread does not show E1 resolved:\n%s", f.thread.text())
	}
	acts := f.auditActions(t)
	if n := countOf(acts, "alert.resolved"); n != 2 {
		t.Errorf("audit has %d alert.resolved, want 2 (a resent resolve is not new): %v", n, acts)
	}
	if acts[len(acts)-2] != "incident.resolved" || acts[len(acts)-1] != "postmortem.posted" {
		t.Errorf("audit ends with %v, want the resolution then the postmortem", acts[len(acts)-2:])
	}
	if pm, ok := f.thread.msgs["postmortem"]; !ok || !strings.Contains(pm.Title+pm.Text+pm.Code, "DiskFillingUp on db") {
		t.Errorf("no postmortem draft in the thread: %+v", pm)
	}
}

func countOf(ss []string, s string) int {
	n := 0
	for _, x := range ss {
		if x == s {
			n++
		}
	}
	return n
}

// offAssistant is the investigation assistant with no model configured: every
// brief is Vigil's own summary, saying so.
func offAssistant(t *testing.T) *assist.Assistant {
	t.Helper()
	red, err := assist.NewRedactor(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := assist.New(assist.Options{Redactor: red})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestAlertBatchIsAuditedThenPosted: a batch of alerts costs one audit and one
// post activity, not two per alert, and the thread and the audit trail read as
// they would for alerts handled one by one: each act recorded once with its own
// number, before the evidence is posted, each evidence message once, in order,
// even when a post fails part-way and the batch is retried.
func TestAlertBatchIsAuditedThenPosted(t *testing.T) {
	f := newFixture(t)
	f.thread.failing = []string{"evidence-E3"}
	var mu sync.Mutex
	var started []string
	f.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		mu.Lock()
		defer mu.Unlock()
		started = append(started, info.ActivityType.Name)
	})
	f.env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []any) {
		mu.Lock()
		defer mu.Unlock()
		started = append(started, info.ActivityType.Name)
	})
	f.signal(0, f.alerts(t, incident.AlertFiring, "db-1", "db-2", "db-3", "db-4", "db-5"))
	f.signal(time.Hour, f.alerts(t, incident.AlertResolved, "db-1", "db-2", "db-3", "db-4", "db-5"))
	inc := f.run(t)
	if inc.Status != incident.StatusResolved {
		t.Fatalf("status %s (%s)", inc.Status, inc.Reason)
	}

	// The first post is the summary; the batch is audited, then posted (the
	// failed post is retried as a whole), before anything else runs.
	want := []string{"PostMessage", "AuditMany", "PostMessages", "PostMessages", "RankCauses"}
	if !slices.Equal(started[:len(want)], want) {
		t.Errorf("activities began %v, want %v", started[:len(want)], want)
	}
	for name, n := range map[string]int{"AuditMany": 2, "PostMessages": 3} {
		if got := countOf(started, name); got != n {
			t.Errorf("%d %s activities, want %d (one per batch, plus one retry)", got, name, n)
		}
	}

	wantKeys := []string{"summary", "evidence-E1", "evidence-E2", "evidence-E3", "evidence-E4", "evidence-E5", "candidates"}
	if !slices.Equal(f.thread.keys[:len(wantKeys)], wantKeys) {
		t.Errorf("thread begins %v, want %v", f.thread.keys[:len(wantKeys)], wantKeys)
	}
	for i := 1; i <= 5; i++ {
		if m := f.thread.msgs[fmt.Sprintf("evidence-E%d", i)]; !strings.HasPrefix(m.Title, fmt.Sprintf("E%d · alert resolved: DiskFillingUp", i)) {
			t.Errorf("evidence-E%d = %q, want it edited to resolved", i, m.Title)
		}
	}

	recs, err := f.store.AuditTrail(context.Background(), f.id)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i, r := range recs {
		if want := fmt.Sprintf("%s/%d", f.id, i+1); r.Key != want {
			t.Errorf("record %d has key %s, want %s", i, r.Key, want)
		}
		got = append(got, r.Action)
	}
	if want := []string{"incident.opened", "alert.firing", "alert.firing", "alert.firing", "alert.firing", "alert.firing"}; !slices.Equal(got[:len(want)], want) {
		t.Errorf("audit begins %v, want %v", got[:len(want)], want)
	}
	if n := countOf(got, "alert.resolved"); n != 5 {
		t.Errorf("%d alert.resolved records, want 5: %v", n, got)
	}
}

// Merge notices from correlation: the merged incident resolves saying into
// which incident and why; the one it merged into notes it and goes on; a
// notice delivered twice acts once.
func TestMergeNotices(t *testing.T) {
	notice := func(fp, label, other, summary string) incident.Event {
		return incident.Event{Kind: incident.KindMerge, Fingerprint: fp, Status: incident.AlertFiring,
			Labels: map[string]string{label: other}, Summary: summary}
	}
	tests := []struct {
		name       string
		event      incident.Event
		wantReason string // the resolution's reason
		wantNote   string
	}{
		{"merged away: resolves with the reason", notice("merge:a>b", "into", "incident-2", "Merged into incident-2: web calls api."),
			"Merged into incident-2: web calls api.", "Merged into incident-2: web calls api."},
		{"merged into: notes it and goes on until its alerts resolve", notice("merge:c<a", "from", "incident-3", "incident-3 merged into this incident: db is a service of both."),
			"Every alert of this incident has resolved.", "incident-3 merged into this incident: db is a service of both."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.signal(0, f.alerts(t, incident.AlertFiring, "db-1"))
			twice := contract.AlertsSignal{Events: []incident.Event{tt.event}}
			f.signal(time.Minute, twice)
			f.signal(2*time.Minute, twice)
			f.signal(3*time.Minute, f.alerts(t, incident.AlertResolved, "db-1"))
			inc := f.run(t)
			if inc.Reason != tt.wantReason {
				t.Errorf("resolved because %q, want %q", inc.Reason, tt.wantReason)
			}
			var notes []string
			for _, k := range f.thread.keys {
				if m := f.thread.msgs[k]; strings.HasPrefix(k, "note-") && strings.Contains(m.Text, tt.wantNote) {
					notes = append(notes, k)
				}
			}
			if len(notes) != 1 {
				t.Errorf("notes saying %q: %v, want one", tt.wantNote, notes)
			}
			if n := countOf(f.auditActions(t), "incident.merged"); n != 1 {
				t.Errorf("%d incident.merged audit records, want 1", n)
			}
		})
	}
}

// TestAnnouncementIsTheFirstSummary: what ingest announces a new incident
// with is what the incident's workflow first posts for the same events, so the
// workflow's post edits nothing the reader saw but its later changes.
func TestAnnouncementIsTheFirstSummary(t *testing.T) {
	f := newFixture(t)
	firing := f.alerts(t, incident.AlertFiring, "db-1", "db-2")
	f.signal(0, firing)
	f.signal(time.Minute, f.alerts(t, incident.AlertResolved, "db-1", "db-2"))
	f.run(t)
	group := map[string]string{"alertname": "DiskFillingUp", "service": "db"}
	announce := func(events []incident.Event) bot.Message {
		inc := incident.Announce(f.id, "DiskFillingUp/db", group, events, time.Now())
		return bot.Summary(&inc)
	}
	got := announce(firing.Events)
	if want := f.thread.history[0]; !reflect.DeepEqual(got, want) {
		t.Errorf("announcement\n%+v\nwant the workflow's first post\n%+v", got, want)
	}
	if !strings.Contains(fmt.Sprint(got.Fields), "2 of 2") {
		t.Errorf("announcement fields %v, want both alerts firing", got.Fields)
	}
	// An incident merged away before anyone posted is announced resolved,
	// with the reason its workflow will give.
	merge := incident.Event{Kind: incident.KindMerge, Fingerprint: "merge:x>y", Summary: "Merged into incident-9: web calls api",
		Labels: map[string]string{"into": "incident-9", "from": f.id}}
	got = announce([]incident.Event{merge})
	if !strings.Contains(got.Title, "resolved") && !strings.Contains(fmt.Sprint(got.Fields), "resolved") || got.Text != merge.Summary {
		t.Errorf("announcement of a merged incident = %+v, want it resolved saying %q", got, merge.Summary)
	}
}
