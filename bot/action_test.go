package bot

import (
	"testing"

	"github.com/vigilops/vigil/incident"
)

func TestParseAction(t *testing.T) {
	tests := []struct {
		id      string
		want    Press
		wantErr bool
	}{
		{id: "approve:P1", want: Press{Verb: "approve", ProposalID: "P1"}},
		{id: "reject:P2:abc123", want: Press{Verb: "reject", ProposalID: "P2", PlanHash: "abc123"}},
		{id: "approve:incident-1-x-run-1/promote", want: Press{Verb: "approve", RunID: "incident-1-x-run-1", StepID: "promote"}},
		{id: "rerun:incident-1-x-run-2/migrate", want: Press{Verb: "rerun", RunID: "incident-1-x-run-2", StepID: "migrate"}},
		{id: "markdone:r/s", want: Press{Verb: "markdone", RunID: "r", StepID: "s"}},
		{id: "rerun:P1", wantErr: true},
		{id: "delete:P1", wantErr: true},
		{id: "approve:", wantErr: true},
		{id: "approve:/step", wantErr: true},
		{id: "approve::", wantErr: true}, // found by FuzzParseAction
		{id: "reject::abc123", wantErr: true},
		{id: "approve:P1:", wantErr: true},
		{id: "nonsense", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseAction(tt.id)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseAction(%q) = %+v, %v; want %+v (error %v)", tt.id, got, err, tt.want, tt.wantErr)
		}
	}
}

// The ids every formatter posts must parse back to what they were made for.
func TestPostedActionsParse(t *testing.T) {
	p := &incident.Proposal{ID: "P3", RunbookID: "rb", Status: incident.ProposalPending, PlanHash: "h"}
	step := incident.Step{ID: "promote", Run: incident.StepShell}
	var ids []string
	for _, m := range []Message{
		Proposal(p),
		Gate(p, 1, 2, step, "incident-1-x-run-1/promote", nil, ""),
		Interrupted(step, incident.StepResult{}, "incident-1-x-run-1/promote", ""),
	} {
		for _, a := range m.Actions {
			ids = append(ids, a.ID)
		}
	}
	if len(ids) != 6 {
		t.Fatalf("posted actions %v", ids)
	}
	for _, id := range ids {
		if _, err := ParseAction(id); err != nil {
			t.Errorf("posted action %q does not parse: %v", id, err)
		}
	}
}
