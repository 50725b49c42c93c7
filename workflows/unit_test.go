package workflows

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/vigilops/vigil/activities"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/workflows/contract"
)

// stubbed is IncidentWorkflow on stubbed activities: no store, no runbooks,
// no shell. These tests run in milliseconds and check the workflow's own
// logic; the tests beside them run it on the real activities.
type stubbed struct {
	env *testsuite.TestWorkflowEnvironment

	mu      sync.Mutex
	actions []string          // audited actions, in order
	posts   map[string]string // thread key → last title
	saves   []incident.Status // projection saves, in order
}

func newStubbed(t *testing.T, proposal incident.Proposal, run incident.Run) *stubbed {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	s := &stubbed{env: suite.NewTestWorkflowEnvironment(), posts: map[string]string{}}
	env := s.env
	env.SetTestTimeout(10 * time.Second)
	env.RegisterActivity(&activities.Activities{})
	env.RegisterActivity(&activities.Review{})
	env.RegisterActivity(&activities.Assist{})
	env.RegisterWorkflow(RemediationWorkflow)
	audit := func(in activities.AuditInput) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.actions = append(s.actions, in.Action)
	}
	post := func(in activities.PostInput) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.posts[in.Key] = in.Message.Title
	}
	env.OnActivity(a.Audit, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.AuditInput) error { audit(in); return nil })
	env.OnActivity(a.AuditMany, mock.Anything, mock.Anything).Return(func(_ context.Context, in []activities.AuditInput) error {
		for _, r := range in {
			audit(r)
		}
		return nil
	})
	env.OnActivity(a.PostMessage, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.PostInput) error { post(in); return nil })
	env.OnActivity(a.PostMessages, mock.Anything, mock.Anything).Return(func(_ context.Context, in []activities.PostInput) error {
		for _, p := range in {
			post(p)
		}
		return nil
	})
	env.OnActivity(a.SyncIncident, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.SyncInput) error {
		post(in.Summary)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.saves = append(s.saves, in.Save.Incident.Status)
		return nil
	})
	env.OnActivity(a.RankCauses, mock.Anything, mock.Anything).Return([]incident.Candidate{{Component: "db", Score: 0.9, Reason: "disk filling"}}, nil)
	env.OnActivity(a.ProposeRemediations, mock.Anything, mock.Anything).Return(activities.ProposeResult{Proposals: []incident.Proposal{proposal}}, nil)
	env.OnActivity(a.RecordOutcome, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(as.BriefIncident, mock.Anything, mock.Anything).Return(activities.BriefResult{}, nil)
	env.OnActivity(rv.Postmortem, mock.Anything, mock.Anything).Return(activities.PostmortemResult{}, nil)
	env.OnActivity(rv.Checkpoint, mock.Anything, mock.Anything).Return(activities.CheckpointResult{}, nil)
	env.OnWorkflow(RemediationWorkflow, mock.Anything, mock.Anything).Return(func(_ workflow.Context, in contract.RemediationInput) (incident.Run, error) {
		r := run
		r.ID, r.ProposalID, r.RunbookID = in.RunID, in.Proposal.ID, in.Proposal.RunbookID
		return r, nil
	})
	return s
}

func (s *stubbed) fire(at time.Duration, status string) {
	e := incident.Event{Fingerprint: "fp-1", Status: status, StartsAt: time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC),
		Labels: map[string]string{"alertname": "DiskFillingUp", "service": "db", "severity": "critical"}}
	s.env.RegisterDelayedCallback(func() {
		s.env.SignalWorkflow(contract.SignalAlerts, contract.AlertsSignal{Events: []incident.Event{e}})
	}, at)
}

func (s *stubbed) decide(at time.Duration, req contract.DecideRequest, refused *error) {
	s.env.RegisterDelayedCallback(func() {
		s.env.UpdateWorkflow(contract.UpdateDecide, "u-"+at.String(), &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { *refused = err }, OnComplete: func(any, error) {},
		}, req)
	}, at)
}

func (s *stubbed) run(t *testing.T) incident.Incident {
	t.Helper()
	s.env.ExecuteWorkflow(IncidentWorkflow, contract.IncidentInput{ID: "incident-1-diskfillingup-db", Key: "DiskFillingUp/db", GroupLabels: map[string]string{"alertname": "DiskFillingUp"}})
	if !s.env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := s.env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	var inc incident.Incident
	if err := s.env.GetWorkflowResult(&inc); err != nil {
		t.Fatal(err)
	}
	return inc
}

