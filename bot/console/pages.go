package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/vigilops/vigil/bot/commands"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/store"
)

var statuses = []incident.Status{incident.StatusOpen, incident.StatusAcknowledged, incident.StatusAwaitingApproval,
	incident.StatusRemediating, incident.StatusEscalated, incident.StatusResolved}

func (c *Console) pageList(w http.ResponseWriter, r *http.Request) {
	f := filterFrom(r)
	list, err := c.list(r.Context(), f)
	if err != nil {
		c.failPage(w, r, err)
		return
	}
	c.render(w, r, "list.html", map[string]any{"Incidents": list, "F": f, "Statuses": statuses,
		"Severities": []string{"critical", "warning", "info"}, "Since": sinceChoices})
}

// incidentPage is what the incident page shows.
type incidentPage struct {
	I        IncidentView
	Timeline []timelineRow
	Headline headline
	// Folded holds the keys of thread messages shown collapsed: proposals
	// already decided.
	Folded map[string]bool
}

type timelineRow struct {
	At                    time.Time
	Actor, Action, Detail string
}

func (c *Console) incidentPage(ctx context.Context, id string) (incidentPage, error) {
	v, err := c.view(ctx, id)
	if err != nil {
		return incidentPage{}, err
	}
	recs, err := c.Store.AuditTrail(ctx, id)
	if err != nil {
		return incidentPage{}, err
	}
	p := incidentPage{I: v, Headline: headlineOf(v), Folded: map[string]bool{}}
	for _, m := range v.Messages {
		if decided(v, m.Key) {
			p.Folded[m.Key] = true
		}
	}
	for _, e := range commands.TimelineEntries(recs) {
		p.Timeline = append(p.Timeline, timelineRow{At: e.At, Actor: e.Actor, Action: e.Action, Detail: e.Detail})
	}
	return p, nil
}

func (c *Console) pageIncident(w http.ResponseWriter, r *http.Request) {
	p, err := c.incidentPage(r.Context(), r.PathValue("id"))
	if err != nil {
		c.failPage(w, r, err)
		return
	}
	c.render(w, r, "incident.html", map[string]any{"P": p, "Msg": r.URL.Query().Get("msg"), "Err": r.URL.Query().Get("err")})
}

// pageLive streams the incident as server-sent events: an "update" event with
// the re-rendered live part of the page whenever the incident, its thread or its
// audit trail changes. The store is polled, so changes made by any Vigil process
// show up.
func (c *Console) pageLive(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	id := r.PathValue("id")
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n\n")
	flusher.Flush()
	poll := c.Poll
	if poll <= 0 {
		poll = time.Second
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	var last []byte
	for {
		p, err := c.incidentPage(r.Context(), id)
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				c.Logger.Warn("console: live page", "incident", id, "err", err)
			}
			return
		}
		var b bytes.Buffer
		if err := c.pages.ExecuteTemplate(&b, "live", map[string]any{"P": p, "Me": c.me(r)}); err != nil {
			c.Logger.Error("console: render live", "incident", id, "err", err)
			return
		}
		if !bytes.Equal(b.Bytes(), last) {
			last = b.Bytes()
			fmt.Fprint(w, "event: update\n")
			for line := range strings.SplitSeq(b.String(), "\n") {
				fmt.Fprintf(w, "data: %s\n", line)
			}
			fmt.Fprint(w, "\n")
			flusher.Flush()
		}
		select {
		case <-r.Context().Done():
			return
		case <-c.stop:
			return
		case <-tick.C:
		}
	}
}

// pageLogin shows the login form and signs in with a token.
func (c *Console) pageLogin(w http.ResponseWriter, r *http.Request) {
	next := r.FormValue("next")
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		next = "/"
	}
	if c.Auth == nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	data := map[string]any{"Next": next}
	if r.Method == http.MethodPost {
		if u, ok := c.Auth.user(r.PostFormValue("token")); ok {
			v, exp := c.Auth.newSession(u.ID)
			http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: v, Path: "/", Expires: exp,
				HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
			c.Logger.Info("console: signed in", "user", u.ID, "remote", r.RemoteAddr)
			http.Redirect(w, r, next, http.StatusSeeOther)
			return
		}
		c.Logger.Warn("console: failed sign-in", "remote", r.RemoteAddr)
		w.WriteHeader(http.StatusUnauthorized)
		data["Err"] = "That token is not valid."
	}
	c.render(w, r, "login.html", data)
}

func (c *Console) pageLogout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (c *Console) failPage(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	msg := "Internal error; see Vigil's log."
	if errors.Is(err, store.ErrNotFound) {
		status, msg = http.StatusNotFound, "No such incident."
	} else {
		c.Logger.Error("console", "err", err)
	}
	w.WriteHeader(status)
	c.render(w, r, "error.html", map[string]any{"Message": msg})
}

// me describes who the viewer is, for the page footer.
type me struct {
	Name    string
	Dev     bool // development mode: no login
	Session bool // signed in with the login form (can sign out)
}

func (c *Console) me(r *http.Request) me {
	if id, ok := r.Context().Value(identityKey{}).(identity); ok {
		return me{Name: id.Name, Session: id.Verification == verifySession}
	}
	if c.Auth == nil {
		return me{Name: c.User, Dev: true}
	}
	return me{}
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, name string, data map[string]any) {
	data["Me"] = c.me(r)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := c.pages.ExecuteTemplate(w, name, data); err != nil {
		c.Logger.Error("console: render", "page", name, "err", err)
	}
}

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"join":      strings.Join,
	"sparkline": sparkline,
	"pct":       func(v float64) string { return fmt.Sprintf("%.0f%%", 100*max(0, min(1, v))) },
	"pending":   func(p incident.Proposal) bool { return p.Status == incident.ProposalPending },
	"threadMsg": func(id string, m MessageView) threadMsg { return threadMsg{ID: id, M: m} },
}

// threadMsg is a thread message with its incident's id, for the template that
// draws a message's body and buttons.
type threadMsg struct {
	ID string
	M  MessageView
}
