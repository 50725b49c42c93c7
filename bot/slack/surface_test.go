package slack

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/store"
)

func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

var routes = Routes{Default: "C0INCIDENTS", Rules: []Route{
	{Channel: "C0SEV1", Severities: []string{"critical"}},
	{Channel: "C0PAYMENTS", Services: []string{"checkout", "payments"}},
}}

func newSurface(t *testing.T, f *fakeSlack, st *store.Store) *Surface {
	return &Surface{API: f.client(), Store: st, Routes: routes, Logger: slog.New(slog.DiscardHandler), Backoff: 10 * time.Millisecond}
}

func summary(severity string, services ...string) bot.Message {
	return bot.Summary(&incident.Incident{ID: "incident-1-x", Title: "HighLatency", Status: incident.StatusOpen, Severity: severity, Services: services})
}

func TestRouting(t *testing.T) {
	tests := []struct {
		m    bot.Message
		want string
	}{
		{summary("critical", "checkout"), "C0SEV1"},
		{summary("warning", "payments", "db"), "C0PAYMENTS"},
		{summary("warning", "db"), "C0INCIDENTS"},
		{summary(""), "C0INCIDENTS"},
	}
	for _, tt := range tests {
		f := newFakeSlack(t)
		s := newSurface(t, f, openStore(t))
		if err := s.Post(context.Background(), "incident-1-x", "summary", tt.m); err != nil {
			t.Fatal(err)
		}
		if ms, _ := f.snapshot(); len(ms) != 1 || ms[0].Channel != tt.want || ms[0].ThreadTS != "" {
			t.Errorf("%v: posted %+v, want one root in %s", tt.m.Fields, ms, tt.want)
		}
	}
}

// TestThread checks the upsert contract as a Slack user sees it: one root, replies
// in its thread, and reposts (including retries) edit instead of repeating.
func TestThread(t *testing.T) {
	f := newFakeSlack(t)
	st := openStore(t)
	s := newSurface(t, f, st)
	ctx := context.Background()
	p := incident.Proposal{ID: "P1", RunbookID: "restart", Title: "Restart", Status: incident.ProposalPending}
	steps := []struct {
		key string
		m   bot.Message
	}{
		{"summary", summary("warning", "db")},
		{"proposal-P1", bot.Proposal(&p)},
		{"proposal-P1", bot.Proposal(&p)}, // a retried activity
		{"summary", summary("critical", "db")},
	}
	for _, step := range steps {
		if err := s.Post(ctx, "incident-1-x", step.key, step.m); err != nil {
			t.Fatalf("post %s: %v", step.key, err)
		}
	}
	// The decision arrives: the proposal message loses its buttons.
	p.Status = incident.ProposalApproved
	d := incident.Decision{ProposalID: "P1", Decision: incident.Approve, At: time.Date(2026, 11, 24, 3, 4, 5, 0, time.UTC),
		Actor: incident.Actor{User: "alice", DisplayName: "ada", Surface: "slack", Verification: VerifiedBySignature}}
	if err := s.Post(ctx, "incident-1-x", "proposal-P1", bot.Proposal(&p, d)); err != nil {
		t.Fatal(err)
	}
	ms, calls := f.snapshot()
	if len(ms) != 2 || count(calls, "chat.postMessage") != 2 {
		t.Fatalf("messages %+v after calls %v, want a root and one reply", ms, calls)
	}
	root, reply := ms[0], ms[1]
	if root.Channel != "C0INCIDENTS" || reply.Channel != root.Channel || reply.ThreadTS != root.TS {
		t.Errorf("reply %+v is not in the thread of root %+v", reply, root)
	}
	if root.Edits != 1 || !strings.Contains(string(root.Blocks), "critical") {
		t.Errorf("root edits %d, blocks %s: want the edited summary", root.Edits, root.Blocks)
	}
	if reply.Edits != 2 || strings.Contains(string(reply.Blocks), `"type":"actions"`) ||
		!strings.Contains(string(reply.Blocks), "*Approved by*\\nada (alice) at 2026-11-24 03:04:05 UTC via slack") {
		t.Errorf("decided proposal (%d edits) still has buttons or lacks who decided: %s", reply.Edits, reply.Blocks)
	}
	if reply.Metadata.EventType != "vigil_message" || reply.Metadata.EventPayload["key"] != "proposal-P1" {
		t.Errorf("reply metadata %+v", reply.Metadata)
	}
	ref, err := st.SlackMessageAt(ctx, reply.Channel, reply.TS)
	if err != nil || ref.IncidentID != "incident-1-x" || ref.Key != "proposal-P1" {
		t.Errorf("stored ref %+v, %v", ref, err)
	}
}

