package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/vigilops/vigil/changes"
	"github.com/vigilops/vigil/internal/httpx"
	"github.com/vigilops/vigil/store"
)

// ChangeStore is where change events go; *store.Store is one. Changes are
// stored with MayOpen false: they join the open incident of their service,
// or wait in the store for correlation and timelines.
type ChangeStore interface {
	IngestEvents(ctx context.Context, source string, signals []store.SignalIn, now time.Time) (store.IngestResult, error)
}

// githubMaxBody is GitHub's own cap on a webhook payload.
const githubMaxBody = 25 << 20

// GitHub receives GitHub webhook deliveries at POST /api/v1/github/webhook
// and stores deployments, deployment statuses, pushes and merged pull
// requests as change events of the services their repositories build.
//
// Every delivery must carry X-Hub-Signature-256, the HMAC-SHA256 of the raw
// body under Secret; anything else gets 401 before the body is looked at.
// Event types that are not changes, and changes that concern no service (a
// push to a feature branch), are acknowledged with 200 and a message, so
// GitHub does not retry them.
type GitHub struct {
	Store ChangeStore
	// Secret is the webhook's secret. Empty refuses every delivery: an HMAC
	// under an empty key proves nothing.
	Secret []byte
	// Catalog maps repositories to services; nil stores every change without
	// a service.
	Catalog *changes.Catalog
	// MaxBody caps a delivery's body; 0 means GitHub's own 25 MiB. The
	// server-wide http.max_body_bytes still applies.
	MaxBody int64
	// Notify is called after changes are stored, to wake the dispatcher.
	Notify func()
	Logger *slog.Logger
}

// GitHubReply is the body of a 200 answer.
type GitHubReply struct {
	Accepted   int      `json:"accepted"`
	Duplicates int      `json:"duplicates"`
	Incidents  []string `json:"incidents"`
	// Changes are the summaries of the changes in the delivery.
	Changes []string `json:"changes,omitempty"`
	// Message says why a delivery stored nothing.
	Message string `json:"message,omitempty"`
}

// ServeHTTP handles one delivery.
func (h *GitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	event, delivery := github.WebHookType(r), github.DeliveryID(r)
	log := h.Logger.With("event", event, "delivery", delivery)
	body, err := h.verified(w, r)
	if err != nil {
		log.Warn("github: delivery refused", "err", err)
		httpx.WriteError(w, err)
		return
	}
	payload, err := webhookPayload(r.Header.Get("Content-Type"), body)
	if err != nil {
		httpx.WriteError(w, err)
		return
	}
	cs, ignored, err := h.changes(event, payload)
	if err != nil {
		httpx.WriteError(w, err)
		return
	}
	if len(cs) == 0 {
		log.Info("github: delivery ignored", "why", ignored)
		httpx.WriteJSON(w, http.StatusOK, GitHubReply{Incidents: []string{}, Message: ignored})
		return
	}
	in := make([]store.SignalIn, len(cs))
	reply := GitHubReply{}
	for i, c := range cs {
		in[i] = store.SignalIn{Event: c.Event(time.Time{})}
		reply.Changes = append(reply.Changes, c.Summary())
	}
	res, err := h.Store.IngestEvents(r.Context(), changes.Source, in, time.Now())
	if err != nil {
		log.Error("github: store changes", "err", err)
		httpx.WriteError(w, &httpx.Error{Status: http.StatusServiceUnavailable, Message: "changes could not be stored; nothing was accepted, redeliver later"})
		return
	}
	if res.Accepted > 0 && h.Notify != nil {
		h.Notify()
	}
	log.Info("github: changes", "accepted", res.Accepted, "duplicates", res.Duplicates, "incidents", res.Incidents)
	reply.Accepted, reply.Duplicates, reply.Incidents = res.Accepted, res.Duplicates, res.Incidents
	if reply.Incidents == nil {
		reply.Incidents = []string{}
	}
	httpx.WriteJSON(w, http.StatusOK, reply)
}

// verified reads the body and checks its signature. It accepts only
// X-Hub-Signature-256: GitHub's SHA-1 signature is weaker, and go-github's
// ValidatePayload would fall back to it.
func (h *GitHub) verified(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	limit := h.MaxBody
	if limit <= 0 {
		limit = githubMaxBody
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, &httpx.Error{Status: http.StatusRequestEntityTooLarge, Message: fmt.Sprintf("request body exceeds %d bytes; nothing was accepted", tooBig.Limit)}
	case err != nil:
		return nil, &httpx.Error{Status: http.StatusBadRequest, Message: "cannot read the request body: " + err.Error()}
	}
	unauthorized := func(msg string) error {
		return &httpx.Error{Status: http.StatusUnauthorized, Message: msg + "; nothing was accepted"}
	}
	sig := r.Header.Get(github.SHA256SignatureHeader)
	switch {
	case len(h.Secret) == 0:
		return nil, unauthorized("GitHub webhooks have no secret configured (changes.webhook_secret)")
	case !strings.HasPrefix(sig, "sha256="):
		return nil, unauthorized("missing " + github.SHA256SignatureHeader + " (set the webhook's secret in GitHub to changes.webhook_secret)")
	}
	// ValidateSignature compares in constant time (hmac.Equal).
	if err := github.ValidateSignature(sig, body, h.Secret); err != nil {
		return nil, unauthorized(github.SHA256SignatureHeader + " does not match the body under the configured secret")
	}
	return body, nil
}

