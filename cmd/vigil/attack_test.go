package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/config"
)

// Runbooks the attack suite runs against: one needing two approvers with
// self-approval off, one needing one, one whose proposals expire at once.
var attackRunbooks = map[string]string{
	"attack-two.yaml": `id: attack-two
title: Echo the service, two approvers
description: Attack suite runbook.
match:
  matchers: ['alertname="AttackTwo"']
params:
  target:
    from: label.service
    pattern: '[a-z0-9-]{1,32}'
risk: medium
approval:
  approvers: [group:oncall]
  min_approvals: 2
  self_approval: false
steps:
  - id: echo
    run: shell
    command: [echo, "{{ .params.target }}"]
    timeout: 5s
`,
	"attack-one.yaml": `id: attack-one
title: Echo the service, one approver
description: Attack suite runbook.
match:
  matchers: ['alertname="AttackOne"']
params:
  target:
    from: label.service
    pattern: '[a-z0-9-]{1,32}'
risk: low
approval:
  approvers: [group:oncall]
steps:
  - id: echo
    run: shell
    command: [echo, "{{ .params.target }}"]
    timeout: 5s
`,
	"attack-expire.yaml": `id: attack-expire
title: Echo the service, expiring approval
description: Attack suite runbook.
match:
  matchers: ['alertname="AttackExpire"']
risk: low
approval:
  approvers: [group:oncall]
  expires: 1s
  on_expiry: abort
steps:
  - id: echo
    run: shell
    command: [echo, expired]
    timeout: 5s
`,
}

// attackTokens: the ingest token and each console user's API token.
const (
	ingestToken  = "ingest-token-0123456789abcdef0123456789"
	webhookKey   = "webhook-secret-0123456789abcdef"
	slackSecret  = "slack-signing-secret-0123456789"
	aliceToken   = "alice-token-0123456789abcdef0123456789"
	bobToken     = "bob-token-0123456789abcdef0123456789ab"
	carolToken   = "carol-token-0123456789abcdef0123456789"
	attackPolled = 30 * time.Second
)

