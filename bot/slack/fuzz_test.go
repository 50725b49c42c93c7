package slack

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/vigilops/vigil/bot"
)

// The fuzz targets of the Slack payloads a signed request may carry. The
// signature is checked before any of the body is parsed (TestSignatures), so
// these feed bodies to the handlers behind it. Whatever the body, the answer
// is 200 or a 400 saying what was malformed, and whoever an act is recorded
// for is the user the payload names, never someone its text mentions.

// serveFuzz runs a handler on body and waits for the acts it started.
func (h *harness) serveFuzz(t *testing.T, serve func(http.ResponseWriter, []byte), body string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	serve(rec, []byte(body))
	h.app.Wait()
	switch {
	case rec.Code == http.StatusOK:
	case rec.Code == http.StatusBadRequest && strings.Contains(rec.Body.String(), "malformed"):
	default:
		t.Fatalf("answer %d %q", rec.Code, rec.Body.String())
	}
	return rec
}

// checkActors fails unless every act recorded since decided and acted
// counted is by user, as the directory maps Slack ids (U0ADA is alice).
func (h *harness) checkActors(t *testing.T, user string, decided, acted int) {
	t.Helper()
	if u, ok := h.app.Directory.Users[user]; ok {
		user = u
	}
	h.wf.mu.Lock()
	defer h.wf.mu.Unlock()
	for _, d := range h.wf.decided[decided:] {
		if d.Actor.User != user || d.Actor.Verification != VerifiedBySignature {
			t.Fatalf("decision by %+v, payload user %q", d.Actor, user)
		}
	}
	for _, a := range h.wf.acted[acted:] {
		if !strings.Contains(a, " by "+user+" ("+VerifiedBySignature+")") {
			t.Fatalf("act %q, payload user %q", a, user)
		}
	}
}

func (h *harness) counts() (int, int) {
	h.wf.mu.Lock()
	defer h.wf.mu.Unlock()
	return len(h.wf.decided), len(h.wf.acted)
}

func FuzzInteractionPayload(f *testing.F) {
	h := newHarness(f)
	for _, v := range []string{"approve:P1:9f86d081884c7d65", "reject:P1", "rerun:run-1/step-2", "markdone:/", "approve:"} {
		f.Add(h.pressPayload("U0ADA", v))
		f.Add(h.pressPayload("U0MALLORY", v))
	}
	f.Add(url.Values{"payload": {`{"type":"block_actions","user":{"id":"U0X"},"container":{"message_ts":"` + propTS + `","channel_id":"C0INC"},"actions":[]}`}}.Encode())
	f.Add("payload=%7B")
	f.Add("%zz")
	f.Fuzz(func(t *testing.T, body string) {
		decided, acted := h.counts()
		h.serveFuzz(t, h.app.serveInteractive, body)
		form, _ := url.ParseQuery(body)
		var cb slack.InteractionCallback
		_ = json.Unmarshal([]byte(form.Get("payload")), &cb)
		h.checkActors(t, cb.User.ID, decided, acted)
	})
}

func FuzzSlashCommand(f *testing.F) {
	h := newHarness(f)
	for _, text := range []string{"approve P1 " + incID + " as <@U0ADA>", "ack " + incID, "help", "", "reject P1 " + incID + " &lt;@U0ADA&gt;", "resolve"} {
		f.Add(url.Values{"command": {"/vigil"}, "text": {text}, "user_id": {"U0MALLORY"}, "user_name": {"mallory"},
			"team_id": {"T0"}, "channel_id": {"C0INC"}, "response_url": {h.slack.srv.URL + "/response/2"}}.Encode())
	}
	f.Add("user_id=U0ADA&text=approve+P1+" + incID + "&user_id=U0MALLORY")
	f.Add("text=ack")
	f.Add("%")
	f.Fuzz(func(t *testing.T, body string) {
		decided, acted := h.counts()
		h.serveFuzz(t, h.app.serveCommand, body)
		form, _ := url.ParseQuery(body)
		h.checkActors(t, form.Get("user_id"), decided, acted)
	})
}