// webhookPayload extracts the JSON payload of a verified body, in either of
// the content types a GitHub webhook can be set to.
func webhookPayload(contentType string, body []byte) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	switch {
	case err == nil && mt == "application/json":
		return body, nil
	case err == nil && mt == "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil || form.Get("payload") == "" {
			return nil, &httpx.Error{Status: http.StatusBadRequest, Message: "form-encoded delivery without a payload field; nothing was accepted"}
		}
		return []byte(form.Get("payload")), nil
	default:
		return nil, &httpx.Error{Status: http.StatusUnsupportedMediaType, Message: fmt.Sprintf("Content-Type %q: send application/json or application/x-www-form-urlencoded", contentType)}
	}
}

// changes converts a verified payload into the changes it makes, attributed
// to services. When there are none, ignored says why.
func (h *GitHub) changes(event string, payload []byte) (cs []changes.Change, ignored string, err error) {
	switch event {
	case "deployment", "deployment_status", "push", "pull_request":
	case "ping":
		return nil, "ping received: the webhook is set up", nil
	case "":
		return nil, "", &httpx.Error{Status: http.StatusBadRequest, Message: "missing X-GitHub-Event header"}
	default:
		return nil, fmt.Sprintf("event type %q is not a change; ignored (send deployment, deployment_status, push or pull_request)", event), nil
	}
	parsed, err := github.ParseWebHook(event, payload)
	if err != nil {
		return nil, "", &httpx.Error{Status: http.StatusBadRequest, Message: fmt.Sprintf("malformed %s payload: %v; nothing was accepted", event, err)}
	}
	var c changes.Change
	var defaultBranch string
	var problems []string
	need := func(ok bool, field string) {
		if !ok {
			problems = append(problems, field+": is required")
		}
	}
	switch e := parsed.(type) {
	case *github.DeploymentEvent:
		d := e.GetDeployment()
		need(e.GetRepo().GetFullName() != "", "repository.full_name")
		need(d.GetID() != 0, "deployment.id")
		need(!d.GetCreatedAt().IsZero(), "deployment.created_at")
		c, defaultBranch = changes.FromDeployment(e.GetRepo().GetFullName(), d), e.GetRepo().GetDefaultBranch()
	case *github.DeploymentStatusEvent:
		st := e.GetDeploymentStatus()
		need(e.GetRepo().GetFullName() != "", "repository.full_name")
		need(e.GetDeployment().GetID() != 0, "deployment.id")
		need(st.GetID() != 0, "deployment_status.id")
		need(!st.GetCreatedAt().IsZero(), "deployment_status.created_at")
		switch st.GetState() {
		case "success", "failure", "error", "in_progress":
		default:
			return nil, fmt.Sprintf("deployment status %q changes nothing yet; ignored", st.GetState()), nil
		}
		c, defaultBranch = changes.FromDeploymentStatus(e), e.GetRepo().GetDefaultBranch()
	case *github.PushEvent:
		need(e.GetRepo().GetFullName() != "", "repository.full_name")
		need(e.GetAfter() != "", "after")
		switch {
		case e.GetDeleted():
			return nil, fmt.Sprintf("push deleted %s; ignored", e.GetRef()), nil
		case !strings.HasPrefix(e.GetRef(), "refs/heads/"):
			return nil, fmt.Sprintf("push to %s is not to a branch; ignored", e.GetRef()), nil
		case len(e.Commits) == 0:
			return nil, fmt.Sprintf("push to %s holds no new commits; ignored", e.GetRef()), nil
		}
		c, defaultBranch = changes.FromPush(e, time.Now()), e.GetRepo().GetDefaultBranch()
	case *github.PullRequestEvent:
		pr := e.GetPullRequest()
		need(e.GetRepo().GetFullName() != "", "repository.full_name")
		need(pr.GetNumber() != 0, "pull_request.number")
		if e.GetAction() != "closed" || !pr.GetMerged() {
			return nil, fmt.Sprintf("pull request #%d %s without a merge; ignored", pr.GetNumber(), e.GetAction()), nil
		}
		need(!pr.GetMergedAt().IsZero(), "pull_request.merged_at")
		c, defaultBranch = changes.FromPullRequest(e.GetRepo().GetFullName(), pr), e.GetRepo().GetDefaultBranch()
	}
	if len(problems) > 0 {
		return nil, "", &httpx.Error{Status: http.StatusBadRequest, Message: fmt.Sprintf("invalid %s payload; nothing was accepted", event), Problems: problems}
	}
	cs = h.Catalog.Attribute(c, defaultBranch)
	if len(cs) == 0 {
		return nil, fmt.Sprintf("%s concerns no configured service of %s; ignored", c.Summary(), c.Repo), nil
	}
	return cs, "", nil
}