func TestStubbedIncidentPaths(t *testing.T) {
	restart := incident.Proposal{RunbookID: "restart-db", Title: "Restart db", Risk: "medium", Approvers: []string{"group:oncall"},
		Steps: []incident.Step{{ID: "restart", Run: "shell", Command: []string{"true"}}}}
	oncall := func(user string) incident.Actor {
		return incident.Actor{User: user, Surface: "test", Verification: "test", Groups: []string{"oncall"}}
	}
	tests := []struct {
		name        string
		run         incident.Run
		play        func(s *stubbed, refused *error)
		wantStatus  incident.Status
		wantReason  string
		wantAudit   []string // in this order, others may come between
		wantRefusal string
	}{
		{
			name: "approved run that succeeds resolves",
			run:  incident.Run{Status: incident.ProposalSucceeded},
			play: func(s *stubbed, refused *error) {
				s.decide(time.Minute, contract.DecideRequest{ProposalID: "P1", Decision: incident.Approve, Actor: oncall("alice")}, refused)
			},
			wantStatus: incident.StatusResolved, wantReason: "Runbook restart-db (P1) succeeded.",
			wantAudit: []string{"incident.opened", "alert.firing", "candidates.ranked", "proposal.offered", "decision.approve", "incident.resolved"},
		},
		{
			name: "approved run that fails escalates, then the alert resolving resolves",
			run:  incident.Run{Status: incident.ProposalFailed, Reason: "step restart failed"},
			play: func(s *stubbed, refused *error) {
				s.decide(time.Minute, contract.DecideRequest{ProposalID: "P1", Decision: incident.Approve, Actor: oncall("alice")}, refused)
				s.fire(time.Hour, incident.AlertResolved)
			},
			wantStatus: incident.StatusResolved, wantReason: "Every alert of this incident has resolved.",
			wantAudit: []string{"proposal.offered", "decision.approve", "incident.escalated", "alert.resolved", "incident.resolved"},
		},
		{
			name: "someone outside the approvers is refused and nothing runs",
			run:  incident.Run{Status: incident.ProposalSucceeded},
			play: func(s *stubbed, refused *error) {
				s.decide(time.Minute, contract.DecideRequest{ProposalID: "P1", Decision: incident.Approve, Actor: incident.Actor{User: "mallory", Surface: "test", Verification: "test"}}, refused)
				s.fire(time.Hour, incident.AlertResolved)
			},
			wantStatus: incident.StatusResolved, wantReason: "Every alert of this incident has resolved.",
			wantAudit:   []string{"proposal.offered", "alert.resolved", "incident.resolved"},
			wantRefusal: "mallory",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStubbed(t, restart, tt.run)
			var refused error
			s.fire(0, incident.AlertFiring)
			tt.play(s, &refused)
			inc := s.run(t)
			if inc.Status != tt.wantStatus || inc.Reason != tt.wantReason {
				t.Errorf("ended %s (%q), want %s (%q)", inc.Status, inc.Reason, tt.wantStatus, tt.wantReason)
			}
			if !inOrder(s.actions, tt.wantAudit) {
				t.Errorf("audited %v, want %v in this order", s.actions, tt.wantAudit)
			}
			switch {
			case tt.wantRefusal == "" && refused != nil:
				t.Errorf("decision refused: %v", refused)
			case tt.wantRefusal != "" && (refused == nil || !strings.Contains(refused.Error(), tt.wantRefusal)):
				t.Errorf("refusal %v, want one naming %q", refused, tt.wantRefusal)
			}
			if tt.wantRefusal != "" && len(inc.Runs) > 0 {
				t.Errorf("a refused decision ran %d runbook(s)", len(inc.Runs))
			}
			if last := s.saves[len(s.saves)-1]; last != tt.wantStatus {
				t.Errorf("last projection saved %s, want %s", last, tt.wantStatus)
			}
			if !strings.Contains(s.posts["summary"], "[RESOLVED]") {
				t.Errorf("root message %q does not say resolved", s.posts["summary"])
			}
		})
	}
}

// inOrder reports whether want appears in got in order (not necessarily adjacent).
func inOrder(got, want []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}
