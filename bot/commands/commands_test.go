package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/store"
	"github.com/vigilops/vigil/workflows/contract"
)

// fakeVigil stands in for the store and the workflows, recording what commands
// sent. answer, when set, is returned instead of a success.
type fakeVigil struct {
	incidents []incident.Incident
	audit     []audit.Record
	decided   []decided
	acted     []acted
	runs      []string
	answer    error
}

type decided struct {
	incident string
	req      contract.DecideRequest
}

type acted struct {
	incident, act string
	req           contract.ActRequest
}

func (f *fakeVigil) ListIncidents(_ context.Context, flt store.IncidentFilter) ([]incident.Incident, error) {
	var out []incident.Incident
	for _, inc := range f.incidents {
		if flt.Status == "" || inc.Status == flt.Status {
			out = append(out, inc)
		}
	}
	return out, nil
}

func (f *fakeVigil) Incident(_ context.Context, id string) (incident.Incident, error) {
	for _, inc := range f.incidents {
		if inc.ID == id {
			return inc, nil
		}
	}
	return incident.Incident{}, fmt.Errorf("incident %s: %w", id, store.ErrNotFound)
}

func (f *fakeVigil) AuditTrail(context.Context, string) ([]audit.Record, error) {
	return f.audit, nil
}

func (f *fakeVigil) Decide(_ context.Context, id string, req contract.DecideRequest) (contract.Answer, error) {
	f.decided = append(f.decided, decided{id, req})
	if f.answer != nil {
		return contract.Answer{}, f.answer
	}
	return contract.Answer{Message: fmt.Sprintf("%s %s %s.", req.Actor.Name(), map[string]string{"approve": "approved", "reject": "rejected"}[req.Decision], req.ProposalID)}, nil
}

func (f *fakeVigil) Act(_ context.Context, id, act string, req contract.ActRequest) (contract.Answer, error) {
	f.acted = append(f.acted, acted{id, act, req})
	if f.answer != nil {
		return contract.Answer{}, f.answer
	}
	return contract.Answer{Message: act + " done by " + req.Actor.Name()}, nil
}

func (f *fakeVigil) RequestRun(_ context.Context, runbook, service string, actor incident.Actor) (string, error) {
	f.runs = append(f.runs, runbook+"/"+service+"/"+actor.User)
	return "incident-9-manual-" + service, f.answer
}

const thread = "incident-7-highlatency-checkout"

var ada = incident.Actor{User: "U0ADA", DisplayName: "ada", Surface: "slack", Verification: "slack request signature"}

func newBot(f *fakeVigil) *Bot {
	return New(Deps{Incidents: f, Audit: f, Decider: f, Acter: f, Runner: f}, "/vigil ", slog.New(slog.DiscardHandler))
}

func fixtures() *fakeVigil {
	return &fakeVigil{incidents: []incident.Incident{
		{ID: "incident-8-diskfull-db", Title: "DiskFull on db", Status: incident.StatusResolved, Severity: "warning"},
		{ID: thread, Title: "HighLatency on checkout", Status: incident.StatusAwaitingApproval, Severity: "critical", Services: []string{"checkout"},
			Proposals: []incident.Proposal{{ID: "P1", RunbookID: "restart", Title: "Restart checkout", Risk: "high", Status: incident.ProposalPending, Approvers: []string{"group:oncall"}}}},
	}}
}