func FuzzEventsPayload(f *testing.F) {
	h := newHarness(f)
	mention := func(user, text, eventID string) string {
		b, _ := json.Marshal(map[string]any{"type": "event_callback", "team_id": "T0", "api_app_id": "A0VIGIL", "event_id": eventID, "event_time": 1700000200,
			"event": map[string]any{"type": "app_mention", "user": user, "text": text, "ts": "1700000200.000100", "thread_ts": rootTS, "channel": "C0INC", "event_ts": "1700000200.000100"}})
		return string(b)
	}
	f.Add(mention("U0ADA", "<@U0VIGIL> ack", "Ev1"))
	f.Add(mention("U0MALLORY", "<@U0VIGIL|vigil>: approve P1 as <@U0ADA>", "Ev2"))
	f.Add(mention("", "<@U0VIGIL> resolve", "Ev3"))
	f.Add(`{"type":"url_verification","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","token":"x"}`)
	f.Add(`{"type":"url_verification"}`)
	f.Add(`{"type":"event_callback","event":{"type":"message","text":"hi"}}`)
	f.Add(`{"type":`)
	f.Fuzz(func(t *testing.T, body string) {
		decided, acted := h.counts()
		rec := h.serveFuzz(t, h.app.serveEvents, body)
		var ev struct {
			Type      string `json:"type"`
			Challenge string `json:"challenge"`
			Event     struct {
				User string `json:"user"`
			} `json:"event"`
		}
		_ = json.Unmarshal([]byte(body), &ev)
		if rec.Code == http.StatusOK && rec.Header().Get("Content-Type") == "text/plain" && rec.Body.String() != ev.Challenge {
			t.Fatalf("challenge %q answered with %q", ev.Challenge, rec.Body.String())
		}
		h.checkActors(t, ev.Event.User, decided, acted)
	})
}

// FuzzRenderMessage: whatever text a message carries (label values and
// annotations come from alerts), its Block Kit holds no raw < or >, so no
// mention or link can be smuggled in; every text stays within Slack's
// limits; and code stays inside its one ``` block.
func FuzzRenderMessage(f *testing.F) {
	f.Add("HighLatency on checkout", "p99 latency above 2s on <@U0EVIL>", "instance", "<!channel> & friends", "```done```", "E1 · 03:00 UTC")
	f.Add("", "", "", "", "``", "")
	f.Add(strings.Repeat("é", 200), strings.Repeat("&", 3000), "<", ">", strings.Repeat("`", 7), "<https://evil|x>")
	f.Fuzz(func(t *testing.T, title, text, label, value, code, footer string) {
		m := bot.Message{Title: title, Text: text, Code: code, Footer: footer,
			Fields:  []bot.Field{{Label: label, Value: value}, {Label: value, Value: label}},
			Actions: []bot.Action{{ID: "approve:P1", Label: title, Style: "primary", Confirm: text}}}
		if fb := Fallback(m); strings.ContainsAny(fb, "<>") || utf8.RuneCountInString(fb) > maxFallbackText {
			t.Fatalf("fallback %q has a raw < or > or is too long", fb)
		}
		if code != "" {
			// Only the code block is checked for fences: text may use ``` as mrkdwn.
			cb := codeBlock(code)
			inner := strings.TrimSuffix(strings.TrimPrefix(cb, "```"), "```")
			if strings.Contains(inner, "``") || strings.HasPrefix(inner, "`") || strings.HasSuffix(inner, "`") {
				t.Fatalf("code block %q closes early", cb)
			}
		}
		for _, b := range Render(m) {
			switch b := b.(type) {
			case *slack.HeaderBlock:
				if n := utf8.RuneCountInString(b.Text.Text); n > maxHeader {
					t.Fatalf("header of %d characters", n)
				}
			case *slack.SectionBlock:
				texts := b.Fields
				if b.Text != nil {
					texts = append(texts, b.Text)
				}
				for _, tx := range texts {
					if strings.ContainsAny(tx.Text, "<>") {
						t.Fatalf("mrkdwn %q has a raw < or >", tx.Text)
					}
					if n := utf8.RuneCountInString(tx.Text); n > maxSectionText || (b.Text == nil && n > maxField) {
						t.Fatalf("text of %d characters", n)
					}
				}
			case *slack.ActionBlock:
				for _, e := range b.Elements.ElementSet {
					btn := e.(*slack.ButtonBlockElement)
					if n := utf8.RuneCountInString(btn.Text.Text); n > maxButtonLabel {
						t.Fatalf("button label of %d characters", n)
					}
					if btn.Confirm != nil && utf8.RuneCountInString(btn.Confirm.Text.Text) > maxConfirmText {
						t.Fatalf("confirm text too long")
					}
				}
			}
		}
	})
}
