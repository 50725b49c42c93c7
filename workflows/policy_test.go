package workflows

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/workflows/contract"

	"go.temporal.io/sdk/temporal"

	"github.com/vigilops/vigil/incident"
)

var now = time.Date(2026, 11, 24, 3, 30, 0, 0, time.UTC)

func user(id string, groups ...string) incident.Actor {
	return incident.Actor{User: id, Surface: "test", Verification: "test", Groups: groups}
}

// policyIncident is a firing incident with one pending proposal.
func policyIncident(mod func(p *incident.Proposal)) *incident.Incident {
	p := incident.Proposal{
		ID: "P1", RunbookID: "failover-db", Risk: "high", Status: incident.ProposalPending,
		Approvers: []string{"group:dba", "user:carol"}, Allowed: []string{"alice", "bob", "carol"},
		MinApprovals: 2, OfferedAt: now.Add(-10 * time.Minute), PlanHash: "plan-1",
	}
	if mod != nil {
		mod(&p)
	}
	return &incident.Incident{
		ID: "incident-1", Status: incident.StatusAwaitingApproval,
		Alerts:    []incident.Alert{{Fingerprint: "f", Status: incident.AlertFiring}},
		Proposals: []incident.Proposal{p},
	}
}

func TestCheckDecision(t *testing.T) {
	tests := []struct {
		name     string
		inc      *incident.Incident
		req      contract.DecideRequest
		at       time.Time
		wantType string // "" = allowed
		wantMsg  string
	}{
		{name: "approver allowed", inc: policyIncident(nil), req: contract.DecideRequest{ProposalID: "P1", Decision: "approve", Actor: user("alice")}},
		{name: "second distinct approver", inc: policyIncident(func(p *incident.Proposal) { p.Approvals = []incident.Actor{user("alice")} }),
			req: contract.DecideRequest{ProposalID: "P1", Decision: "approve", Actor: user("bob")}},
		{name: "same person twice", inc: policyIncident(func(p *incident.Proposal) { p.Approvals = []incident.Actor{user("alice")} }),
			req: contract.DecideRequest{ProposalID: "P1", Decision: "approve", Actor: user("alice")}, wantType: contract.RefusedConflict, wantMsg: "alice already approved P1; it needs 2 approval(s) from 2 distinct people"},
		{name: "non-approver", inc: policyIncident(nil), req: contract.DecideRequest{ProposalID: "P1", Decision: "approve", Actor: user("mallory")},
			wantType: contract.RefusedForbidden, wantMsg: "mallory may not decide P1 (failover-db): its approvers are group:dba, user:carol"},
		{name: "non-approver cannot reject either", inc: policyIncident(nil), req: contract.DecideRequest{ProposalID: "P1", Decision: "reject", Actor: user("mallory")},
			wantType: contract.RefusedForbidden},
		{name: "member of approver group verified by surface", inc: policyIncident(nil), req: contract.DecideRequest{ProposalID: "P1", Decision: "approve", Actor: user("U123", "dba")}},
		{name: "group claimed for another group", inc: policyIncident(nil), req: contract.DecideRequest{ProposalID: "P1", Decision: "approve", Actor: user("U123", "web")},
			wantType: contract.RefusedForbidden},
		{name: "self-approval refused", inc: policyIncident(func(p *incident.Proposal) { p.RequestedBy = "alice" }),
			req: contract.DecideRequest{ProposalID: "P1", Decision: "approve", Actor: user("alice")}, wantType: contract.RefusedForbidden, wantMsg: "alice requested P1 and may not approve it too"},
		{name: "requester may still reject", inc: policyIncident(func(p *incident.Proposal) { p.RequestedBy = "alice" }),
			req: contract.DecideRequest{ProposalID: "P1", Decision: "reject", Actor: user("alice")}},
		{name: "self-approval allowed by runbook", inc: policyIncident(func(p *incident.Proposal) { p.RequestedBy = "alice"; p.SelfApproval = true }),
			req: contract.DecideRequest{ProposalID: "P1", Decision: "approve", Actor: user("alice")}},
		{name: "expired after escalation", inc: policyIncident(func(p *incident.Proposal) { p.ExpiresAt = now.Add(-time.Second); p.Escalations = 1 }),
			req: contract.DecideRequest{ProposalID: "P1", Decision: "approve", Actor: user("alice")}, wantType: contract.RefusedConflict, wantMsg: "expired at 2026-11-24T03:29:59Z without a decision; it will not run"},
		{name: "first expiry with escalate still open", inc: policyIncident(func(p *incident.Proposal) { p.ExpiresAt = now.Add(-time.Second); p.OnExpiry = OnExpiryEscalate }),
			req: contract.DecideRequest{ProposalID: "P1", Decision: "approve", Actor: user("alice")}},
		{name: "first expiry with abort is final", inc: policyIncident(func(p *incident.Proposal) { p.ExpiresAt = now; p.OnExpiry = OnExpiryAbort }),
			req: contract.DecideRequest{ProposalID: "P1", Decision: "approve", Actor: user("alice")}, wantType: contract.RefusedConflict, wantMsg: "expired"},
		{name: "stale plan", inc: policyIncident(nil), req: contract.DecideRequest{ProposalID: "P1", Decision: "approve", Actor: user("alice"), PlanHash: "plan-0"},
			wantType: contract.RefusedConflict, wantMsg: "the plan of P1 changed after you saw it (the evidence moved on); review the new plan and approve again"},
		{name: "current plan", inc: policyIncident(nil), req: contract.DecideRequest{ProposalID: "P1", Decision: "approve", Actor: user("alice"), PlanHash: "plan-1"}},
		{name: "no longer firing", inc: func() *incident.Incident {
			inc := policyIncident(nil)
			inc.Alerts[0].Status = incident.AlertResolved
			return inc
		}(), req: contract.DecideRequest{ProposalID: "P1", Decision: "approve", Actor: user("alice")}, wantType: contract.RefusedConflict, wantMsg: "no longer firing"},
		{name: "manual run needs no firing alert", inc: func() *incident.Incident {
			inc := policyIncident(func(p *incident.Proposal) { p.RequestedBy = "carol" })
			inc.Alerts = nil
			return inc
		}(), req: contract.DecideRequest{ProposalID: "P1", Decision: "approve", Actor: user("alice")}},
		{name: "already decided", inc: policyIncident(func(p *incident.Proposal) { p.Status = incident.ProposalRejected }),
			req: contract.DecideRequest{ProposalID: "P1", Decision: "approve", Actor: user("alice")}, wantType: contract.RefusedConflict, wantMsg: "P1 (failover-db) is already rejected"},
		{name: "resolved incident", inc: func() *incident.Incident {
			inc := policyIncident(nil)
			inc.Status = incident.StatusResolved
			return inc
		}(), req: contract.DecideRequest{ProposalID: "P1", Decision: "approve", Actor: user("alice")}, wantType: contract.RefusedConflict, wantMsg: "is resolved"},
		{name: "unknown proposal", inc: policyIncident(nil), req: contract.DecideRequest{ProposalID: "P7", Decision: "approve", Actor: user("alice")},
			wantType: contract.RefusedNotFound, wantMsg: `has no proposal "P7" (proposals: P1)`},
		{name: "no identity", inc: policyIncident(nil), req: contract.DecideRequest{ProposalID: "P1", Decision: "approve"}, wantType: contract.RefusedForbidden},
		{name: "bad decision", inc: policyIncident(nil), req: contract.DecideRequest{ProposalID: "P1", Decision: "yes", Actor: user("alice")}, wantType: contract.RefusedBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := tt.at
			if at.IsZero() {
				at = now
			}
			err := CheckDecision(tt.inc, tt.req, at)
			assertRefusal(t, err, tt.wantType, tt.wantMsg)
		})
	}
}

