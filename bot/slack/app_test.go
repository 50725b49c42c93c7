package slack

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/bot/commands"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/store"
	"github.com/vigilops/vigil/workflows/contract"
)

const (
	secret = "8f742231b10e8888abcd99yyyzzz85a5"
	incID  = "incident-7-highlatency-checkout"
	rootTS = "1700000000.000001"
	propTS = "1700000000.000002"
)

// fakeWorkflows records what reached the incident's workflow.
type fakeWorkflows struct {
	mu      sync.Mutex
	decided []contract.DecideRequest
	acted   []string
}

func (f *fakeWorkflows) Decide(_ context.Context, id string, req contract.DecideRequest) (contract.Answer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.decided = append(f.decided, req)
	return contract.Answer{Message: fmt.Sprintf("%s %sd %s on %s.", req.Actor.Name(), req.Decision, req.ProposalID, id)}, nil
}

func (f *fakeWorkflows) Act(_ context.Context, id, act string, req contract.ActRequest) (contract.Answer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.acted = append(f.acted, act+" "+id+" by "+req.Actor.User+" ("+req.Actor.Verification+")")
	return contract.Answer{Message: act + " recorded"}, nil
}

func (f *fakeWorkflows) Incident(context.Context, string) (incident.Incident, error) {
	return incident.Incident{}, store.ErrNotFound
}

func (f *fakeWorkflows) ListIncidents(context.Context, store.IncidentFilter) ([]incident.Incident, error) {
	return nil, nil
}

func (f *fakeWorkflows) AuditTrail(context.Context, string) ([]audit.Record, error) {
	return nil, nil
}

type harness struct {
	slack *fakeSlack
	wf    *fakeWorkflows
	app   *App
	srv   *httptest.Server
	now   time.Time
}

