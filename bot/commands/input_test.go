package commands

import (
	"context"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/workflows/contract"
)

// inputs records input answers for the input command's tests.
type inputs struct {
	got []contract.InputRequest
	ids []string
}

func (i *inputs) Input(_ context.Context, id string, req contract.InputRequest) (contract.Answer, error) {
	i.got, i.ids = append(i.got, req), append(i.ids, id)
	return contract.Answer{Message: "Thanks, " + req.Actor.Name() + "."}, nil
}

func TestInputCommand(t *testing.T) {
	alice := incident.Actor{User: "U1", DisplayName: "alice", Surface: "slack", Verification: "slack request signature"}
	tests := []struct {
		text    string
		want    map[string]string
		wantID  string
		wantErr string
	}{
		{text: "input P2 replicas=6", want: map[string]string{"replicas": "6"}, wantID: "incident-3-x"},
		{text: `input incident-7-y P3 target=db-2 reason="replica lag, \"urgent\""`, want: map[string]string{"target": "db-2", "reason": `replica lag, "urgent"`}, wantID: "incident-7-y"},
		{text: `input P3 reason="unclosed`, wantErr: "no closing quote"},
		{text: "input P3 replicas", wantErr: `"replicas" is not NAME=VALUE`},
		{text: "input P3 replicas=", wantErr: "replicas has no value"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			in := &inputs{}
			b := New(Deps{Incidents: &fakeVigil{}, Inputs: in}, "/vigil ", slog.New(slog.DiscardHandler))
			m := b.Handle(context.Background(), Call{Text: tt.text, Actor: alice, IncidentID: "incident-3-x"})
			if tt.wantErr != "" {
				if len(in.got) != 0 || !strings.Contains(m.Title+m.Text, tt.wantErr) {
					t.Errorf("reply %q / %q, sent %v; want %q and nothing sent", m.Title, m.Text, in.got, tt.wantErr)
				}
				return
			}
			if len(in.got) != 1 || !reflect.DeepEqual(in.got[0].Answers, tt.want) || in.ids[0] != tt.wantID || !reflect.DeepEqual(in.got[0].Actor, alice) {
				t.Fatalf("sent %+v to %v", in.got, in.ids)
			}
			if m.Title != "Thanks, alice." {
				t.Errorf("reply %q", m.Title)
			}
		})
	}
}

func TestPressRoutesEveryButton(t *testing.T) {
	bob := incident.Actor{User: "U2", DisplayName: "bob", Surface: "slack", Verification: "slack request signature"}
	f := &fakeVigil{}
	b := New(Deps{Incidents: f, Decider: f, Acter: f}, "/vigil ", slog.New(slog.DiscardHandler))
	ctx := context.Background()
	b.Press(ctx, "incident-3-x", "approve:P1:h1", bob)
	b.Press(ctx, "incident-3-x", "reject:incident-3-x-run-1/promote", bob)
	b.Press(ctx, "incident-3-x", "markdone:incident-3-x-run-1/migrate", bob)
	m := b.Press(ctx, "incident-3-x", "format:disk", bob)
	want := []decided{
		{"incident-3-x", contract.DecideRequest{ProposalID: "P1", PlanHash: "h1", Decision: "approve", Actor: bob}},
		{"incident-3-x", contract.DecideRequest{RunID: "incident-3-x-run-1", StepID: "promote", Decision: "reject", Actor: bob}},
	}
	if !reflect.DeepEqual(f.decided, want) {
		t.Errorf("decisions %+v", f.decided)
	}
	if len(f.acted) != 1 || f.acted[0].act != contract.ActStep || f.acted[0].req.Choice != contract.ChoiceMarkDone || f.acted[0].req.StepID != "migrate" {
		t.Errorf("acts %+v", f.acted)
	}
	if m.Title != "Unknown button" || len(f.decided)+len(f.acted) != 3 {
		t.Errorf("an unknown button did something: %q", m.Title)
	}
}