// TestActs checks what each acting command sends to the workflow: the act, the
// incident (from the thread or named) and the verified actor, whatever the text
// says.
func TestActs(t *testing.T) {
	tests := []struct {
		text, thread string
		wantDecide   *decided
		wantAct      *acted
		wantTitle    string
	}{
		{text: "approve P1", thread: thread, wantDecide: &decided{thread, contract.DecideRequest{ProposalID: "P1", Decision: "approve", Actor: ada}}, wantTitle: "ada approved P1."},
		{text: "APPROVE p1 disk at 97%, go", thread: thread, wantDecide: &decided{thread, contract.DecideRequest{ProposalID: "P1", Decision: "approve", Comment: "disk at 97%, go", Actor: ada}}},
		{text: "approve P2 incident-8-diskfull-db", thread: thread, wantDecide: &decided{"incident-8-diskfull-db", contract.DecideRequest{ProposalID: "P2", Decision: "approve", Actor: ada}}},
		{text: "reject P1 it is the disk", thread: thread, wantDecide: &decided{thread, contract.DecideRequest{ProposalID: "P1", Decision: "reject", Comment: "it is the disk", Actor: ada}}, wantTitle: "ada rejected P1."},
		{text: "ack", thread: thread, wantAct: &acted{thread, contract.ActAck, contract.ActRequest{Actor: ada}}, wantTitle: "ack done by ada"},
		{text: "ack incident-8-diskfull-db", wantAct: &acted{"incident-8-diskfull-db", contract.ActAck, contract.ActRequest{Actor: ada}}},
		{text: "resolve rolled back by hand", thread: thread, wantAct: &acted{thread, contract.ActResolve, contract.ActRequest{Actor: ada, Text: "rolled back by hand"}}},
		{text: "escalate need a DBA", thread: thread, wantAct: &acted{thread, contract.ActEscalate, contract.ActRequest{Actor: ada, Text: "need a DBA"}}},
		{text: "note line one\nline two", thread: thread, wantAct: &acted{thread, contract.ActNote, contract.ActRequest{Actor: ada, Text: "line one\nline two"}}},
		// Text cannot change who acts: "as alice" is a comment, not an identity.
		{text: "approve P1 as alice <@U0ALICE>", thread: thread, wantDecide: &decided{thread, contract.DecideRequest{ProposalID: "P1", Decision: "approve", Comment: "as alice <@U0ALICE>", Actor: ada}}},
		// Mistakes reach nothing.
		{text: "ack", wantTitle: "Which incident?"},
		{text: "approve", thread: thread, wantTitle: "Usage: /vigil approve PROPOSAL [INCIDENT] [COMMENT]"},
		{text: "resolve", thread: thread, wantTitle: "Usage: /vigil resolve [INCIDENT] REASON"},
		{text: "approve all the things", thread: thread, wantTitle: "Usage: /vigil approve"},
		{text: "deploy now", thread: thread, wantTitle: `I do not know "deploy"`},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			f := fixtures()
			m := newBot(f).Handle(context.Background(), Call{Text: tt.text, Actor: ada, IncidentID: tt.thread})
			var gotDecide *decided
			if len(f.decided) == 1 {
				gotDecide = &f.decided[0]
			}
			var gotAct *acted
			if len(f.acted) == 1 {
				gotAct = &f.acted[0]
			}
			if len(f.decided)+len(f.acted) > 1 || !reflect.DeepEqual(gotDecide, tt.wantDecide) || !reflect.DeepEqual(gotAct, tt.wantAct) {
				t.Errorf("sent decisions %+v acts %+v\nwant decision %+v act %+v", f.decided, f.acted, tt.wantDecide, tt.wantAct)
			}
			if !strings.HasPrefix(m.Title, tt.wantTitle) {
				t.Errorf("reply title %q, want prefix %q (reply %+v)", m.Title, tt.wantTitle, m)
			}
		})
	}
}

// TestRefusals checks that what the workflow refused, or could not find, is
// told to the person as it is, and unexpected failures are not leaked.
func TestRefusals(t *testing.T) {
	tests := []struct {
		answer    error
		wantTitle string
		wantText  string
	}{
		{answer: &contract.Refusal{Kind: contract.RefusedForbidden, Message: "U0ADA may not decide P1 (restart): its approvers are group:oncall"}, wantTitle: "Refused", wantText: "may not decide P1"},
		{answer: fmt.Errorf("decide on x: %w", contract.ErrIncidentClosed), wantTitle: "Refused", wantText: "incident is closed"},
		{answer: errors.New("connection refused to 10.0.0.1:7233"), wantTitle: "Something went wrong", wantText: "see its log"},
	}
	for _, tt := range tests {
		t.Run(tt.wantTitle, func(t *testing.T) {
			f := fixtures()
			f.answer = tt.answer
			m := newBot(f).Handle(context.Background(), Call{Text: "approve P1", Actor: ada, IncidentID: thread})
			if m.Title != tt.wantTitle || !strings.Contains(m.Text, tt.wantText) || strings.Contains(m.Text, "10.0.0.1") {
				t.Errorf("reply %+v, want %q containing %q", m, tt.wantTitle, tt.wantText)
			}
		})
	}
	m := newBot(fixtures()).Handle(context.Background(), Call{Text: "show incident-99-nope", Actor: ada})
	if m.Title != "Not found" || !strings.Contains(m.Text, "incident-99-nope") {
		t.Errorf("show unknown incident: %+v", m)
	}
}

