package console

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/internal/httpx"
	"github.com/vigilops/vigil/store"
	"github.com/vigilops/vigil/workflows"
)

//go:embed assets
var assets embed.FS

// Reader is what the console reads from the store.
type Reader interface {
	ListIncidents(ctx context.Context, f store.IncidentFilter) ([]incident.Incident, error)
	Incident(ctx context.Context, id string) (incident.Incident, error)
	Messages(ctx context.Context, incidentID string) ([]store.Message, error)
}

// Decider sends decisions to incidents.
type Decider interface {
	Decide(ctx context.Context, incidentID string, req workflows.DecideRequest) (workflows.Answer, error)
}

// Console serves the web console and the incidents API.
type Console struct {
	Store   Reader
	Decider Decider
	// User is the identity the console acts as in development mode.
	User   string
	Logger *slog.Logger

	pages *template.Template
}

// Verification strings recorded with decisions made here.
const (
	verifyDevConsole = "dev-mode console: no login, acting as the configured console user"
	verifyDevAPI     = "dev-mode API: unauthenticated, user as given in the request"
)

// Register adds the console's routes to mux. State-changing routes refuse
// cross-origin browser requests (CSRF), so another site cannot approve for you.
func (c *Console) Register(mux *http.ServeMux) {
	c.pages = template.Must(template.New("").Funcs(funcs).ParseFS(assets, "assets/*.html"))
	csrf := http.NewCrossOriginProtection()
	mux.HandleFunc("GET /api/v1/incidents", c.apiList)
	mux.HandleFunc("GET /api/v1/incidents/{id}", c.apiGet)
	mux.Handle("POST /api/v1/incidents/{id}/decisions", csrf.Handler(http.HandlerFunc(c.apiDecide)))
	mux.HandleFunc("GET /{$}", c.pageList)
	mux.HandleFunc("GET /incidents/{id}", c.pageIncident)
	mux.Handle("POST /incidents/{id}/decide", csrf.Handler(http.HandlerFunc(c.pageDecide)))
	mux.Handle("GET /assets/", http.FileServerFS(assets))
}

// IncidentView is an incident with its thread, as the API returns it.
type IncidentView struct {
	incident.Incident
	Proposals []ProposalView `json:"proposals"`
	Messages  []MessageView  `json:"messages"`
}

// ProposalView adds the rendered plan to a proposal.
type ProposalView struct {
	incident.Proposal
	Plan []string `json:"plan"`
}

