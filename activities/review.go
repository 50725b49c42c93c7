package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-github/v60/github"
	"go.temporal.io/sdk/temporal"

	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/review"
	"github.com/vigilops/vigil/store"
)

// ReviewStore is the part of the store the review activities use.
type ReviewStore interface {
	AuditTrail(ctx context.Context, incidentID string) ([]audit.Record, error)
	SealIncident(ctx context.Context, incidentID string) (audit.Checkpoint, error)
}

// IssueFiler files postmortem drafts as issues.
type IssueFiler interface {
	// FileIssue creates an issue, or edits the one whose body already holds
	// marker, so filing the same draft again never duplicates it. It returns the
	// issue's URL.
	FileIssue(ctx context.Context, marker, title, body string) (string, error)
}

// Review holds the activities that close an incident's record: a signed
// checkpoint of its audit trail, and the postmortem draft. They are kept apart
// from Activities because only they need the GitHub filer.
type Review struct {
	Store ReviewStore
	Chat  bot.Surface
	// Issues files drafts as issues too; nil posts them to the thread only.
	Issues IssueFiler
	Logger *slog.Logger
}

// CheckpointInput names the incident to seal.
type CheckpointInput struct {
	IncidentID string
}

// CheckpointResult is the incident checkpoint that seals the incident's audit
// records so far. Signed is false when audit signing is not configured; nothing
// was sealed then.
type CheckpointResult struct {
	Signed     bool
	Checkpoint audit.Checkpoint
}

// Checkpoint signs an incident checkpoint covering every audit record of the
// incident so far (see store.SealIncident). It is idempotent: called again with
// no new records, it returns the same checkpoint. An incident without records
// fails without retrying; a trail whose head is not vouched for fails until a
// human has looked, like every audit write.
func (r *Review) Checkpoint(ctx context.Context, in CheckpointInput) (CheckpointResult, error) {
	cp, err := r.Store.SealIncident(ctx, in.IncidentID)
	switch {
	case errors.Is(err, store.ErrNotSigning):
		return CheckpointResult{}, nil
	case errors.Is(err, store.ErrNotFound):
		return CheckpointResult{}, temporal.NewNonRetryableApplicationError(err.Error(), "NoAuditRecords", err)
	case err != nil:
		return CheckpointResult{}, err
	}
	return CheckpointResult{Signed: true, Checkpoint: cp}, nil
}

// PostmortemInput is the incident as the workflow holds it at resolution.
type PostmortemInput struct {
	Incident incident.Incident
}

// PostmortemResult says where the draft went.
type PostmortemResult struct {
	Checkpoint CheckpointResult
	// IssueURL is the issue the draft was filed as; empty without a filer.
	IssueURL string
}

// PostmortemKey is the thread message key of the draft: posting again (after a
// retry, or when a reopened incident resolves again) edits it.
const PostmortemKey = "postmortem"

// maxDraftInChat caps the draft shown in a thread; the issue holds all of it.
const maxDraftInChat = 12000

// Postmortem seals the incident's audit records, writes the postmortem draft
// from them (citing the checkpoint), posts it to the thread and, with a filer,
// files it as an issue, or updates the issue filed for this incident before. The
// draft reaches the thread even when filing fails; the activity then fails, and
// a retry edits the post and files again without duplicating either.
func (r *Review) Postmortem(ctx context.Context, in PostmortemInput) (PostmortemResult, error) {
	id := in.Incident.ID
	var res PostmortemResult
	var err error
	if res.Checkpoint, err = r.Checkpoint(ctx, CheckpointInput{IncidentID: id}); err != nil {
		return res, err
	}
	recs, err := r.Store.AuditTrail(ctx, id)
	if err != nil {
		return res, err
	}
	pm := review.PostmortemInput{Source: review.Source{Incident: in.Incident, Audit: recs}}
	if res.Checkpoint.Signed {
		pm.Checkpoint = &res.Checkpoint.Checkpoint
	}
	draft := review.Postmortem(pm)

	var fileErr error
	if r.Issues != nil {
		marker := fmt.Sprintf("<!-- vigil:postmortem incident=%s -->", id)
		res.IssueURL, fileErr = r.Issues.FileIssue(ctx, marker, review.PostmortemTitle(in.Incident), draft+"\n"+marker+"\n")
		if fileErr != nil {
			r.logger().Warn("postmortem: file issue", "incident", id, "err", fileErr)
		}
	}
	if err := r.Chat.Post(ctx, id, PostmortemKey, draftMessage(draft, res.IssueURL, fileErr)); err != nil {
		return res, err
	}
	if fileErr != nil {
		return res, fmt.Errorf("postmortem of %s: file issue: %w", id, fileErr)
	}
	return res, nil
}

