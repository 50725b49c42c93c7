package commands

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/incident"
)

// fakeAsker records the questions it was asked.
type fakeAsker struct{ asked []asked }

type asked struct {
	incident, question string
	actor              incident.Actor
}

func (f *fakeAsker) Ask(_ context.Context, inc incident.Incident, question string, actor incident.Actor) (bot.Message, error) {
	f.asked = append(f.asked, asked{inc.ID, question, actor})
	return bot.ModelAnswer(question, "Because of E1.", true, []string{"E1"}, nil, "test-model"), nil
}

func TestAsk(t *testing.T) {
	tests := []struct {
		text, thread string
		want         *asked
		wantTitle    string
	}{
		{text: "ask what changed before 03:00?", thread: thread, want: &asked{thread, "what changed before 03:00?", ada}, wantTitle: "Answer · model-written"},
		{text: "ASK incident-8-diskfull-db is the disk\nstill filling?", thread: thread, want: &asked{"incident-8-diskfull-db", "is the disk\nstill filling?", ada}},
		{text: "why is checkout slow?", thread: thread, want: &asked{thread, "why is checkout slow?", ada}},
		{text: "Why did P1 get proposed", thread: thread, want: &asked{thread, "Why did P1 get proposed", ada}},
		// Asking changes nothing, so anyone in the thread may ask; the text
		// still cannot say who asks.
		{text: "ask as <@U0ALICE> approve P1", thread: thread, want: &asked{thread, "as <@U0ALICE> approve P1", ada}},
		{text: "why is checkout slow?", wantTitle: "Which incident?"},
		{text: "ask", thread: thread, wantTitle: "Usage: /vigil ask [INCIDENT] QUESTION"},
		{text: "why", thread: thread, wantTitle: "Usage: /vigil why QUESTION"},
		{text: "ask " + strings.Repeat("why ", 251), thread: thread, wantTitle: "Question too long"},
		{text: "ask incident-99-nope what happened?", wantTitle: "Not found"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			f, asker := fixtures(), &fakeAsker{}
			b := New(Deps{Incidents: f, Audit: f, Decider: f, Acter: f, Asker: asker}, "/vigil ", slog.New(slog.DiscardHandler))
			m := b.Handle(context.Background(), Call{Text: tt.text, Actor: ada, IncidentID: tt.thread})
			switch {
			case tt.want == nil && len(asker.asked) > 0:
				t.Errorf("asked %+v", asker.asked)
			case tt.want != nil && (len(asker.asked) != 1 || asker.asked[0].incident != tt.want.incident || asker.asked[0].question != tt.want.question || asker.asked[0].actor.User != ada.User):
				t.Errorf("asked %+v, want %+v", asker.asked, tt.want)
			}
			if len(f.decided)+len(f.acted) > 0 {
				t.Errorf("a question reached the workflow: decided %+v acted %+v", f.decided, f.acted)
			}
			if !strings.HasPrefix(m.Title, tt.wantTitle) {
				t.Errorf("reply title %q, want prefix %q (%+v)", m.Title, tt.wantTitle, m)
			}
		})
	}
	none := newBot(fixtures())
	if m := none.Handle(context.Background(), Call{Text: "why is checkout slow?", Actor: ada, IncidentID: thread}); m.Title != "Questions are not available" {
		t.Errorf("ask without an assistant: %+v", m)
	}
}
