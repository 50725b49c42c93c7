package store

import (
	"context"
	"strings"
	"testing"

	"github.com/vigilops/vigil/incident"
)

func TestRunbookOutcomes(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		s := openTest(t)
		ctx := context.Background()
		record := []Outcome{
			{IncidentID: "i1", RunbookID: "restart", Service: "checkout", Outcome: incident.OutcomeSucceeded},
			{IncidentID: "i2", RunbookID: "restart", Service: "checkout", Outcome: incident.OutcomeFailed},
			{IncidentID: "i3", RunbookID: "restart", Service: "checkout", Outcome: incident.OutcomeRejected},
			// Rejected first, then run and succeeded in the same incident: counts once,
			// by its last outcome.
			{IncidentID: "i4", RunbookID: "restart", Service: "checkout", Outcome: incident.OutcomeRejected},
			{IncidentID: "i4", RunbookID: "restart", Service: "checkout", Outcome: incident.OutcomeSucceeded},
			// A retried activity records the same outcome again.
			{IncidentID: "i1", RunbookID: "restart", Service: "checkout", Outcome: incident.OutcomeSucceeded},
			{IncidentID: "i5", RunbookID: "restart", Service: "payments", Outcome: incident.OutcomeFailed},
			{IncidentID: "i1", RunbookID: "flush-cache", Service: "checkout", Outcome: incident.OutcomeSucceeded},
		}
		for _, o := range record {
			if err := s.RecordOutcome(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			runbook, service string
			want             OutcomeStats
		}{
			{"restart", "checkout", OutcomeStats{Succeeded: 2, Failed: 1, Rejected: 1}},
			{"restart", "payments", OutcomeStats{Failed: 1}},
			{"restart", "", OutcomeStats{Succeeded: 2, Failed: 2, Rejected: 1}},
			{"flush-cache", "checkout", OutcomeStats{Succeeded: 1}},
			{"never-ran", "checkout", OutcomeStats{}},
		}
		for _, tt := range tests {
			got, err := s.OutcomeStats(ctx, tt.runbook, tt.service)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("OutcomeStats(%s, %q) = %+v, want %+v", tt.runbook, tt.service, got, tt.want)
			}
		}

		for _, bad := range []Outcome{
			{IncidentID: "i9", RunbookID: "restart", Outcome: "aborted"},
			{RunbookID: "restart", Outcome: incident.OutcomeFailed},
		} {
			if err := s.RecordOutcome(ctx, bad); err == nil || !strings.Contains(err.Error(), "record outcome") {
				t.Errorf("RecordOutcome(%+v) = %v, want a refusal", bad, err)
			}
		}
	})
}