// TestResilience checks failures a Slack user must not notice: no duplicates, no
// lost edits, and a misconfigured channel does not hold up the incident.
func TestResilience(t *testing.T) {
	ctx := context.Background()
	note := bot.Status("Escalated", "A human needs to look.")
	tests := []struct {
		name     string
		faults   map[string][]fault
		attempts int // Post calls, as Temporal would retry the activity
		wantErrs int // of those, how many fail
		wantMsgs int // thread messages in Slack
		wantText string
		minWait  time.Duration
	}{
		{name: "rate limited: waits Retry-After, then posts once", faults: map[string][]fault{"chat.postMessage": {{status: 429, retryAfter: "1"}}},
			attempts: 1, wantMsgs: 2, wantText: "Escalated", minWait: time.Second},
		{name: "answer lost after posting: the retry finds it by metadata and edits", faults: map[string][]fault{"chat.postMessage": {{status: 502, land: true}}},
			attempts: 2, wantErrs: 1, wantMsgs: 2, wantText: "Escalated"},
		{name: "server errors on edit are retried", faults: map[string][]fault{"chat.update": {{status: 500}, {status: 503}}},
			attempts: 2, wantMsgs: 2, wantText: "Escalated"}, // a post, then an edit
		{name: "a channel Vigil is not in: dropped, logged, not retried forever", faults: map[string][]fault{"chat.postMessage": {{slackError: "not_in_channel"}}},
			attempts: 1, wantMsgs: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSlack(t)
			s := newSurface(t, f, openStore(t))
			if err := s.Post(ctx, "incident-1-x", "summary", summary("warning")); err != nil {
				t.Fatal(err)
			}
			for m, fs := range tt.faults {
				f.fail(m, fs...)
			}
			start, errs := time.Now(), 0
			for range tt.attempts {
				if err := s.Post(ctx, "incident-1-x", "note-1", note); err != nil {
					errs++
				}
			}
			ms, calls := f.snapshot()
			if errs != tt.wantErrs || len(ms) != tt.wantMsgs || time.Since(start) < tt.minWait {
				t.Errorf("%d errors, %d messages after %s (calls %v); want %d errors, %d messages, at least %s",
					errs, len(ms), time.Since(start), calls, tt.wantErrs, tt.wantMsgs, tt.minWait)
			}
			if tt.wantText != "" && !strings.Contains(ms[len(ms)-1].Text, tt.wantText) {
				t.Errorf("last message %+v lacks %q", ms[len(ms)-1], tt.wantText)
			}
		})
	}
}

func TestPlaceholderRoot(t *testing.T) {
	f := newFakeSlack(t)
	s := newSurface(t, f, openStore(t))
	ctx := context.Background()
	// Slack was configured while the incident was open: its first Slack post is
	// not the summary.
	if err := s.Post(ctx, "incident-1-x", "note-3", bot.Status("Resolved", "")); err != nil {
		t.Fatal(err)
	}
	if err := s.Post(ctx, "incident-1-x", "summary", summary("warning")); err != nil {
		t.Fatal(err)
	}
	ms, _ := f.snapshot()
	if len(ms) != 2 || ms[1].ThreadTS != ms[0].TS || !strings.Contains(ms[0].Text, "HighLatency") || ms[0].Edits != 1 {
		t.Errorf("messages %+v: want a root (edited into the summary) and a reply", ms)
	}
}