func (r *Review) logger() *slog.Logger {
	if r.Logger == nil {
		return slog.Default()
	}
	return r.Logger
}

// draftMessage is the thread message carrying a draft.
func draftMessage(draft, issueURL string, fileErr error) bot.Message {
	m := bot.Message{
		Kind:  bot.KindStatus,
		Title: "Postmortem draft",
		Text:  "Written from the audit trail when the incident resolved. Edit it before you share it.",
		Code:  draft,
	}
	if len(m.Code) > maxDraftInChat {
		m.Code = m.Code[:maxDraftInChat] + "\n… (cut here; `vigil timeline` and the issue have all of it)"
	}
	switch {
	case issueURL != "":
		m.Fields = []bot.Field{{Label: "Issue", Value: issueURL}}
	case fileErr != nil:
		m.Fields = []bot.Field{{Label: "Issue", Value: "not filed yet; Vigil retries (" + fileErr.Error() + ")"}}
	}
	return m
}

// GitHubIssues files issues in one GitHub repository.
type GitHubIssues struct {
	client      *github.Client
	owner, repo string
	labels      []string
}

var _ IssueFiler = (*GitHubIssues)(nil)

// NewGitHubIssues files issues in repo (owner/name) with labels, through the
// REST API at baseURL (empty: https://api.github.com/; GitHub Enterprise Server:
// https://HOST/api/v3/) with token. hc may be nil.
func NewGitHubIssues(baseURL, token, repo string, labels []string, hc *http.Client) (*GitHubIssues, error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return nil, fmt.Errorf("github issues: repo %q must be owner/name", repo)
	}
	c := github.NewClient(hc)
	if token != "" {
		c = c.WithAuthToken(token)
	}
	if baseURL != "" {
		u, err := url.Parse(strings.TrimSuffix(baseURL, "/") + "/")
		if err != nil {
			return nil, fmt.Errorf("github issues: base URL %q: %w", baseURL, err)
		}
		c.BaseURL = u
	}
	return &GitHubIssues{client: c, owner: owner, repo: name, labels: labels}, nil
}

// FileIssue implements IssueFiler. It looks for marker among the 100 most
// recent issues carrying the labels (the list API, unlike search, sees an issue
// as soon as it exists).
func (g *GitHubIssues) FileIssue(ctx context.Context, marker, title, body string) (string, error) {
	opts := &github.IssueListByRepoOptions{State: "all", Labels: g.labels, Sort: "created", Direction: "desc", ListOptions: github.ListOptions{PerPage: 100}}
	issues, _, err := g.client.Issues.ListByRepo(ctx, g.owner, g.repo, opts)
	if err != nil {
		return "", fmt.Errorf("github: list issues of %s/%s: %w", g.owner, g.repo, err)
	}
	req := &github.IssueRequest{Title: &title, Body: &body}
	for _, is := range issues {
		if strings.Contains(is.GetBody(), marker) {
			edited, _, err := g.client.Issues.Edit(ctx, g.owner, g.repo, is.GetNumber(), req)
			if err != nil {
				return "", fmt.Errorf("github: edit issue %s/%s#%d: %w", g.owner, g.repo, is.GetNumber(), err)
			}
			return edited.GetHTMLURL(), nil
		}
	}
	labels := append([]string{}, g.labels...)
	req.Labels = &labels
	created, _, err := g.client.Issues.Create(ctx, g.owner, g.repo, req)
	if err != nil {
		return "", fmt.Errorf("github: create issue in %s/%s: %w", g.owner, g.repo, err)
	}
	return created.GetHTMLURL(), nil
}