func TestCheckGate(t *testing.T) {
	p := &policyIncident(func(p *incident.Proposal) { p.RequestedBy = "carol" }).Proposals[0]
	gate := &Gate{StepID: "promote", Approvals: []incident.Actor{user("alice")}}
	tests := []struct {
		name     string
		gate     *Gate
		req      contract.DecideRequest
		wantType string
	}{
		{name: "second approver", gate: gate, req: contract.DecideRequest{StepID: "promote", Decision: "approve", Actor: user("bob")}},
		{name: "same approver twice", gate: gate, req: contract.DecideRequest{StepID: "promote", Decision: "approve", Actor: user("alice")}, wantType: contract.RefusedConflict},
		{name: "requester", gate: gate, req: contract.DecideRequest{StepID: "promote", Decision: "approve", Actor: user("carol")}, wantType: contract.RefusedForbidden},
		{name: "wrong step", gate: gate, req: contract.DecideRequest{StepID: "demote", Decision: "approve", Actor: user("bob")}, wantType: contract.RefusedConflict},
		{name: "no open gate", req: contract.DecideRequest{StepID: "promote", Decision: "approve", Actor: user("bob")}, wantType: contract.RefusedConflict},
		{name: "outsider", gate: gate, req: contract.DecideRequest{StepID: "promote", Decision: "reject", Actor: user("mallory")}, wantType: contract.RefusedForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertRefusal(t, CheckGate(p, tt.gate, tt.req), tt.wantType, "")
		})
	}
}

func TestAutonomyFor(t *testing.T) {
	rules := []contract.AutonomyRule{
		{Name: "cache-flush-anywhere-but-payments", Runbooks: []string{"flush-*"}, Services: []string{"web", "search", "api-*"}},
	}
	tests := []struct {
		name     string
		risk     string
		runbook  string
		services []string
		manual   bool
		want     string
	}{
		{name: "allowed", risk: "low", runbook: "flush-cache", services: []string{"web"}, want: "cache-flush-anywhere-but-payments"},
		{name: "glob service", risk: "low", runbook: "flush-cache", services: []string{"api-eu", "web"}, want: "cache-flush-anywhere-but-payments"},
		{name: "one service not allowed", risk: "low", runbook: "flush-cache", services: []string{"web", "payments"}},
		{name: "runbook not listed", risk: "low", runbook: "restart-service", services: []string{"web"}},
		{name: "medium risk never", risk: "medium", runbook: "flush-cache", services: []string{"web"}},
		{name: "no service known", risk: "low", runbook: "flush-cache"},
		{name: "manual runs need a human", risk: "low", runbook: "flush-cache", services: []string{"web"}, manual: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &incident.Proposal{RunbookID: tt.runbook, Risk: tt.risk}
			if tt.manual {
				p.RequestedBy = "alice"
			}
			got, ok := AutonomyFor(p, tt.services, rules)
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("AutonomyFor = %q, %v; want %q", got, ok, tt.want)
			}
		})
	}
}

func assertRefusal(t *testing.T, err error, wantType, wantMsg string) {
	t.Helper()
	if wantType == "" {
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		return
	}
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != wantType {
		t.Fatalf("got %v, want a %s refusal", err, wantType)
	}
	if !strings.Contains(appErr.Error(), wantMsg) {
		t.Errorf("refusal %q lacks %q", appErr.Error(), wantMsg)
	}
}