func sha(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

// send makes one request and returns its status and body.
func send(t *testing.T, method, url, body string, headers map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func bearer(tok string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
}

// attackVigil is a running Vigil with authentication everywhere.
type attackVigil struct {
	t   *testing.T
	url string
}

func (v *attackVigil) alert(name, service, summary string) string {
	v.t.Helper()
	body := fmt.Sprintf(`{"version":"4","status":"firing","receiver":"vigil","groupLabels":{"alertname":%q},
	  "alerts":[{"status":"firing","labels":{"alertname":%q,"service":%q,"severity":"warning"},
	  "annotations":{"summary":%q},"startsAt":%q,"fingerprint":%q}]}`,
		name, name, service, summary, time.Now().UTC().Format(time.RFC3339), sha(name + service)[:16])
	status, b := send(v.t, "POST", v.url+"/api/v1/alerts/alertmanager", body, bearer(ingestToken))
	var out struct{ Incidents []string }
	if status != 200 || json.Unmarshal([]byte(b), &out) != nil || len(out.Incidents) != 1 {
		v.t.Fatalf("ingest %s/%s: %d %s", name, service, status, b)
	}
	return out.Incidents[0]
}

func (v *attackVigil) incident(id string) (map[string]any, string) {
	v.t.Helper()
	_, b := send(v.t, "GET", v.url+"/api/v1/incidents/"+id, "", bearer(aliceToken))
	var inc map[string]any
	_ = json.Unmarshal([]byte(b), &inc)
	return inc, b
}

func (v *attackVigil) waitFor(id, what string, cond func(inc map[string]any, raw string) bool) map[string]any {
	v.t.Helper()
	deadline := time.Now().Add(attackPolled)
	var raw string
	for time.Now().Before(deadline) {
		var inc map[string]any
		inc, raw = v.incident(id)
		if cond(inc, raw) {
			return inc
		}
		time.Sleep(50 * time.Millisecond)
	}
	v.t.Fatalf("incident %s never became %s: %s", id, what, raw)
	return nil
}

func status(s string) func(map[string]any, string) bool {
	return func(inc map[string]any, _ string) bool { return inc["status"] == s }
}

func (v *attackVigil) decide(id, proposal, token, extra string) (int, string) {
	body := fmt.Sprintf(`{"proposal_id":%q,"decision":"approve"%s}`, proposal, extra)
	return send(v.t, "POST", v.url+"/api/v1/incidents/"+id+"/decisions", body, bearer(token))
}

// slackSign signs body as Slack does, at stamp.
func slackSign(secret string, stamp int64, body string) map[string]string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%d:%s", stamp, body)
	return map[string]string{
		"X-Slack-Request-Timestamp": strconv.FormatInt(stamp, 10),
		"X-Slack-Signature":         "v0=" + hex.EncodeToString(mac.Sum(nil)),
		"Content-Type":              "application/json",
	}
}

func githubSign(secret, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// hostileBriefs are what a hostile model answers for an incident whose
// service is the key: a proposal the runbook matcher never made, evidence
// that does not exist, a channel-wide mention with a link.
var hostileBriefs = map[string]string{
	"hostile-runbook":  `{"summary":"Run delete-everything now.","hypotheses":[{"component":"hostile-runbook","statement":"Approve P9 to run delete-everything.","evidence":["E1"],"proposals":["P9"]}],"open_questions":[]}`,
	"hostile-evidence": `{"summary":"E99 proves it.","hypotheses":[{"component":"hostile-evidence","statement":"See E42 and E99.","evidence":["E42","E99"],"proposals":[]}],"open_questions":[]}`,
	"hostile-mention":  `{"summary":"<!channel> <@U0BOSS> read https://evil.example/phish and [click](javascript:alert(1))","hypotheses":[{"component":"hostile-mention","statement":"<!here> go to http://evil.example/x","evidence":["E1"],"proposals":[]}],"open_questions":[]}`,
}

// hostileModel is an OpenAI-compatible endpoint answering every request
// with the hostile brief for the service its prompt names.
func hostileModel(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		content := `not json at all <!channel>`
		for service, brief := range hostileBriefs {
			if strings.Contains(string(body), service) {
				content = brief
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": "hostile", "object": "chat.completion", "model": "hostile",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": content}}},
			"usage":   map[string]any{"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// slackStandIn is Slack's Web API for the chat replica: it answers every
// method and records the decoded bodies of what Vigil posts.
type slackStandIn struct {
	*httptest.Server
	mu    sync.Mutex
	posts []string
}

func newSlackStandIn(t *testing.T) *slackStandIn {
	s := &slackStandIn{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if strings.HasPrefix(r.URL.Path, "/api/chat.") {
			s.mu.Lock()
			s.posts = append(s.posts, r.Form.Encode())
			s.mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true,"channel":"C0ATTACK1","ts":"1700000000.000100","user":{"id":"U0ALICE","name":"alice"}}`)
	}))
	t.Cleanup(s.Close)
	return s
}

// postsWith returns the decoded posts that contain marker.
func (s *slackStandIn) postsWith(marker string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, p := range s.posts {
		if d, err := url.QueryUnescape(p); err == nil && strings.Contains(d, marker) {
			out = append(out, d)
		}
	}
	return out
}

// attack is one hostile request (or a few) and the check that it was
// refused or neutralised: accepted says why it was not.
type attack struct {
	name string
	try  func(t *testing.T) (accepted string)
}

// TestAttackSuite runs a real Vigil with ingest tokens, console users, a
// GitHub webhook secret and Slack request signing, and tries to get past
// each. Every attack must be refused or neutralised and change nothing.
func TestAttackSuite(t *testing.T) {
	t.Setenv("VIGIL_TEST_INGEST_TOKEN", ingestToken)
	t.Setenv("VIGIL_TEST_WEBHOOK_SECRET", webhookKey)
	t.Setenv("VIGIL_TEST_SLACK_SECRET", slackSecret)
	t.Setenv("VIGIL_TEST_SLACK_BOT", "xoxb-attack-suite")
	rbDir := t.TempDir()
	for name, body := range attackRunbooks {
		if err := os.WriteFile(filepath.Join(rbDir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	logs := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("vigil logs:\n%s", logs)
		}
	})
	secure := func(cfg *config.Config) {
		cfg.Runbooks.Dir = rbDir
		cfg.Ingest.Tokens = []config.Secret{"env:VIGIL_TEST_INGEST_TOKEN"}
		cfg.Console.Users = []config.ConsoleUser{{ID: "alice", TokenSHA256: sha(aliceToken)}, {ID: "bob", TokenSHA256: sha(bobToken)}, {ID: "carol", TokenSHA256: sha(carolToken)}}
		cfg.Groups = map[string][]string{"oncall": {"alice", "bob"}}
		cfg.Changes = config.Changes{WebhookSecret: "env:VIGIL_TEST_WEBHOOK_SECRET", Services: map[string]config.ServiceSpec{"db": {Repo: "acme/db"}}}
	}
	model := hostileModel(t)
	main := startVigilWith(t, t.TempDir(), logs, func(cfg *config.Config) {
		secure(cfg)
		cfg.Assist = config.Assist{Enabled: true, BaseURL: model.URL + "/v1", Model: "hostile"}
	})
	defer func() { _ = main.stop() }()
	// Slack answers on a replica of its own: it would post every incident
	// to slack.com, and these requests are refused before any post.
	slackAPI := newSlackStandIn(t)
	chat := startVigilWith(t, t.TempDir(), logs, func(cfg *config.Config) {
		secure(cfg)
		cfg.Slack = config.Slack{BotToken: "env:VIGIL_TEST_SLACK_BOT", SigningSecret: "env:VIGIL_TEST_SLACK_SECRET", Channel: "C0ATTACK1", APIURL: slackAPI.URL + "/api/"}
	})
	defer func() { _ = chat.stop() }()
	v := &attackVigil{t: t, url: main.url}

	// The incidents the approval attacks aim at.
	two := v.alert("AttackTwo", "two", "needs two approvers")
	v.waitFor(two, "awaiting_approval", status("awaiting_approval"))

	var attacks []attack
	add := func(name string, try func(t *testing.T) string) { attacks = append(attacks, attack{name, try}) }
	refusedStatus := func(code int, body string) string {
		if code < 400 {
			return fmt.Sprintf("answered %d: %s", code, body)
		}
		return ""
	}

	// Ingest without, and with wrong, bearer tokens.
	for _, h := range []map[string]string{nil, bearer("wrong-token"), {"Authorization": ingestToken}, {"Authorization": "Basic " + ingestToken}} {
		add(fmt.Sprintf("ingest with Authorization %q", h["Authorization"]), func(t *testing.T) string {
			code, body := send(t, "POST", main.url+"/api/v1/alerts/alertmanager", alertPayload("/tmp"), h)
			return refusedStatus(code, body)
		})
	}
	// Forged GitHub webhooks.
	push := `{"ref":"refs/heads/main","after":"abc123","repository":{"full_name":"acme/db"},"head_commit":{"id":"abc123","message":"forged","timestamp":"2026-11-24T03:00:00Z"}}`
	for name, sig := range map[string]string{
		"unsigned": "", "signed with another secret": githubSign("guess", push), "sha1 signature": "sha1=" + strings.Repeat("0", 40),
		"signature of another body": githubSign(webhookKey, push+" "),
	} {
		add("GitHub webhook, "+name, func(t *testing.T) string {
			h := map[string]string{"X-GitHub-Event": "push", "X-GitHub-Delivery": sha(name), "Content-Type": "application/json"}
			if sig != "" {
				h["X-Hub-Signature-256"] = sig
			}
			code, body := send(t, "POST", main.url+"/api/v1/github/webhook", push, h)
			return refusedStatus(code, body)
		})
	}
	// Forged, stale and replayed Slack requests.
	challenge := `{"type":"url_verification","challenge":"attack-suite","token":"x"}`
	now := time.Now().Unix()
	for name, h := range map[string]map[string]string{
		"unsigned":               {"Content-Type": "application/json"},
		"signed with a guess":    slackSign("guess", now, challenge),
		"stale (10 minutes old)": slackSign(slackSecret, now-600, challenge),
		"from the future":        slackSign(slackSecret, now+600, challenge),
	} {
		add("Slack event, "+name, func(t *testing.T) string {
			code, body := send(t, "POST", chat.url+"/slack/events", challenge, h)
			return refusedStatus(code, body)
		})
	}
	add("Slack event, replayed", func(t *testing.T) string {
		h := slackSign(slackSecret, time.Now().Unix(), challenge)
		if code, body := send(t, "POST", chat.url+"/slack/events", challenge, h); code != 200 || !strings.Contains(body, "attack-suite") {
			t.Fatalf("a correctly signed Slack request was refused: %d %s", code, body)
		}
		code, body := send(t, "POST", chat.url+"/slack/events", challenge, h)
		return refusedStatus(code, body)
	})

	// Approvals by the wrong people, or twice. Until alice approves, the
	// incident must show no decision at all.
	undecided := func(why string) string {
		if inc, raw := v.incident(two); why == "" && (inc["status"] != "awaiting_approval" || strings.Contains(raw, `"kind":"decision"`)) {
			return "refused, yet the incident changed: " + raw
		}
		return why
	}
	add("approval by a non-approver", func(t *testing.T) string {
		return undecided(refusedStatus(v.decide(two, "P1", carolToken, "")))
	})
	add("approval without a token", func(t *testing.T) string {
		return undecided(refusedStatus(send(t, "POST", main.url+"/api/v1/incidents/"+two+"/decisions", `{"proposal_id":"P1","decision":"approve"}`, nil)))
	})
	add("approval naming another user in the body", func(t *testing.T) string {
		return undecided(refusedStatus(v.decide(two, "P1", carolToken, `,"user":"alice"`)))
	})
	add("Slack /vigil approve command, signed with a guess", func(t *testing.T) string {
		form := "command=%2Fvigil&text=approve+" + two + "+P1&user_id=U0ALICE"
		h := slackSign("guess", time.Now().Unix(), form)
		h["Content-Type"] = "application/x-www-form-urlencoded"
		return refusedStatus(send(t, "POST", chat.url+"/slack/commands", form, h))
	})
	add("the same person approving twice", func(t *testing.T) string {
		if code, body := v.decide(two, "P1", aliceToken, ""); code != 200 {
			t.Fatalf("alice's first approval: %d %s", code, body)
		}
		return refusedStatus(v.decide(two, "P1", aliceToken, ""))
	})
	add("self-approval of a requested run", func(t *testing.T) string {
		code, body := send(t, "POST", main.url+"/api/v1/runs", `{"runbook":"attack-two","service":"requested"}`, bearer(aliceToken))
		var out struct {
			Incident string `json:"incident"`
		}
		if code != 200 && code != 202 || json.Unmarshal([]byte(body), &out) != nil || out.Incident == "" {
			t.Fatalf("request a run: %d %s", code, body)
		}
		v.waitFor(out.Incident, "awaiting_approval", status("awaiting_approval"))
		return refusedStatus(v.decide(out.Incident, "P1", aliceToken, ""))
	})
	add("approval after expiry", func(t *testing.T) string {
		id := v.alert("AttackExpire", "expire", "expires at once")
		v.waitFor(id, "its proposal expired", func(inc map[string]any, _ string) bool {
			ps, _ := inc["proposals"].([]any)
			return len(ps) > 0 && ps[0].(map[string]any)["status"] == "expired"
		})
		return refusedStatus(v.decide(id, "P1", aliceToken, ""))
	})
	add("two approvals racing for one run", func(t *testing.T) string {
		id := v.alert("AttackOne", "race", "one approver")
		v.waitFor(id, "awaiting_approval", status("awaiting_approval"))
		var wg sync.WaitGroup
		codes := make([]int, 2)
		for i, tok := range []string{aliceToken, bobToken} {
			wg.Go(func() { codes[i], _ = v.decide(id, "P1", tok, "") })
		}
		wg.Wait()
		inc := v.waitFor(id, "resolved", status("resolved"))
		runs := strings.Count(fmt.Sprint(inc["messages"]), "Step 1/1 echo: succeeded")
		if ok := (codes[0] == 200) != (codes[1] == 200); !ok || runs != 1 {
			return fmt.Sprintf("answers %v, the step ran %d times", codes, runs)
		}
		return ""
	})
	add("approval after resolution", func(t *testing.T) string {
		if code, body := v.decide(two, "P1", bobToken, ""); code != 200 {
			t.Fatalf("bob's approval: %d %s", code, body)
		}
		v.waitFor(two, "resolved", status("resolved"))
		return refusedStatus(v.decide(two, "P1", aliceToken, ""))
	})

	// Parameter values that try to break out of argv or templates.
	for i, value := range []string{"; rm -rf /", "$(id)", "`id`", "{{ .params }}", "{{template \"x\"}}", "../../etc/passwd", "a b", "x\nid"} {
		add(fmt.Sprintf("parameter %q", value), func(t *testing.T) string {
			id := v.alert("AttackTwo", value, fmt.Sprintf("hostile service %d", i))
			inc := v.waitFor(id, "decided about its proposals", func(inc map[string]any, raw string) bool {
				return strings.Contains(raw, "was not proposed") || inc["proposals"] != nil && len(inc["proposals"].([]any)) > 0
			})
			if ps, _ := inc["proposals"].([]any); len(ps) > 0 {
				return fmt.Sprintf("proposed with it: %v", ps)
			}
			return ""
		})
	}

	// Markup and mentions in alert text reach the console escaped.
	hostile := `<script>alert(1)</script><img src=x onerror=alert(1)><a href="javascript:alert(1)">x</a> <!channel> @here`
	add("markup in alert text", func(t *testing.T) string {
		id := v.alert("AttackMarkup", "markup", hostile)
		v.waitFor(id, "its evidence", func(_ map[string]any, raw string) bool { return strings.Contains(raw, "E1") })
		var bad []string
		for _, path := range []string{"/incidents/" + id, "/incidents/" + id + "/timeline", "/"} {
			_, page := send(t, "GET", main.url+path, "", bearer(aliceToken))
			for _, raw := range []string{"<script>alert", "<img src=x", `href="javascript:`, "<!channel>"} {
				if strings.Contains(page, raw) {
					bad = append(bad, path+" holds "+raw)
				}
			}
		}
		return strings.Join(bad, "; ")
	})

	add("Slack mentions and links in alert text", func(t *testing.T) string {
		c := &attackVigil{t: t, url: chat.url}
		id := c.alert("AttackMention", "mention", hostile+" <@U0BOSS> <https://evil.example|click>")
		c.waitFor(id, "its evidence", func(_ map[string]any, raw string) bool { return strings.Contains(raw, "E1") })
		var posts []string
		for deadline := time.Now().Add(attackPolled); len(posts) == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			posts = slackAPI.postsWith("AttackMention")
		}
		if len(posts) == 0 {
			t.Fatal("nothing about the incident reached Slack")
		}
		var bad []string
		for _, p := range posts {
			for _, raw := range []string{"<!channel>", "<!here>", "<@U0BOSS>", "<https://evil.example", "<script>"} {
				if strings.Contains(p, raw) {
					bad = append(bad, "a Slack post holds "+raw)
				}
			}
		}
		if !slices.ContainsFunc(posts, func(p string) bool { return strings.Contains(p, "&lt;!channel&gt;") }) {
			bad = append(bad, "the alert text never reached Slack escaped: nothing was checked")
		}
		return strings.Join(bad, "; ")
	})

	// A hostile model: its briefs are refused and Vigil's own summary shown.
	for service := range hostileBriefs {
		add("hostile model, "+service, func(t *testing.T) string {
			id := v.alert("AttackModel", service, "model target")
			v.waitFor(id, "its brief", func(_ map[string]any, raw string) bool { return strings.Contains(raw, `"kind":"brief"`) })
			inc, raw := v.incident(id)
			var bad []string
			if !strings.Contains(raw, "Vigil's own summary") {
				bad = append(bad, "the hostile brief was shown")
			}
			if !strings.Contains(raw, "its answer failed validation") {
				t.Fatalf("the model's answers were not what was refused (never asked, or another failure): %s", raw)
			}
			for _, s := range []string{"P9", "delete-everything", "E42", "E99", "<!channel>", "<!here>", "<@U0BOSS>", "evil.example", "javascript:"} {
				if strings.Contains(raw, s) {
					bad = append(bad, "the incident holds "+s)
				}
			}
			if ps, _ := inc["proposals"].([]any); len(ps) > 0 {
				bad = append(bad, fmt.Sprintf("proposals appeared: %v", ps))
			}
			return strings.Join(bad, "; ")
		})
	}

	accepted := 0
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			if why := a.try(t); why != "" {
				accepted++
				t.Errorf("accepted: %s", why)
			}
		})
	}
	fmt.Printf("attack suite: %d tried, %d accepted\n", len(attacks), accepted)
	t.Logf("%d tried, %d accepted", len(attacks), accepted)
}
