package console

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/store"
	"github.com/vigilops/vigil/workflows/contract"
)

type fakeDecider struct {
	got    []contract.DecideRequest
	acts   []string // "act:user:text"
	inputs []contract.InputRequest
	answer error
}

func (f *fakeDecider) Act(_ context.Context, _, act string, req contract.ActRequest) (contract.Answer, error) {
	f.acts = append(f.acts, act+":"+req.Actor.User+":"+req.Text+req.Choice)
	if f.answer != nil {
		return contract.Answer{}, f.answer
	}
	return contract.Answer{Message: act + " by " + req.Actor.User}, nil
}

func (f *fakeDecider) Input(_ context.Context, _ string, req contract.InputRequest) (contract.Answer, error) {
	f.inputs = append(f.inputs, req)
	return contract.Answer{Message: "thanks " + req.Actor.User}, nil
}

func (f *fakeDecider) Decide(_ context.Context, _ string, req contract.DecideRequest) (contract.Answer, error) {
	f.got = append(f.got, req)
	if f.answer != nil {
		return contract.Answer{}, f.answer
	}
	return contract.Answer{Message: req.Actor.User + " approved " + req.ProposalID + "; running now."}, nil
}

const incID = "incident-1-highlatency-checkout"

func setup(t *testing.T) (*httptest.Server, *fakeDecider) {
	t.Helper()
	srv, dec, _ := setupConsole(t, nil)
	return srv, dec
}

// setupConsole serves a console over a store holding one incident waiting for a
// decision on P1; auth nil is development mode.
func setupConsole(t *testing.T, auth *Auth) (*httptest.Server, *fakeDecider, *store.Store) {
	t.Helper()
	srv, dec, st, _ := setupConsoleWith(t, auth, nil)
	return srv, dec, st
}

// setupConsoleWith is setupConsole with a runner for manual runs.
func setupConsoleWith(t *testing.T, auth *Auth, runner *fakeRunner) (*httptest.Server, *fakeDecider, *store.Store, *Console) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	ctx := context.Background()
	group := map[string]string{"alertname": "HighLatency", "service": "checkout"}
	if _, err := st.IngestAlerts(ctx, "test", []store.AlertIn{{Fingerprint: "f1", Status: "firing", Labels: group, StartsAt: time.Now(), GroupKey: "k", GroupLabels: group}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	p := incident.Proposal{ID: "P1", RunbookID: "restart", Title: "Restart <checkout>", Risk: "high", Status: incident.ProposalPending,
		Steps: []incident.Step{{ID: "restart", Command: []string{"systemctl", "restart", "checkout"}}}, Approvers: []string{"group:oncall"}}
	inc := incident.Incident{ID: incID, Title: "HighLatency on checkout", Status: incident.StatusAwaitingApproval, Proposals: []incident.Proposal{p}, UpdatedAt: time.Now()}
	if err := st.SaveIncident(ctx, inc, 1); err != nil {
		t.Fatal(err)
	}
	th := Thread{Store: st}
	if err := th.Post(ctx, incID, "summary", bot.Summary(&inc)); err != nil {
		t.Fatal(err)
	}
	if err := th.Post(ctx, incID, "proposal-P1", bot.Proposal(&p)); err != nil {
		t.Fatal(err)
	}
	dec := &fakeDecider{}
	c := &Console{Store: st, Decider: dec, User: "local-operator", Auth: auth, Logger: slog.New(slog.DiscardHandler), Poll: 20 * time.Millisecond}
	if runner != nil {
		c.Runner = runner
	}
	mux := http.NewServeMux()
	c.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(c.Shutdown)
	return srv, dec, st, c
}

func do(t *testing.T, method, url, body string, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if loc := resp.Header.Get("Location"); loc != "" {
		return resp.StatusCode, loc
	}
	return resp.StatusCode, string(b)
}

func TestAPIReads(t *testing.T) {
	srv, _ := setup(t)
	status, body := do(t, "GET", srv.URL+"/api/v1/incidents", "")
	if status != 200 || !strings.Contains(body, `"id":"`+incID+`"`) || !strings.Contains(body, `"pending_proposals":["P1"]`) {
		t.Errorf("list: %d %s", status, body)
	}
	status, body = do(t, "GET", srv.URL+"/api/v1/incidents/"+incID, "")
	var v IncidentView
	if err := json.Unmarshal([]byte(body), &v); err != nil || status != 200 {
		t.Fatalf("get: %d %v %s", status, err, body)
	}
	if v.Status != incident.StatusAwaitingApproval || len(v.Messages) != 2 || v.Messages[1].Key != "proposal-P1" ||
		len(v.Proposals) != 1 || v.Proposals[0].Plan[0] != "restart: systemctl restart checkout" {
		t.Errorf("view = %+v", v)
	}
	if status, body = do(t, "GET", srv.URL+"/api/v1/incidents/nope", ""); status != 404 || !strings.Contains(body, "incident nope: not found") {
		t.Errorf("unknown incident: %d %s", status, body)
	}
}

func TestAPIDecide(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		answer     error
		header     []string
		wantStatus int
		wantBody   string
		wantUser   string
	}{
		{name: "approve as given user", body: `{"proposal_id":"P1","decision":"approve","user":"alice","comment":"go"}`, wantStatus: 200, wantBody: "alice approved P1", wantUser: "alice"},
		{name: "defaults to console user", body: `{"proposal_id":"P1","decision":"approve"}`, wantStatus: 200, wantUser: "local-operator"},
		{name: "missing fields", body: `{"decision":"maybe"}`, wantStatus: 422, wantBody: "proposal_id: is required"},
		{name: "malformed", body: `{`, wantStatus: 400, wantBody: "malformed JSON"},
		{name: "forbidden", body: `{"proposal_id":"P1","decision":"approve","user":"mallory"}`, answer: &contract.Refusal{Kind: contract.RefusedForbidden, Message: "mallory may not decide P1"}, wantStatus: 403, wantBody: "mallory may not decide P1", wantUser: "mallory"},
		{name: "conflict", body: `{"proposal_id":"P1","decision":"approve"}`, answer: &contract.Refusal{Kind: contract.RefusedConflict, Message: "P1 is already approved"}, wantStatus: 409, wantBody: "already approved", wantUser: "local-operator"},
		{name: "closed", body: `{"proposal_id":"P1","decision":"approve"}`, answer: contract.ErrIncidentClosed, wantStatus: 409, wantBody: "incident is closed", wantUser: "local-operator"},
		{name: "cross-site browser request", body: `{"proposal_id":"P1","decision":"approve"}`, header: []string{"Sec-Fetch-Site", "cross-site"}, wantStatus: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, dec := setup(t)
			dec.answer = tt.answer
			status, body := do(t, "POST", srv.URL+"/api/v1/incidents/"+incID+"/decisions", tt.body, tt.header...)
			if status != tt.wantStatus || !strings.Contains(body, tt.wantBody) {
				t.Errorf("got %d %s, want %d %q", status, body, tt.wantStatus, tt.wantBody)
			}
			switch {
			case tt.wantUser == "" && len(dec.got) > 0:
				t.Errorf("request reached the workflow: %+v", dec.got)
			case tt.wantUser != "" && (len(dec.got) != 1 || dec.got[0].Actor.User != tt.wantUser || dec.got[0].Actor.Surface != "api"):
				t.Errorf("decider got %+v, want user %s via api", dec.got, tt.wantUser)
			}
		})
	}
	srv, dec := setup(t)
	if status, _ := do(t, "POST", srv.URL+"/api/v1/incidents/nope/decisions", `{"proposal_id":"P1","decision":"approve"}`); status != 404 || len(dec.got) != 0 {
		t.Errorf("decision on unknown incident: %d", status)
	}
}

