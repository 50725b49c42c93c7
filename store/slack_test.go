package store

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

// TestSlackMessages follows one message through a post whose answer was lost:
// started (no ts), started again (first record kept), then finished.
func TestSlackMessages(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		s := openTest(t)
		ctx := context.Background()
		if _, err := s.SlackMessage(ctx, "incident-1", "summary"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown message: %v", err)
		}
		m := SlackMessage{IncidentID: "incident-1", Key: "proposal-P1", Channel: "C1", ThreadTS: "1.000001", StartedAt: t0}
		if err := s.StartSlackPost(ctx, m); err != nil {
			t.Fatal(err)
		}
		again := m
		again.Channel, again.StartedAt = "C2", t0.Add(1)
		if err := s.StartSlackPost(ctx, again); err != nil {
			t.Fatal(err)
		}
		got, err := s.SlackMessage(ctx, "incident-1", "proposal-P1")
		if err != nil || !reflect.DeepEqual(got, m) {
			t.Errorf("started message = %+v, %v; want the first record %+v", got, err, m)
		}
		if _, err := s.SlackMessageAt(ctx, "C1", ""); !errors.Is(err, ErrNotFound) {
			t.Errorf("lookup by empty ts: %v", err)
		}
		if err := s.FinishSlackPost(ctx, "incident-1", "proposal-P1", "1.000002", t0); err != nil {
			t.Fatal(err)
		}
		m.TS = "1.000002"
		if got, err := s.SlackMessageAt(ctx, "C1", "1.000002"); err != nil || !reflect.DeepEqual(got, m) {
			t.Errorf("by channel and ts = %+v, %v", got, err)
		}
		if err := s.FinishSlackPost(ctx, "incident-1", "never-started", "1.3", t0); !errors.Is(err, ErrNotFound) {
			t.Errorf("finishing an unstarted post: %v", err)
		}
	})
}