func TestPress(t *testing.T) {
	tests := []struct {
		action string
		want   *contract.DecideRequest
	}{
		{"approve:P1", &contract.DecideRequest{ProposalID: "P1", Decision: "approve", Actor: ada}},
		{"reject:P1:3f2a9c", &contract.DecideRequest{ProposalID: "P1", Decision: "reject", PlanHash: "3f2a9c", Actor: ada}},
		{"delete:P1", nil},
		{"approve:", nil},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			f := fixtures()
			m := newBot(f).Press(context.Background(), thread, tt.action, ada)
			switch {
			case tt.want == nil && (len(f.decided) > 0 || m.Title != "Unknown button"):
				t.Errorf("unknown button sent %+v, replied %+v", f.decided, m)
			case tt.want != nil && (len(f.decided) != 1 || !reflect.DeepEqual(f.decided[0], decided{thread, *tt.want})):
				t.Errorf("sent %+v, want %+v", f.decided, tt.want)
			}
		})
	}
}

func TestReads(t *testing.T) {
	f := fixtures()
	f.audit = []audit.Record{
		{Seq: 1, At: "2026-11-24T03:00:00Z", Actor: "system:ingest", Action: "incident.opened", Details: []byte(`{"title":"HighLatency on checkout"}`)},
		{Seq: 2, At: "2026-11-24T03:04:05.5Z", Actor: "user:U0ADA", Action: "decision.approve", Details: []byte(`{"proposal":"P1","runbook":"restart","comment":"go","plan":["a","b"]}`)},
	}
	b := newBot(f)
	tests := []struct {
		text, thread string
		want         []string
		notWant      []string
	}{
		{text: "help", want: []string{"/vigil approve PROPOSAL [INCIDENT] [COMMENT]", "e.g. /vigil run collect-diagnostics for checkout", "/vigil timeline [INCIDENT]"}},
		{text: "", want: []string{"Vigil commands"}},
		{text: "help note", want: []string{"/vigil note [INCIDENT] TEXT"}, notWant: []string{"approve"}},
		{text: "list", want: []string{"Unresolved incidents (1)", thread, "awaiting decision on P1"}, notWant: []string{"incident-8"}},
		{text: "list all", want: []string{"Incidents (2)", "incident-8-diskfull-db"}},
		{text: "list resolved", want: []string{"Incidents: resolved (1)"}, notWant: []string{thread}},
		{text: "show", thread: thread, want: []string{"[AWAITING APPROVAL] HighLatency on checkout", "P1 Restart checkout (restart, risk high): pending; approvers group:oncall"}},
		{text: "timeline", thread: thread, want: []string{"Timeline of " + thread, "11-24 03:00:00  incident.opened", "title=HighLatency on checkout", "decision.approve       user:U0ADA  proposal=P1 runbook=restart comment=go"}},
		{text: "run collect-diagnostics for checkout", want: []string{"Requested collect-diagnostics for checkout", "incident-9-manual-checkout holds the proposal"}},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			m := b.Handle(context.Background(), Call{Text: tt.text, Actor: ada, IncidentID: tt.thread})
			all := m.Title + "\n" + m.Text + "\n" + m.Code
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("reply lacks %q:\n%s", w, all)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(all, w) {
					t.Errorf("reply has %q:\n%s", w, all)
				}
			}
		})
	}
	if len(f.runs) != 1 || f.runs[0] != "collect-diagnostics/checkout/U0ADA" {
		t.Errorf("run requests = %v", f.runs)
	}
	none := New(Deps{Incidents: f}, "/vigil ", slog.New(slog.DiscardHandler))
	if m := none.Handle(context.Background(), Call{Text: "run x for y", Actor: ada}); m.Title != "Manual runs are not available" {
		t.Errorf("run without a runner: %+v", m)
	}
}

// TestHelpCoversEveryCommand keeps the help honest: every command has a usage, a
// summary and examples that its own parser accepts.
func TestHelpCoversEveryCommand(t *testing.T) {
	for _, c := range newBot(fixtures()).cmds {
		if c.Usage == "" || c.Summary == "" || len(c.Examples) == 0 {
			t.Errorf("%s: incomplete help", c.Name)
		}
		for _, ex := range c.Examples {
			if !c.pattern.MatchString(ex) {
				t.Errorf("%s: example %q does not parse", c.Name, ex)
			}
		}
	}
}

func TestNoteOnNextLine(t *testing.T) {
	f := fixtures()
	newBot(f).Handle(context.Background(), Call{Text: "note\nfirst line", Actor: ada, IncidentID: thread})
	if len(f.acted) != 1 || f.acted[0].req.Text != "first line" {
		t.Errorf("acted %+v", f.acted)
	}
}
