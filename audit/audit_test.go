package audit

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/vigilops/vigil/incident"
)

// TestRoundTrip: every kind of details survives the trail (Fields, stored as
// JSON, Decode) with its action and every field, including the part of the
// action that is not in the JSON.
func TestRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	alice := incident.Actor{User: "alice", Surface: "slack", Verification: "signed request"}
	tests := []Details{
		&Opened{Title: "DiskFull db", Group: map[string]string{"service": "db"}, Alerts: 2},
		&Alert{Status: incident.AlertResolved, Evidence: "E1", Fingerprint: "fp", Labels: map[string]string{"alertname": "DiskFull"}},
		&Decision{Decision: incident.Reject, Proposal: "P1", Runbook: "restart", Plan: []string{"1. restart"}, Actor: alice, Comment: "not now", Approvals: 1, MinApprovals: 2},
		&Decision{Decision: "autonomy", Proposal: "P2", Autonomy: "cache-flush"},
		&Act{Act: "snoozed", Actor: alice, Until: &at, Duration: "30m0s"},
		&Step{Rollback: true, Run: "incident-1-run-1", Step: "undo", Status: "succeeded", ExitCode: 0, DurationMS: 1200, Attempt: 1},
		&Gate{Decision: incident.Approve, Run: "incident-1-run-1", Step: "apply", By: []incident.Actor{alice}},
		&Reopened{},
		&Postmortem{IssueURL: "https://github.com/o/r/issues/7", Signed: true, Checkpoint: 3},
	}
	for _, want := range tests {
		t.Run(want.Action(), func(t *testing.T) {
			fields, err := Fields(want)
			if err != nil {
				t.Fatal(err)
			}
			stored, err := json.Marshal(fields)
			if err != nil {
				t.Fatal(err)
			}
			got, ok, err := Decode(want.Action(), stored)
			if !ok || err != nil {
				t.Fatalf("Decode(%s): ok %v, err %v", want.Action(), ok, err)
			}
			if got.Action() != want.Action() || !reflect.DeepEqual(got, want) {
				t.Errorf("round trip of %s:\n got %#v\nwant %#v", want.Action(), got, want)
			}
		})
	}
}

func TestDecodeUnknownAndMalformed(t *testing.T) {
	if d, ok, err := Decode("cause.confirmed", []byte(`{"component":"db"}`)); ok || err != nil || d != nil {
		t.Errorf("an action this version does not write: %v %v %v, want not ok and no error", d, ok, err)
	}
	if _, ok, err := Decode(IncidentOpened, []byte(`{"alerts":"two"}`)); !ok || err == nil {
		t.Errorf("details that do not fit their action: ok %v err %v, want an error", ok, err)
	}
	if d, ok, err := Decode(IncidentReopened, nil); !ok || err != nil || d.Action() != IncidentReopened {
		t.Errorf("empty details: %v %v %v", d, ok, err)
	}
}

// TestEveryActionDecodes: each action constant has a decoder whose details
// name that action, so review can read every record the workflows write.
func TestEveryActionDecodes(t *testing.T) {
	for action, mk := range decoders {
		if got := mk().Action(); got != action {
			t.Errorf("decoder of %s makes details of %s", action, got)
		}
	}
}
