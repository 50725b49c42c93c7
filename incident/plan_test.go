package incident

import (
	"strings"
	"testing"
	"time"
)

func TestPlanText(t *testing.T) {
	base := Proposal{
		RunbookID: "restart", Revision: "abc123", Risk: "medium",
		Params: []Param{{Name: "unit", Value: "nginx.service"}},
		Steps: []Step{
			{ID: "restart", Run: StepShell, Command: []string{"systemctl", "restart", "nginx.service"}, Timeout: time.Minute},
			{ID: "call", Run: StepHTTP, Display: "POST https://x -H 'Authorization: Bearer ${TOKEN}'", Timeout: 30 * time.Second,
				Retries: 2, Backoff: 5 * time.Second, Confirm: true, Idempotent: true, Secrets: map[string]string{"TOKEN": "env:T"}},
			{ID: "settle", Run: StepWait, Display: "wait 10s", Timeout: 10 * time.Second, Idempotent: true},
		},
		Rollback:  []Step{{ID: "first-listed", Run: StepShell, Command: []string{"echo", "1"}}, {ID: "last-listed", Run: StepShell, Command: []string{"echo", "2"}}},
		Approvers: []string{"group:oncall"}, Allowed: []string{"alice", "bob"}, MinApprovals: 1,
	}
	tests := []struct {
		name   string
		mutate func(p *Proposal)
		want   []string
	}{
		{name: "steps, options and rollback in run order", mutate: func(*Proposal) {}, want: []string{
			"Runbook restart (revision abc123), risk medium\n",
			"Parameters: unit=nginx.service\n",
			"Approval: 1 of group:oncall (alice, bob); the requester may not approve their own run\n",
			"Steps:\n  1. restart: systemctl restart nginx.service\n     timeout 1m\n",
			"  2. call: POST https://x -H 'Authorization: Bearer ${TOKEN}'\n     timeout 30s · retries 2 (first after 5s, doubling) · asks for approval again before it runs · idempotent: re-run if a crash interrupts it · secrets: TOKEN\n",
			"  3. settle: wait 10s\nIf a step fails, roll back (in this order):\n  1. last-listed: echo 2\n  2. first-listed: echo 1",
		}},
		{name: "two people, self-approval, abort on expiry", mutate: func(p *Proposal) {
			p.MinApprovals, p.SelfApproval, p.Expires, p.OnExpiry = 2, true, 90*time.Minute, "abort"
		}, want: []string{"Approval: 2 different people of group:oncall (alice, bob); the requester may approve; expires after 1h30m, then is abandoned\n"}},
		{name: "escalation", mutate: func(p *Proposal) {
			p.Expires, p.OnExpiry, p.EscalateTo = 30*time.Minute, "escalate", []string{"group:sre"}
		}, want: []string{"; after 30m escalates to group:sre and waits 30m more, then is abandoned\n"}},
		{name: "autonomy", mutate: func(p *Proposal) { p.Autonomy = "flush-cache-on-catalog" },
			want: []string{"Approval: none needed: runs on autonomy under rule flush-cache-on-catalog\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := base
			tt.mutate(&p)
			got := p.PlanText()
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("plan lacks %q:\n%s", w, got)
				}
			}
		})
	}
}