// MessageView is one thread message.
type MessageView struct {
	Key string `json:"key"`
	bot.Message
	PostedAt  time.Time `json:"posted_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func (c *Console) view(ctx context.Context, id string) (IncidentView, error) {
	inc, err := c.Store.Incident(ctx, id)
	if err != nil {
		return IncidentView{}, err
	}
	msgs, err := c.Store.Messages(ctx, id)
	if err != nil {
		return IncidentView{}, err
	}
	v := IncidentView{Incident: inc, Proposals: []ProposalView{}, Messages: []MessageView{}}
	for _, p := range inc.Proposals {
		v.Proposals = append(v.Proposals, ProposalView{Proposal: p, Plan: p.Plan()})
	}
	for _, m := range msgs {
		mv := MessageView{Key: m.Key, PostedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
		if err := json.Unmarshal(m.Body, &mv.Message); err != nil {
			return IncidentView{}, err
		}
		v.Messages = append(v.Messages, mv)
	}
	return v, nil
}

func (c *Console) apiList(w http.ResponseWriter, r *http.Request) {
	status := incident.Status(r.URL.Query().Get("status"))
	list, err := c.Store.ListIncidents(r.Context(), store.IncidentFilter{Status: status})
	if err != nil {
		c.fail(w, err)
		return
	}
	out := make([]IncidentSummary, len(list))
	for i, inc := range list {
		out[i] = summarize(inc)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"incidents": out})
}

// IncidentSummary is one incident in the list API; GET /api/v1/incidents/{id} has
// the rest.
type IncidentSummary struct {
	ID               string          `json:"id"`
	Title            string          `json:"title"`
	Status           incident.Status `json:"status"`
	Severity         string          `json:"severity"`
	Services         []string        `json:"services"`
	AlertsFiring     int             `json:"alerts_firing"`
	AlertsTotal      int             `json:"alerts_total"`
	PendingProposals []string        `json:"pending_proposals"`
	DetectedAt       time.Time       `json:"detected_at"`
	UpdatedAt        time.Time       `json:"updated_at"`
	ResolvedAt       time.Time       `json:"resolved_at,omitzero"`
}

func summarize(inc incident.Incident) IncidentSummary {
	s := IncidentSummary{
		ID: inc.ID, Title: inc.Title, Status: inc.Status, Severity: inc.Severity, Services: inc.Services,
		AlertsTotal: len(inc.Alerts), PendingProposals: []string{},
		DetectedAt: inc.DetectedAt, UpdatedAt: inc.UpdatedAt, ResolvedAt: inc.ResolvedAt,
	}
	if s.Services == nil {
		s.Services = []string{}
	}
	for _, a := range inc.Alerts {
		if a.Status == incident.AlertFiring {
			s.AlertsFiring++
		}
	}
	for _, p := range inc.Proposals {
		if p.Status == incident.ProposalPending {
			s.PendingProposals = append(s.PendingProposals, p.ID)
		}
	}
	return s
}

func (c *Console) apiGet(w http.ResponseWriter, r *http.Request) {
	v, err := c.view(r.Context(), r.PathValue("id"))
	if err != nil {
		c.fail(w, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, v)
}

// DecisionRequest is the body of POST /api/v1/incidents/{id}/decisions.
type DecisionRequest struct {
	ProposalID string `json:"proposal_id"`
	Decision   string `json:"decision"`
	User       string `json:"user"`
	Comment    string `json:"comment"`
}

func (c *Console) apiDecide(w http.ResponseWriter, r *http.Request) {
	var req DecisionRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		httpx.WriteError(w, err)
		return
	}
	var problems []string
	if req.ProposalID == "" {
		problems = append(problems, "proposal_id: is required (e.g. \"P1\")")
	}
	if req.Decision != incident.Approve && req.Decision != incident.Reject {
		problems = append(problems, `decision: must be "approve" or "reject"`)
	}
	if len(problems) > 0 {
		httpx.WriteError(w, &httpx.Error{Status: http.StatusUnprocessableEntity, Message: "invalid decision", Problems: problems})
		return
	}
	user := req.User
	if user == "" {
		user = c.User
	}
	res, err := c.decide(r.Context(), r.PathValue("id"), workflows.DecideRequest{
		ProposalID: req.ProposalID, Decision: req.Decision, Comment: req.Comment,
		Actor: incident.Actor{User: user, Surface: "api", Verification: verifyDevAPI},
	})
	if err != nil {
		c.fail(w, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, res)
}

// decide checks the incident exists, then asks its workflow.
func (c *Console) decide(ctx context.Context, id string, req workflows.DecideRequest) (workflows.Answer, error) {
	if _, err := c.Store.Incident(ctx, id); err != nil {
		return workflows.Answer{}, err
	}
	return c.Decider.Decide(ctx, id, req)
}

// fail maps an error to an HTTP answer that says what happened.
func (c *Console) fail(w http.ResponseWriter, err error) {
	var refusal *workflows.Refusal
	switch {
	case errors.As(err, &refusal):
		status := map[string]int{
			workflows.RefusedBadRequest: http.StatusUnprocessableEntity,
			workflows.RefusedForbidden:  http.StatusForbidden,
			workflows.RefusedNotFound:   http.StatusNotFound,
			workflows.RefusedConflict:   http.StatusConflict,
		}[refusal.Kind]
		if status == 0 {
			status = http.StatusConflict
		}
		httpx.WriteError(w, &httpx.Error{Status: status, Message: refusal.Message})
	case errors.Is(err, store.ErrNotFound):
		httpx.WriteError(w, &httpx.Error{Status: http.StatusNotFound, Message: err.Error()})
	case errors.Is(err, workflows.ErrIncidentClosed):
		httpx.WriteError(w, &httpx.Error{Status: http.StatusConflict, Message: "the incident is closed; it takes no more decisions"})
	default:
		c.Logger.Error("console", "err", err)
		httpx.WriteError(w, &httpx.Error{Status: http.StatusInternalServerError, Message: "internal error; see Vigil's log"})
	}
}

func (c *Console) pageList(w http.ResponseWriter, r *http.Request) {
	status := incident.Status(r.URL.Query().Get("status"))
	list, err := c.Store.ListIncidents(r.Context(), store.IncidentFilter{Status: status})
	if err != nil {
		c.failPage(w, err)
		return
	}
	c.render(w, "list.html", map[string]any{"Incidents": list, "Status": string(status), "User": c.User,
		"Statuses": []incident.Status{incident.StatusOpen, incident.StatusAwaitingApproval, incident.StatusRemediating, incident.StatusEscalated, incident.StatusResolved}})
}

func (c *Console) pageIncident(w http.ResponseWriter, r *http.Request) {
	v, err := c.view(r.Context(), r.PathValue("id"))
	if err != nil {
		c.failPage(w, err)
		return
	}
	c.render(w, "incident.html", map[string]any{"I": v, "User": c.User, "Msg": r.URL.Query().Get("msg"), "Err": r.URL.Query().Get("err")})
}

func (c *Console) pageDecide(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	back := "/incidents/" + url.PathEscape(id)
	if err := r.ParseForm(); err != nil {
		http.Redirect(w, r, back+"?err="+url.QueryEscape("could not read the form: "+err.Error()), http.StatusSeeOther)
		return
	}
	decision, proposal, _ := strings.Cut(r.PostForm.Get("action"), ":")
	res, err := c.decide(r.Context(), id, workflows.DecideRequest{
		ProposalID: proposal, Decision: decision, Comment: r.PostForm.Get("comment"),
		Actor: incident.Actor{User: c.User, Surface: "console", Verification: verifyDevConsole},
	})
	if err != nil {
		var refusal *workflows.Refusal
		msg := "internal error; see Vigil's log"
		switch {
		case errors.As(err, &refusal):
			msg = refusal.Message
		case errors.Is(err, workflows.ErrIncidentClosed), errors.Is(err, store.ErrNotFound):
			msg = err.Error()
		default:
			c.Logger.Error("console: decide", "incident", id, "err", err)
		}
		http.Redirect(w, r, back+"?err="+url.QueryEscape(msg), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, back+"?msg="+url.QueryEscape(res.Message), http.StatusSeeOther)
}

func (c *Console) failPage(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	msg := "Internal error; see Vigil's log."
	if errors.Is(err, store.ErrNotFound) {
		status, msg = http.StatusNotFound, "No such incident."
	} else {
		c.Logger.Error("console", "err", err)
	}
	w.WriteHeader(status)
	c.render(w, "error.html", map[string]any{"Message": msg, "User": c.User})
}

func (c *Console) render(w http.ResponseWriter, name string, data any) {
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
	"join": strings.Join,
}
