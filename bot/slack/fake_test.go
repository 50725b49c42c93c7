package slack

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
)

// fakeSlack speaks the part of Slack's Web API Vigil uses, keeps the messages it
// was sent, and fails on request: a small Slack on loopback.
type fakeSlack struct {
	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	messages []*fakeMessage
	calls    []string                // method names in order, e.g. "chat.postMessage"
	faults   map[string][]fault      // method → faults to apply to its next calls
	answers  []map[string]any        // bodies posted to response URLs
	groups   []slack.UserGroup       // usergroups.list
	socket   func(c *websocket.Conn) // serves /ws when set
}

type fakeMessage struct {
	Channel, TS, ThreadTS, Text string
	Blocks                      json.RawMessage
	Metadata                    slack.SlackMetadata
	Edits                       int
}

// fault is one injected failure. land posts the message before failing, as when
// Slack did the work but the answer was lost.
type fault struct {
	status     int
	retryAfter string
	slackError string
	land       bool
}

func newFakeSlack(t testing.TB) *fakeSlack {
	f := &fakeSlack{t: t, faults: map[string][]fault{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// client returns a slack-go client that talks to the fake.
func (f *fakeSlack) client(opts ...slack.Option) *slack.Client {
	return slack.New("xoxb-test", append([]slack.Option{slack.OptionAPIURL(f.srv.URL + "/api/")}, opts...)...)
}

func (f *fakeSlack) fail(method string, fs ...fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[method] = append(f.faults[method], fs...)
}

func (f *fakeSlack) snapshot() ([]fakeMessage, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ms []fakeMessage
	for _, m := range f.messages {
		ms = append(ms, *m)
	}
	return ms, append([]string(nil), f.calls...)
}

func (f *fakeSlack) responses() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.answers...)
}

func (f *fakeSlack) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if strings.HasPrefix(r.URL.Path, "/response/") {
		var v map[string]any
		_ = json.Unmarshal(body, &v)
		f.mu.Lock()
		f.answers = append(f.answers, v)
		f.mu.Unlock()
		_, _ = io.WriteString(w, "ok")
		return
	}
	if r.URL.Path == "/ws" {
		// slack-go sends an Origin of its own; a fake accepts any.
		up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			f.t.Errorf("fake slack: websocket upgrade: %v", err)
			return
		}
		defer conn.Close()
		f.socket(conn)
		return
	}
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	form, _ := url.ParseQuery(string(body))
	if r.URL.RawQuery != "" {
		q, _ := url.ParseQuery(r.URL.RawQuery)
		for k, v := range q {
			form[k] = v
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, method)
	var ft *fault
	if q := f.faults[method]; len(q) > 0 {
		ft, f.faults[method] = &q[0], q[1:]
	}
	if ft != nil && !ft.land {
		f.writeFault(w, *ft)
		return
	}
	var res map[string]any
	switch method {
	case "chat.postMessage":
		m := &fakeMessage{Channel: form.Get("channel"), ThreadTS: form.Get("thread_ts"), Text: form.Get("text"),
			Blocks: json.RawMessage(form.Get("blocks")), TS: fmt.Sprintf("1700000000.%06d", len(f.messages)+1)}
		_ = json.Unmarshal([]byte(form.Get("metadata")), &m.Metadata)
		f.messages = append(f.messages, m)
		res = map[string]any{"ok": true, "channel": m.Channel, "ts": m.TS}
	case "chat.update":
		m := f.find(form.Get("channel"), form.Get("ts"))
		if m == nil {
			res = map[string]any{"ok": false, "error": "message_not_found"}
			break
		}
		m.Text, m.Blocks = form.Get("text"), json.RawMessage(form.Get("blocks"))
		m.Edits++
		res = map[string]any{"ok": true, "channel": m.Channel, "ts": m.TS}
	case "conversations.history", "conversations.replies":
		var out []map[string]any
		for _, m := range f.messages {
			inThread := method == "conversations.replies" && (m.TS == form.Get("ts") || m.ThreadTS == form.Get("ts"))
			if m.Channel == form.Get("channel") && (inThread || method == "conversations.history" && m.ThreadTS == "") {
				msg := map[string]any{"type": "message", "ts": m.TS, "text": m.Text}
				if form.Get("include_all_metadata") == "1" && m.Metadata.EventType != "" {
					msg["metadata"] = m.Metadata
				}
				out = append(out, msg)
			}
		}
		res = map[string]any{"ok": true, "messages": out, "has_more": false}
	case "usergroups.list":
		res = map[string]any{"ok": true, "usergroups": f.groups}
	case "apps.connections.open":
		res = map[string]any{"ok": true, "url": "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/ws"}
	default:
		f.t.Errorf("fake slack: unexpected call %s", method)
		res = map[string]any{"ok": false, "error": "unknown_method"}
	}
	if ft != nil {
		f.writeFault(w, *ft)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}

func (f *fakeSlack) writeFault(w http.ResponseWriter, ft fault) {
	if ft.retryAfter != "" {
		w.Header().Set("Retry-After", ft.retryAfter)
	}
	if ft.slackError != "" {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": ft.slackError})
		return
	}
	w.WriteHeader(ft.status)
}

func (f *fakeSlack) find(channel, ts string) *fakeMessage {
	for _, m := range f.messages {
		if m.Channel == channel && m.TS == ts {
			return m
		}
	}
	return nil
}

// count returns how many times method was called.
func count(calls []string, method string) int {
	n := 0
	for _, c := range calls {
		if c == method {
			n++
		}
	}
	return n
}
