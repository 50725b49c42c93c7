package slack

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/internal/golden"
)

// TestRenderGolden pins the Block Kit Vigil posts. Run with UPDATE=1 to rewrite
// the golden files after an intended change, and review the diff.
func TestRenderGolden(t *testing.T) {
	at := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	inc := incident.Incident{ID: "incident-7-highlatency-checkout", Title: "HighLatency on checkout", Status: incident.StatusAwaitingApproval,
		Severity: "critical", Services: []string{"checkout"}, DetectedAt: at,
		Alerts: []incident.Alert{{Status: incident.AlertFiring}}}
	alert := incident.Alert{EvidenceID: "E1", Status: incident.AlertFiring, StartsAt: at,
		Labels:      map[string]string{"alertname": "HighLatency", "service": "checkout", "instance": "<!channel> & friends"},
		Annotations: map[string]string{"summary": "p99 latency above 2s on <@U0EVIL>"}}
	proposal := incident.Proposal{ID: "P1", RunbookID: "restart-service", Revision: "a1b2c3", Title: "Restart checkout", Risk: "high",
		Status: incident.ProposalPending, Approvers: []string{"group:oncall"}, Why: "matched alertname=HighLatency",
		PlanHash: "9f86d081884c7d65", Params: []incident.Param{{Name: "service", Value: "checkout"}},
		Steps: []incident.Step{{ID: "restart", Run: incident.StepShell, Command: []string{"systemctl", "restart", "checkout"}}}}
	decided := proposal
	decided.Status, decided.Outcome = incident.ProposalSucceeded, "all 1 steps succeeded"
	decision := incident.Decision{ProposalID: "P1", Decision: incident.Approve, At: at.Add(4 * time.Minute),
		Actor: incident.Actor{User: "alice", DisplayName: "ada", Surface: "slack", Verification: VerifiedBySignature}}
	tests := map[string]bot.Message{
		"summary":          bot.Summary(&inc),
		"evidence":         bot.Evidence(&alert),
		"candidates":       bot.Candidates([]incident.Candidate{{Component: "checkout", Score: 0.82, Reason: "alerting and upstream of nothing", Factors: []incident.Factor{{Name: "anomaly", Weight: 0.6, Value: 0.9, Evidence: []string{"E1"}}}}}),
		"proposal-pending": bot.Proposal(&proposal),
		"proposal-decided": bot.Proposal(&decided, decision),
		"step":             bot.Step(1, 1, incident.Step{ID: "restart", Run: incident.StepShell, Command: []string{"systemctl", "restart", "checkout"}}, incident.StepResult{StepID: "restart", Command: []string{"systemctl", "restart", "checkout"}, Status: incident.StepSucceeded, Duration: 1500 * time.Millisecond, Output: "```done```"}),
		"reply-help":       bot.Help("/vigil ", []bot.HelpEntry{{Usage: "ack [INCIDENT]", Summary: "Take the incident.", Examples: []string{"ack"}}}),
	}
	for name, m := range tests {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(map[string]any{"text": Fallback(m), "blocks": Render(m)}); err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, filepath.Join("testdata", name+".json"), buf.Bytes())
		})
	}
}

// TestCodeBlockFences: backticks in code never make a fence, so the block
// ends where Vigil ends it.
func TestCodeBlockFences(t *testing.T) {
	const z = "\u200b"
	tests := []struct{ code, want string }{
		{code: "done", want: "```done```"},
		{code: "a`b", want: "```a`b```"},
		{code: "```", want: "```" + z + "`" + z + "`" + z + "`" + z + "```"},
		{code: "`````", want: "```" + z + strings.Repeat("`"+z, 5) + "```"}, // found by FuzzRenderMessage
		{code: "x``", want: "```x`" + z + "`" + z + "```"},
	}
	for _, tt := range tests {
		if got := codeBlock(tt.code); got != tt.want {
			t.Errorf("codeBlock(%q) = %q, want %q", tt.code, got, tt.want)
		}
	}
}
