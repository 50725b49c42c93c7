package slack

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// TestSocketMode connects to a local Socket Mode endpoint, receives a button
// press and a slash command, and checks that each is acknowledged and acted on
// with the identity Slack gave, verified by the connection.
func TestSocketMode(t *testing.T) {
	h := newHarness(t)
	acks := make(chan string, 2)
	done := make(chan struct{})
	defer close(done)
	h.slack.socket = func(c *websocket.Conn) {
		send := func(v any) {
			if err := c.WriteJSON(v); err != nil {
				t.Errorf("socket write: %v", err)
			}
		}
		send(map[string]any{"type": "hello", "num_connections": 1, "connection_info": map[string]any{"app_id": "A0VIGIL"}})
		send(map[string]any{"envelope_id": "env-1", "type": "interactive", "accepts_response_payload": false,
			"payload": json.RawMessage(h.pressJSON("U0ADA", "reject:P1"))})
		send(map[string]any{"envelope_id": "env-2", "type": "slash_commands", "accepts_response_payload": true,
			"payload": map[string]any{"command": "/vigil", "text": "note " + incID + " paged payments", "user_id": "U0ADA", "user_name": "ada",
				"channel_id": "C0INC", "response_url": h.slack.srv.URL + "/response/3"}})
		for range 2 {
			var ack struct {
				EnvelopeID string `json:"envelope_id"`
			}
			if err := c.ReadJSON(&ack); err != nil {
				return
			}
			acks <- ack.EnvelopeID
		}
		<-done
	}
	client := socketmode.New(h.slack.client(slack.OptionAppLevelToken("xapp-test")))
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- h.app.RunSocketMode(ctx, client) }()

	var got []string
	for len(got) < 2 {
		select {
		case id := <-acks:
			got = append(got, id)
		case <-time.After(10 * time.Second):
			t.Fatalf("acks so far %v; want env-1 and env-2", got)
		}
	}
	cancel()
	if err := <-ran; err != nil {
		t.Errorf("RunSocketMode: %v", err)
	}
	h.app.Wait()
	if len(h.wf.decided) != 1 || h.wf.decided[0].Decision != "reject" || h.wf.decided[0].Actor.User != "alice" ||
		h.wf.decided[0].Actor.Verification != VerifiedBySocketMode {
		t.Errorf("decided %+v", h.wf.decided)
	}
	if len(h.wf.acted) != 1 || h.wf.acted[0] != "note "+incID+" by alice (slack socket mode)" {
		t.Errorf("acted %v", h.wf.acted)
	}
	if len(h.slack.responses()) != 2 {
		t.Errorf("answers %v, want one per act", h.slack.responses())
	}
}
