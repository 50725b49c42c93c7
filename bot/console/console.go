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
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/bot/commands"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/internal/httpx"
	"github.com/vigilops/vigil/store"
	"github.com/vigilops/vigil/workflows/contract"
)

//go:embed assets
var assets embed.FS

// Reader is what the console reads from the store.
type Reader interface {
	ListIncidents(ctx context.Context, f store.IncidentFilter) ([]incident.Incident, error)
	Incident(ctx context.Context, id string) (incident.Incident, error)
	Messages(ctx context.Context, incidentID string) ([]store.Message, error)
	AuditTrail(ctx context.Context, incidentID string) ([]audit.Record, error)
}

// Decider sends decisions to incidents.
type Decider interface {
	Decide(ctx context.Context, incidentID string, req contract.DecideRequest) (contract.Answer, error)
	Act(ctx context.Context, incidentID, act string, req contract.ActRequest) (contract.Answer, error)
	Input(ctx context.Context, incidentID string, req contract.InputRequest) (contract.Answer, error)
}

// Console serves the web console and the incidents API.
//
// With Auth nil it runs in development mode: no login, pages act as User and the
// API takes the user from the request body. With Auth, every page and API call
// needs an authenticated user, and acts are attributed to that user only.
type Console struct {
	Store   Reader
	Decider Decider
	// Runner takes manual run requests (POST /api/v1/runs); nil refuses them.
	Runner commands.Runner
	// User is the identity the console acts as in development mode.
	User   string
	Auth   *Auth
	Logger *slog.Logger
	// Poll is how often a live page checks the store for changes. Default 1s.
	Poll time.Duration

	pages    *template.Template
	routes   Routes
	stopOnce sync.Once
	stop     chan struct{}
}

// Routes selects the console's routes, so replicas can serve the pages and
// the API apart.
type Routes int

// The console's routes.
const (
	// Pages are the web pages, the login form and the page assets.
	Pages Routes = 1 << iota
	// API is the incidents API under /api/v1/ (incidents, decisions, acts,
	// inputs, runs, timelines, reports).
	API
)

// Verification strings recorded with decisions made in development mode.
const (
	verifyDevConsole = "dev-mode console: no login, acting as the configured console user"
	verifyDevAPI     = "dev-mode API: unauthenticated, user as given in the request"
)

// Register adds the console's routes to mux. Pages and the API go through
// authentication (page and api); state-changing routes also refuse cross-origin
// browser requests (CSRF), so another site cannot approve for you. To add a
// page, add one line here: c.page(mux, "GET /incidents/{id}/thing", c.pageThing).
func (c *Console) Register(mux *http.ServeMux) { c.RegisterRoutes(mux, Pages|API) }

// RegisterRoutes is Register for the pages, the API or both. Call it once.
func (c *Console) RegisterRoutes(mux *http.ServeMux, routes Routes) {
	c.pages = template.Must(template.New("").Funcs(funcs).ParseFS(assets, "assets/*.html"))
	c.stop = make(chan struct{})
	c.routes = routes
	c.api(mux, "GET /api/v1/incidents", c.apiList)
	c.api(mux, "GET /api/v1/incidents/{id}", c.apiGet)
	c.api(mux, "POST /api/v1/incidents/{id}/decisions", c.apiDecide)
	c.page(mux, "GET /{$}", c.pageList)
	c.page(mux, "GET /incidents/{id}", c.pageIncident)
	c.page(mux, "GET /incidents/{id}/live", c.pageLive)
	c.page(mux, "POST /incidents/{id}/decide", c.pageDecide) // acts.go
	c.open(mux, "GET /login", c.pageLogin)
	c.open(mux, "POST /login", c.pageLogin)
	c.open(mux, "POST /logout", c.pageLogout)
	c.registerReview(mux) // timelines and reports: review.go
	c.registerActs(mux)   // acts, input answers, manual runs: acts.go
	if routes&Pages != 0 {
		mux.Handle("GET /assets/", http.FileServerFS(assets))
	}
}

