package console

import (
	"context"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/vigilops/vigil/incident"
)

type fakeRunner struct{ got []string }

func (f *fakeRunner) RequestRun(_ context.Context, runbook, service string, actor incident.Actor) (string, error) {
	f.got = append(f.got, runbook+"/"+service+"/"+actor.User)
	return "incident-9-collect-diagnostics-db", nil
}

func TestActsInputsAndRunsAPI(t *testing.T) {
	tests := []struct {
		name       string
		path, body string
		wantStatus int
		wantBody   string
		check      func(t *testing.T, d *fakeDecider, r *fakeRunner)
	}{
		{name: "ack", path: "/api/v1/incidents/" + incID + "/acts", body: `{"act":"ack","user":"alice"}`, wantStatus: 200, wantBody: "ack by alice",
			check: func(t *testing.T, d *fakeDecider, _ *fakeRunner) {
				if !reflect.DeepEqual(d.acts, []string{"ack:alice:"}) {
					t.Errorf("acts %v", d.acts)
				}
			}},
		{name: "unknown act", path: "/api/v1/incidents/" + incID + "/acts", body: `{"act":"delete"}`, wantStatus: 422, wantBody: "act: must be one of ack, assign"},
		{name: "bad duration", path: "/api/v1/incidents/" + incID + "/acts", body: `{"act":"snooze","duration":"soon"}`, wantStatus: 422, wantBody: `duration: \"soon\" is not a duration`},
		{name: "unknown incident", path: "/api/v1/incidents/nope/acts", body: `{"act":"ack"}`, wantStatus: 404},
		{name: "inputs", path: "/api/v1/incidents/" + incID + "/inputs", body: `{"proposal_id":"P2","answers":{"replicas":"6"}}`, wantStatus: 200, wantBody: "thanks local-operator",
			check: func(t *testing.T, d *fakeDecider, _ *fakeRunner) {
				if len(d.inputs) != 1 || d.inputs[0].Answers["replicas"] != "6" || d.inputs[0].ProposalID != "P2" {
					t.Errorf("inputs %+v", d.inputs)
				}
			}},
		{name: "inputs without answers", path: "/api/v1/incidents/" + incID + "/inputs", body: `{"proposal_id":"P2"}`, wantStatus: 422, wantBody: "answers: give at least one"},
		{name: "manual run", path: "/api/v1/runs", body: `{"runbook":"collect-diagnostics","service":"db","user":"alice"}`, wantStatus: 202, wantBody: "incident-9-collect-diagnostics-db",
			check: func(t *testing.T, _ *fakeDecider, r *fakeRunner) {
				if !reflect.DeepEqual(r.got, []string{"collect-diagnostics/db/alice"}) {
					t.Errorf("runs %v", r.got)
				}
			}},
		{name: "manual run without service", path: "/api/v1/runs", body: `{"runbook":"collect-diagnostics"}`, wantStatus: 422, wantBody: "service: is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runner := &fakeRunner{}
			srv, dec, _, _ := setupConsoleWith(t, nil, runner)
			status, body := do(t, "POST", srv.URL+tt.path, tt.body)
			if status != tt.wantStatus || !strings.Contains(body, tt.wantBody) {
				t.Fatalf("got %d %s, want %d %q", status, body, tt.wantStatus, tt.wantBody)
			}
			if tt.check != nil {
				tt.check(t, dec, runner)
			}
		})
	}
}

func TestPageButtonsReachRunsAndActs(t *testing.T) {
	srv, dec := setup(t)
	form := func(v url.Values) string { return v.Encode() }
	ct := []string{"Content-Type", "application/x-www-form-urlencoded"}
	if status, loc := do(t, "POST", srv.URL+"/incidents/"+incID+"/decide", form(url.Values{"action": {"approve:" + incID + "-run-1/promote"}}), ct...); status != 303 || !strings.Contains(loc, "msg=") {
		t.Fatalf("gate button: %d %s", status, loc)
	}
	if len(dec.got) != 1 || dec.got[0].RunID != incID+"-run-1" || dec.got[0].StepID != "promote" || dec.got[0].Decision != "approve" {
		t.Errorf("gate decision %+v", dec.got)
	}
	if status, _ := do(t, "POST", srv.URL+"/incidents/"+incID+"/decide", form(url.Values{"action": {"rerun:" + incID + "-run-1/migrate"}}), ct...); status != 303 {
		t.Fatal(status)
	}
	if status, _ := do(t, "POST", srv.URL+"/incidents/"+incID+"/act", form(url.Values{"act": {"note"}, "text": {" looked at the graphs "}}), ct...); status != 303 {
		t.Fatal(status)
	}
	if want := []string{"step:local-operator:rerun", "note:local-operator:looked at the graphs"}; !reflect.DeepEqual(dec.acts, want) {
		t.Errorf("acts %v, want %v", dec.acts, want)
	}
	if status, _ := do(t, "POST", srv.URL+"/incidents/"+incID+"/input", form(url.Values{"proposal": {"P2"}, "answer_replicas": {"6"}, "answer_empty": {""}}), ct...); status != 303 {
		t.Fatal(status)
	}
	if len(dec.inputs) != 1 || !reflect.DeepEqual(dec.inputs[0].Answers, map[string]string{"replicas": "6"}) {
		t.Errorf("inputs %+v", dec.inputs)
	}
	if status, loc := do(t, "POST", srv.URL+"/incidents/"+incID+"/decide", form(url.Values{"action": {"format:disk"}}), ct...); status != 303 || !strings.Contains(loc, "err=") || len(dec.got) != 1 {
		t.Errorf("unknown button: %d %s, decisions %v", status, loc, dec.got)
	}
}

func TestIncidentPageOffersActsAndInputs(t *testing.T) {
	srv, _, st := setupConsole(t, nil)
	inc, err := st.Incident(context.Background(), incID)
	if err != nil {
		t.Fatal(err)
	}
	inc.Proposals = append(inc.Proposals, incident.Proposal{ID: "P2", RunbookID: "scale-deployment", Title: "Scale", Status: incident.ProposalNeedsInput,
		Inputs: []incident.Input{{Name: "replicas", Type: "int", Prompt: "How many replicas?"}}})
	if err := st.SaveIncident(context.Background(), inc, 2); err != nil {
		t.Fatal(err)
	}
	status, body := do(t, "GET", srv.URL+"/incidents/"+incID, "")
	for _, want := range []string{
		`<button type="submit" name="act" value="ack" class="primary">Acknowledge</button>`,
		`value="resolve"`, `value="escalate"`, `name="duration"`,
		`<input type="text" name="answer_replicas"`, "How many replicas?", `Answer P2`,
		`href="/incidents/` + incID + `/timeline"`, `href="/reports"`,
	} {
		if status != 200 || !strings.Contains(body, want) {
			t.Errorf("incident page lacks %q", want)
		}
	}
}
