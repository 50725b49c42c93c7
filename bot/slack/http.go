package slack

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

// MaxBodyBytes caps a Slack request body. Interaction payloads carry the whole
// message pressed; Vigil's messages stay far below this.
const MaxBodyBytes = 512 << 10

// Paths of the HTTP endpoints, as the app manifest names them.
const (
	PathEvents      = "/slack/events"
	PathInteractive = "/slack/interactivity"
	PathCommands    = "/slack/commands"
)

// Register adds the HTTP endpoints to mux. Every request must carry a valid,
// fresh, unreplayed signature (see Verifier), else it gets 401 and nothing
// happens; the body is read whole and verified before any of it is parsed.
func (a *App) Register(mux *http.ServeMux, v *Verifier) {
	mux.Handle("POST "+PathEvents, a.verified(v, a.serveEvents))
	mux.Handle("POST "+PathInteractive, a.verified(v, a.serveInteractive))
	mux.Handle("POST "+PathCommands, a.verified(v, a.serveCommand))
}

func (a *App) verified(v *Verifier, next func(http.ResponseWriter, []byte)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		case err != nil:
			http.Error(w, "cannot read request body", http.StatusBadRequest)
			return
		}
		if err := v.Verify(r.Header, body); err != nil {
			a.Logger.Warn("slack: refused request", "path", r.URL.Path, "remote", r.RemoteAddr, "reason", err)
			http.Error(w, "invalid Slack signature", http.StatusUnauthorized)
			return
		}
		next(w, body)
	})
}

func (a *App) serveEvents(w http.ResponseWriter, body []byte) {
	ev, err := slackevents.ParseEvent(body, slackevents.OptionNoVerifyToken())
	if err != nil {
		http.Error(w, "malformed event", http.StatusBadRequest)
		return
	}
	switch ev.Type {
	case slackevents.URLVerification:
		ch, ok := ev.Data.(*slackevents.EventsAPIURLVerificationEvent)
		if !ok {
			http.Error(w, "malformed challenge", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, ch.Challenge)
		return
	case slackevents.CallbackEvent:
		cb, _ := ev.Data.(*slackevents.EventsAPICallbackEvent)
		if m, ok := ev.InnerEvent.Data.(*slackevents.AppMentionEvent); ok && cb != nil {
			a.mention(m, cb.EventID, VerifiedBySignature)
		}
	}
	w.WriteHeader(http.StatusOK)
}

func (a *App) serveInteractive(w http.ResponseWriter, body []byte) {
	form, err := url.ParseQuery(string(body))
	var cb slack.InteractionCallback
	if err == nil {
		err = json.Unmarshal([]byte(form.Get("payload")), &cb)
	}
	if err != nil {
		http.Error(w, "malformed interaction payload", http.StatusBadRequest)
		return
	}
	a.press(cb, VerifiedBySignature)
	w.WriteHeader(http.StatusOK)
}

func (a *App) serveCommand(w http.ResponseWriter, body []byte) {
	r, _ := http.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	cmd, err := slack.SlashCommandParse(r)
	if err != nil || cmd.UserID == "" {
		http.Error(w, "malformed slash command", http.StatusBadRequest)
		return
	}
	a.command(cmd, VerifiedBySignature)
	w.WriteHeader(http.StatusOK)
}