func TestPages(t *testing.T) {
	srv, dec := setup(t)
	status, body := do(t, "GET", srv.URL+"/", "")
	if status != 200 || !strings.Contains(body, `<a href="/incidents/`+incID+`">HighLatency on checkout</a>`) {
		t.Errorf("list page: %d %s", status, body)
	}
	status, body = do(t, "GET", srv.URL+"/incidents/"+incID, "")
	for _, want := range []string{
		"P1 · Proposed: Restart &lt;checkout&gt; (restart)", // escaped
		`<button type="submit" name="action" value="approve:P1" class="primary" data-confirm="Run restart (high risk) now?">Approve P1</button>`,
		"restart: systemctl restart checkout",
		"you act as <b>local-operator</b>",
	} {
		if status != 200 || !strings.Contains(body, want) {
			t.Errorf("incident page lacks %q", want)
		}
	}
	form := url.Values{"action": {"approve:P1"}, "comment": {"looks right"}}.Encode()
	status, loc := do(t, "POST", srv.URL+"/incidents/"+incID+"/decide", form, "Content-Type", "application/x-www-form-urlencoded")
	if status != 303 || !strings.Contains(loc, "msg=local-operator+approved+P1") {
		t.Errorf("form post: %d %s", status, loc)
	}
	if len(dec.got) != 1 || !reflect.DeepEqual(dec.got[0], contract.DecideRequest{ProposalID: "P1", Decision: "approve", Comment: "looks right",
		Actor: incident.Actor{User: "local-operator", Surface: "console", Verification: verifyDevConsole}}) {
		t.Errorf("decider got %+v", dec.got)
	}
	dec.answer = &contract.Refusal{Kind: contract.RefusedForbidden, Message: "not allowed"}
	if status, loc = do(t, "POST", srv.URL+"/incidents/"+incID+"/decide", form, "Content-Type", "application/x-www-form-urlencoded"); status != 303 || !strings.Contains(loc, "err=not+allowed") {
		t.Errorf("refused form post: %d %s", status, loc)
	}
	if status, _ = do(t, "GET", srv.URL+"/incidents/nope", ""); status != 404 {
		t.Errorf("unknown incident page: %d", status)
	}
	if status, body = do(t, "GET", srv.URL+"/assets/style.css", ""); status != 200 || !strings.Contains(body, "--bg") {
		t.Errorf("stylesheet: %d", status)
	}
}