// newHarness serves the HTTP endpoints over a store holding an incident thread:
// its root and its P1 proposal message in channel C0INC.
func newHarness(t testing.TB) *harness {
	t.Helper()
	f := newFakeSlack(t)
	f.groups = []slack.UserGroup{{ID: "S0ONCALL", Users: []string{"U0ADA"}}, {ID: "S0OTHER", Users: []string{"U0ADA"}}}
	st := openStore(t)
	ctx := context.Background()
	for key, ts := range map[string]string{"summary": rootTS, "proposal-P1": propTS} {
		thread := rootTS
		if key == "summary" {
			thread = ""
		}
		if err := st.StartSlackPost(ctx, store.SlackMessage{IncidentID: incID, Key: key, Channel: "C0INC", ThreadTS: thread, StartedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if err := st.FinishSlackPost(ctx, incID, key, ts, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	wf := &fakeWorkflows{}
	logger := slog.New(slog.DiscardHandler)
	h := &harness{slack: f, wf: wf, now: time.Now()}
	h.app = &App{
		Bot:               commands.New(commands.Deps{Incidents: wf, Audit: wf, Decider: wf, Acter: wf}, "/vigil ", logger),
		Threads:           st,
		Directory:         &Directory{Users: map[string]string{"U0ADA": "alice"}, Groups: map[string]string{"S0ONCALL": "oncall"}, API: f.client(), Logger: logger},
		API:               f.client(),
		Logger:            logger,
		ResponseURLPrefix: f.srv.URL + "/response/",
	}
	mux := http.NewServeMux()
	h.app.Register(mux, NewVerifier(secret, func() time.Time { return h.now }))
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	return h
}

func sign(key string, stamp int64, body string) string {
	mac := hmac.New(sha256.New, []byte(key))
	fmt.Fprintf(mac, "v0:%d:%s", stamp, body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// send posts body to path as Slack would, with the given signature headers, and
// waits until the app has answered.
func (h *harness) send(t *testing.T, path, contentType, body string, headers map[string]string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	h.app.Wait()
	return resp.StatusCode
}

func signedHeaders(key string, stamp int64, body string) map[string]string {
	return map[string]string{"X-Slack-Request-Timestamp": strconv.FormatInt(stamp, 10), "X-Slack-Signature": sign(key, stamp, body)}
}

// pressPayload is a block_actions payload as Slack sends it over HTTP when user
// presses the Approve button of the P1 message.
func (h *harness) pressPayload(user, value string) string {
	return url.Values{"payload": {h.pressJSON(user, value)}}.Encode()
}

func (h *harness) pressJSON(user, value string) string {
	p := map[string]any{
		"type": "block_actions", "user": map[string]any{"id": user, "username": strings.ToLower(user), "name": strings.ToLower(user), "team_id": "T0"},
		"api_app_id": "A0VIGIL", "team": map[string]any{"id": "T0"},
		"container":    map[string]any{"type": "message", "message_ts": propTS, "channel_id": "C0INC", "is_ephemeral": false},
		"channel":      map[string]any{"id": "C0INC", "name": "incidents"},
		"response_url": h.slack.srv.URL + "/response/1",
		"actions":      []any{map[string]any{"action_id": value, "block_id": "actions", "value": value, "type": "button", "action_ts": "1700000100.000100"}},
	}
	b, _ := json.Marshal(p)
	return string(b)
}

const form = "application/x-www-form-urlencoded"

// TestSignatures sends good, forged, tampered, stale, future, unsigned and
// replayed requests: only the good one reaches the workflow, once.
func TestSignatures(t *testing.T) {
	tests := []struct {
		name    string
		headers func(h *harness, body string) map[string]string
		body    func(body string) string // what is sent, after signing
		want    int
	}{
		{name: "good", headers: func(h *harness, body string) map[string]string { return signedHeaders(secret, h.now.Unix(), body) }, want: 200},
		{name: "forged with another secret", headers: func(h *harness, body string) map[string]string {
			return signedHeaders("not-the-secret", h.now.Unix(), body)
		}, want: 401},
		{name: "body changed after signing", headers: func(h *harness, body string) map[string]string { return signedHeaders(secret, h.now.Unix(), body) },
			body: func(b string) string { return strings.Replace(b, "U0ADA", "U0BOSS", 1) }, want: 401},
		{name: "stale: 6 minutes old", headers: func(h *harness, body string) map[string]string {
			return signedHeaders(secret, h.now.Add(-6*time.Minute).Unix(), body)
		}, want: 401},
		{name: "from the future", headers: func(h *harness, body string) map[string]string {
			return signedHeaders(secret, h.now.Add(6*time.Minute).Unix(), body)
		}, want: 401},
		{name: "unsigned", headers: func(*harness, string) map[string]string { return nil }, want: 401},
		{name: "signature not v0", headers: func(h *harness, body string) map[string]string {
			hs := signedHeaders(secret, h.now.Unix(), body)
			hs["X-Slack-Signature"] = strings.Replace(hs["X-Slack-Signature"], "v0=", "v1=", 1)
			return hs
		}, want: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			body := h.pressPayload("U0ADA", "approve:P1:9f86d081884c7d65")
			headers := tt.headers(h, body)
			if tt.body != nil {
				body = tt.body(body)
			}
			if got := h.send(t, PathInteractive, form, body, headers); got != tt.want {
				t.Errorf("status %d, want %d", got, tt.want)
			}
			wantDecisions := 0
			if tt.want == 200 {
				wantDecisions = 1
			}
			if len(h.wf.decided) != wantDecisions || len(h.slack.responses()) != wantDecisions {
				t.Errorf("decisions %+v, answers %v; want %d", h.wf.decided, h.slack.responses(), wantDecisions)
			}
		})
	}

	t.Run("replayed within the window", func(t *testing.T) {
		h := newHarness(t)
		body := h.pressPayload("U0ADA", "approve:P1")
		headers := signedHeaders(secret, h.now.Unix(), body)
		first := h.send(t, PathInteractive, form, body, headers)
		h.now = h.now.Add(2 * time.Minute)
		second := h.send(t, PathInteractive, form, body, headers)
		if first != 200 || second != 401 || len(h.wf.decided) != 1 {
			t.Errorf("statuses %d then %d, decisions %d: want 200, 401 and one decision", first, second, len(h.wf.decided))
		}
	})

	t.Run("url verification needs a signature too", func(t *testing.T) {
		h := newHarness(t)
		body := `{"type":"url_verification","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","token":"x"}`
		if got := h.send(t, PathEvents, "application/json", body, nil); got != 401 {
			t.Errorf("unsigned challenge: %d", got)
		}
		req, _ := http.NewRequest(http.MethodPost, h.srv.URL+PathEvents, strings.NewReader(body))
		for k, v := range signedHeaders(secret, h.now.Unix(), body) {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(got) != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
			t.Errorf("signed challenge: %d %q", resp.StatusCode, got)
		}
	})

	t.Run("oversized body", func(t *testing.T) {
		h := newHarness(t)
		body := strings.Repeat("a", MaxBodyBytes+1)
		if got := h.send(t, PathCommands, form, body, signedHeaders(secret, h.now.Unix(), body)); got != http.StatusRequestEntityTooLarge {
			t.Errorf("oversized: %d", got)
		}
	})
}

// TestPress checks what a verified button press does: the actor is the Slack
// user from the payload, mapped to a Vigil user and groups; the incident is the
// one Vigil posted the message for; the answer goes back privately.
func TestPress(t *testing.T) {
	h := newHarness(t)
	body := h.pressPayload("U0ADA", "approve:P1:9f86d081884c7d65")
	if got := h.send(t, PathInteractive, form, body, signedHeaders(secret, h.now.Unix(), body)); got != 200 {
		t.Fatalf("status %d", got)
	}
	want := contract.DecideRequest{ProposalID: "P1", Decision: "approve", PlanHash: "9f86d081884c7d65",
		Actor: incident.Actor{User: "alice", DisplayName: "u0ada", Surface: "slack", Verification: VerifiedBySignature, Groups: []string{"oncall"}}}
	if len(h.wf.decided) != 1 || !reflect.DeepEqual(h.wf.decided[0], want) {
		t.Errorf("decided %+v\nwant %+v", h.wf.decided, want)
	}
	answers := h.slack.responses()
	if len(answers) != 1 || answers[0]["response_type"] != "ephemeral" || !strings.Contains(fmt.Sprint(answers[0]["text"]), "u0ada approved P1 on "+incID) {
		t.Errorf("answers %v", answers)
	}

	// A message Vigil did not post acts on nothing.
	body = strings.Replace(h.pressPayload("U0ADA", "approve:P1"), propTS, "1700000000.999999", 1)
	h.send(t, PathInteractive, form, body, signedHeaders(secret, h.now.Unix(), body))
	if len(h.wf.decided) != 1 || !strings.Contains(fmt.Sprint(h.slack.responses()), "Not an incident message") {
		t.Errorf("press on an unknown message: decided %d, answers %v", len(h.wf.decided), h.slack.responses())
	}
}

func TestSlashCommandAndMention(t *testing.T) {
	h := newHarness(t)
	// Text cannot name the actor: "as <@U0ADA>" is just a comment.
	cmd := url.Values{"command": {"/vigil"}, "text": {"approve P1 " + incID + " as <@U0ADA>"}, "user_id": {"U0MALLORY"}, "user_name": {"mallory"},
		"team_id": {"T0"}, "channel_id": {"C0INC"}, "response_url": {h.slack.srv.URL + "/response/2"}}.Encode()
	if got := h.send(t, PathCommands, form, cmd, signedHeaders(secret, h.now.Unix(), cmd)); got != 200 {
		t.Fatalf("command: %d", got)
	}
	if len(h.wf.decided) != 1 || h.wf.decided[0].Actor.User != "U0MALLORY" || h.wf.decided[0].Actor.Groups != nil || h.wf.decided[0].Comment != "as <@U0ADA>" {
		t.Errorf("decided %+v: want U0MALLORY, no groups, the text as a comment", h.wf.decided)
	}

	mention := `{"type":"event_callback","team_id":"T0","api_app_id":"A0VIGIL","event_id":"Ev1","event_time":1700000200,
	  "event":{"type":"app_mention","user":"U0ADA","text":"<@U0VIGIL> ack","ts":"1700000200.000100","thread_ts":"` + rootTS + `","channel":"C0INC","event_ts":"1700000200.000100"}}`
	for range 2 { // Slack redelivers an event it thinks was lost; it is handled once
		now := h.now.Unix()
		h.now = h.now.Add(time.Second)
		if got := h.send(t, PathEvents, "application/json", mention, signedHeaders(secret, now, mention)); got != 200 {
			t.Fatalf("mention: %d", got)
		}
	}
	if want := []string{"ack " + incID + " by alice (slack request signature)"}; !reflect.DeepEqual(h.wf.acted, want) {
		t.Errorf("acted %v, want %v", h.wf.acted, want)
	}
	ms, _ := h.slack.snapshot()
	if len(ms) != 1 || ms[0].ThreadTS != rootTS || !strings.Contains(ms[0].Text, "ack recorded") {
		t.Errorf("thread replies %+v", ms)
	}
}