// Shutdown ends live pages' event streams, so an HTTP server shutting down does
// not wait for them.
func (c *Console) Shutdown() {
	c.stopOnce.Do(func() {
		if c.stop != nil {
			close(c.stop)
		}
	})
}

// page registers a page: unauthenticated visitors are sent to the login form.
func (c *Console) page(mux *http.ServeMux, pattern string, h http.HandlerFunc) {
	if c.routes&Pages == 0 {
		return
	}
	mux.Handle(pattern, c.guard(pattern, h, func(w http.ResponseWriter, r *http.Request) {
		if len(c.Auth.opts.Users) == 0 {
			w.WriteHeader(http.StatusUnauthorized)
			c.render(w, r, "error.html", map[string]any{"Message": "Sign in through your organisation's single sign-on proxy."})
			return
		}
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
	}))
}

// api registers an API route: unauthenticated calls get 401.
func (c *Console) api(mux *http.ServeMux, pattern string, h http.HandlerFunc) {
	if c.routes&API == 0 {
		return
	}
	mux.Handle(pattern, c.guard(pattern, h, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="vigil"`)
		httpx.WriteError(w, &httpx.Error{Status: http.StatusUnauthorized, Message: "authentication required: send Authorization: Bearer <token> (console.users in vigil.yaml)"})
	}))
}

// open registers a route anyone may reach (the login form), CSRF-protected when
// it changes state.
func (c *Console) open(mux *http.ServeMux, pattern string, h http.HandlerFunc) {
	if c.routes&Pages == 0 {
		return
	}
	var handler http.Handler = h
	if strings.HasPrefix(pattern, "POST ") {
		handler = http.NewCrossOriginProtection().Handler(handler)
	}
	mux.Handle(pattern, handler)
}

func (c *Console) guard(pattern string, h http.HandlerFunc, refuse http.HandlerFunc) http.Handler {
	var handler http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.Auth == nil {
			h(w, r)
			return
		}
		id, ok := c.Auth.authenticate(r)
		if !ok {
			refuse(w, r)
			return
		}
		h(w, r.WithContext(withIdentity(r.Context(), id)))
	})
	if strings.HasPrefix(pattern, "POST ") {
		handler = http.NewCrossOriginProtection().Handler(handler)
	}
	return handler
}

// actor is who is acting through this request on surface ("console" or "api").
// In development mode that is the console user, or for the API the user the
// body names (given).
func (c *Console) actor(r *http.Request, surface, given string) incident.Actor {
	if id, ok := r.Context().Value(identityKey{}).(identity); ok {
		return incident.Actor{User: id.User, DisplayName: id.Name, Surface: surface, Verification: id.Verification, Groups: id.Groups}
	}
	if surface == "api" && given != "" {
		return incident.Actor{User: given, Surface: surface, Verification: verifyDevAPI}
	}
	verification := verifyDevConsole
	if surface == "api" {
		verification = verifyDevAPI
	}
	return incident.Actor{User: c.User, Surface: surface, Verification: verification}
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

// listFilter is the incident list's query: ?status=&service=&severity=&since=.
type listFilter struct {
	Status, Service, Severity, Since string
}

// sinceChoices are the detection-time filters offered; Value is a Go duration.
var sinceChoices = []struct{ Value, Label string }{{"1h", "last hour"}, {"24h", "last day"}, {"168h", "last week"}}

func filterFrom(r *http.Request) listFilter {
	q := r.URL.Query()
	return listFilter{Status: q.Get("status"), Service: q.Get("service"), Severity: q.Get("severity"), Since: q.Get("since")}
}

// list returns the incidents matching f, newest first.
func (c *Console) list(ctx context.Context, f listFilter) ([]incident.Incident, error) {
	sf := store.IncidentFilter{Status: incident.Status(f.Status), Limit: 500}
	if d, err := time.ParseDuration(f.Since); err == nil && d > 0 {
		sf.Since = time.Now().Add(-d)
	}
	list, err := c.Store.ListIncidents(ctx, sf)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(list, func(inc incident.Incident) bool {
		return (f.Service != "" && !slices.Contains(inc.Services, f.Service) && inc.GroupLabels["service"] != f.Service) ||
			(f.Severity != "" && inc.Severity != f.Severity)
	}), nil
}

func (c *Console) apiList(w http.ResponseWriter, r *http.Request) {
	list, err := c.list(r.Context(), filterFrom(r))
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

// DecisionRequest is the body of POST /api/v1/incidents/{id}/decisions. User is
// honoured in development mode only; with authentication the decision is the
// authenticated user's, and a different User is refused.
type DecisionRequest struct {
	ProposalID string `json:"proposal_id"`
	Decision   string `json:"decision"`
	User       string `json:"user"`
	Comment    string `json:"comment"`
	// PlanHash, when given, is the plan the caller saw; the workflow refuses an
	// approval if the plan has changed since.
	PlanHash string `json:"plan_hash"`
}

func (c *Console) apiDecide(w http.ResponseWriter, r *http.Request) {
	var req DecisionRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		httpx.WriteError(w, err)
		return
	}
	actor := c.actor(r, "api", req.User)
	var problems []string
	if req.ProposalID == "" {
		problems = append(problems, "proposal_id: is required (e.g. \"P1\")")
	}
	if req.Decision != incident.Approve && req.Decision != incident.Reject {
		problems = append(problems, `decision: must be "approve" or "reject"`)
	}
	if req.User != "" && req.User != actor.User {
		problems = append(problems, "user: is set by authentication; omit it (you are "+actor.User+")")
	}
	if len(problems) > 0 {
		httpx.WriteError(w, &httpx.Error{Status: http.StatusUnprocessableEntity, Message: "invalid decision", Problems: problems})
		return
	}
	res, err := c.decide(r.Context(), r.PathValue("id"), contract.DecideRequest{
		ProposalID: req.ProposalID, Decision: req.Decision, Comment: req.Comment, PlanHash: req.PlanHash, Actor: actor,
	})
	if err != nil {
		c.fail(w, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, res)
}

// decide checks the incident exists, then asks its workflow.
func (c *Console) decide(ctx context.Context, id string, req contract.DecideRequest) (contract.Answer, error) {
	if _, err := c.Store.Incident(ctx, id); err != nil {
		return contract.Answer{}, err
	}
	return c.Decider.Decide(ctx, id, req)
}

// fail maps an error to an HTTP answer that says what happened.
func (c *Console) fail(w http.ResponseWriter, err error) {
	var refusal *contract.Refusal
	switch {
	case errors.As(err, &refusal):
		status := map[string]int{
			contract.RefusedBadRequest: http.StatusUnprocessableEntity,
			contract.RefusedForbidden:  http.StatusForbidden,
			contract.RefusedNotFound:   http.StatusNotFound,
			contract.RefusedConflict:   http.StatusConflict,
		}[refusal.Kind]
		if status == 0 {
			status = http.StatusConflict
		}
		httpx.WriteError(w, &httpx.Error{Status: status, Message: refusal.Message})
	case errors.Is(err, store.ErrNotFound):
		httpx.WriteError(w, &httpx.Error{Status: http.StatusNotFound, Message: err.Error()})
	case errors.Is(err, contract.ErrIncidentClosed):
		httpx.WriteError(w, &httpx.Error{Status: http.StatusConflict, Message: "the incident is closed; it takes no more decisions"})
	default:
		c.Logger.Error("console", "err", err)
		httpx.WriteError(w, &httpx.Error{Status: http.StatusInternalServerError, Message: "internal error; see Vigil's log"})
	}
}
