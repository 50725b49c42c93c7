// Package changes turns what happens in GitHub repositories (deployments,
// merged pull requests, pushes and commits) into change events of the services
// built from them. Webhook deliveries are converted with the From* functions;
// a Fetcher lists the changes of a window through the REST API (go-github),
// e.g. the hour before an incident's onset; a Poller stores recent changes for
// repositories that cannot send webhooks.
//
// A change becomes an incident.Event of kind change, evidence in the thread,
// and an rca.Change, the change factor of root-cause ranking. Its id is the
// same whichever way it arrived, so a deployment delivered by webhook and
// fetched again later is stored once.
package changes

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/vigilops/vigil/analyzers/rca"
	"github.com/vigilops/vigil/incident"
)

// Kinds of change.
const (
	KindDeploy      = "deploy"       // a deployment was created, or its status changed
	KindPullRequest = "pull_request" // a pull request was merged
	KindPush        = "push"         // commits were pushed (webhooks)
	KindCommit      = "commit"       // a commit landed (the REST API)
)

// Source is the event source of every change.
const Source = "github"

// Change is one change to a repository or a deployment of it.
type Change struct {
	// ID identifies the change across webhooks and the API; for a change
	// attributed to a service it ends in "@service", so a monorepo's change
	// is one event per service it concerns.
	ID      string
	Kind    string
	Service string // empty when the repository is mapped to no service
	Repo    string // owner/name
	SHA     string
	// Branch is the branch a push or merge landed on, or a deployment's ref.
	Branch string
	Author string // GitHub login, without "@"
	At     time.Time
	// Number and Title describe a pull request; Title is also a commit's or
	// push's first message line.
	Number int
	Title  string
	// Environment and State describe a deployment; State is empty for a
	// deployment just created, else its status (success, failure, …).
	Environment string
	State       string
	Commits     int // commits in a push
	// PR is the merged pull request whose merge commit a deployment shipped.
	PR  *PullRef
	URL string
}

// PullRef names a pull request.
type PullRef struct {
	Number int
	Author string
}

// ForService returns the change attributed to service.
func (c Change) ForService(service string) Change {
	base, _, _ := strings.Cut(c.ID, "@")
	c.Service, c.ID = service, base+"@"+service
	return c
}

// Summary describes the change in one line, e.g. "deploy of checkout to
// production at 14:02 UTC, PR #812 by @ana". Times are UTC.
func (c Change) Summary() string {
	what := cmp.Or(c.Service, c.Repo)
	at := c.At.UTC().Format("15:04") + " UTC"
	switch c.Kind {
	case KindDeploy:
		s := "deploy of " + what
		if c.Environment != "" {
			s += " to " + c.Environment
		}
		s += " at " + at
		if c.State != "" {
			s += " (" + strings.ReplaceAll(c.State, "_", " ") + ")"
		}
		if c.PR != nil {
			return s + fmt.Sprintf(", PR #%d by @%s", c.PR.Number, c.PR.Author)
		}
		return s + by(c.Author) + shortSHA(c.SHA)
	case KindPullRequest:
		return fmt.Sprintf("PR #%d%s merged into %s %s at %s: %s", c.Number, by(c.Author), what, c.Branch, at, c.Title)
	case KindPush:
		n := "1 commit"
		if c.Commits != 1 {
			n = strconv.Itoa(c.Commits) + " commits"
		}
		return fmt.Sprintf("push of %s to %s %s at %s%s: %s", n, what, c.Branch, at, by(c.Author), c.Title)
	default:
		return fmt.Sprintf("commit %s%s to %s %s at %s: %s", short(c.SHA), by(c.Author), what, c.Branch, at, c.Title)
	}
}

// SummaryBefore is Summary followed by how long before onset the change
// happened, e.g. ", 4 min before onset".
func (c Change) SummaryBefore(onset time.Time) string {
	d := onset.Sub(c.At)
	if d < 0 {
		return c.Summary() + ", " + human(-d) + " after onset"
	}
	return c.Summary() + ", " + human(d) + " before onset"
}

// Event is the change as a change event. With a non-zero onset the summary
// says how long before it the change happened. Changes have no firing or
// resolved state, so Status is empty.
func (c Change) Event(onset time.Time) incident.Event {
	labels := map[string]string{"change": c.Kind, "repo": c.Repo}
	set := func(k, v string) {
		if v != "" {
			labels[k] = v
		}
	}
	set("service", c.Service)
	set("sha", c.SHA)
	set("author", c.Author)
	set("branch", c.Branch)
	set("environment", c.Environment)
	set("state", c.State)
	if c.Number != 0 {
		labels["pr"] = strconv.Itoa(c.Number)
	}
	if c.PR != nil {
		labels["pr"], labels["pr_author"] = strconv.Itoa(c.PR.Number), c.PR.Author
	}
	summary := c.Summary()
	if !onset.IsZero() {
		summary = c.SummaryBefore(onset)
	}
	return incident.Event{
		Source: Source, Kind: incident.KindChange, Fingerprint: c.ID, Labels: labels,
		StartsAt: c.At, GeneratorURL: c.URL, Summary: summary,
	}
}

// RCA is the change as root-cause ranking takes it: on the change's service,
// described relative to onset.
func (c Change) RCA(onset time.Time) rca.Change {
	return rca.Change{ID: c.ID, Component: c.Service, Time: c.At.Unix(), Summary: c.SummaryBefore(onset)}
}

func by(login string) string {
	if login == "" {
		return ""
	}
	return " by @" + login
}

func short(sha string) string { return sha[:min(len(sha), 7)] }

func shortSHA(sha string) string {
	if sha == "" {
		return ""
	}
	return " (" + short(sha) + ")"
}

// human renders a duration the way people say it: 40 s, 4 min, 2 h 5 min.
func human(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d%time.Hour < time.Minute:
		return fmt.Sprintf("%d h", int(d.Hours()))
	default:
		return fmt.Sprintf("%d h %d min", int(d.Hours()), int((d % time.Hour).Minutes()))
	}
}

// firstLine is a commit message's subject.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line)
}

func id(repo, kind, key string) string {
	return "github:" + strings.ToLower(repo) + ":" + kind + ":" + key
}

// FromDeployment converts a deployment (from a deployment webhook or the API).
func FromDeployment(repo string, d *github.Deployment) Change {
	return Change{
		ID: id(repo, "deployment", strconv.FormatInt(d.GetID(), 10)), Kind: KindDeploy, Repo: repo,
		SHA: d.GetSHA(), Branch: d.GetRef(), Author: d.GetCreator().GetLogin(), At: d.GetCreatedAt().Time,
		Environment: d.GetEnvironment(), URL: d.GetURL(),
	}
}

// FromDeploymentStatus converts a deployment_status webhook: the deployment's
// change as of its new status.
func FromDeploymentStatus(e *github.DeploymentStatusEvent) Change {
	st := e.GetDeploymentStatus()
	c := FromDeployment(e.GetRepo().GetFullName(), e.GetDeployment())
	c.ID += ":" + st.GetState() + ":" + strconv.FormatInt(st.GetID(), 10)
	c.State, c.At = st.GetState(), st.GetCreatedAt().Time
	c.Environment = cmp.Or(st.GetEnvironment(), c.Environment)
	c.Author = cmp.Or(st.GetCreator().GetLogin(), c.Author)
	c.URL = cmp.Or(st.GetLogURL(), st.GetTargetURL(), c.URL)
	return c
}

// FromPullRequest converts a merged pull request.
func FromPullRequest(repo string, pr *github.PullRequest) Change {
	return Change{
		ID: id(repo, "pr", strconv.Itoa(pr.GetNumber())), Kind: KindPullRequest, Repo: repo,
		SHA: pr.GetMergeCommitSHA(), Branch: pr.GetBase().GetRef(), Author: pr.GetUser().GetLogin(),
		At: pr.GetMergedAt().Time, Number: pr.GetNumber(), Title: pr.GetTitle(), URL: pr.GetHTMLURL(),
	}
}

// FromPush converts a push webhook: one change for the push, at its head
// commit's time (now when it has none), by the sender.
func FromPush(e *github.PushEvent, now time.Time) Change {
	repo := e.GetRepo().GetFullName()
	head := e.GetHeadCommit()
	at := head.GetTimestamp().Time
	if at.IsZero() {
		at = now
	}
	return Change{
		ID: id(repo, "push", e.GetAfter()), Kind: KindPush, Repo: repo, SHA: e.GetAfter(),
		Branch: strings.TrimPrefix(e.GetRef(), "refs/heads/"), Author: cmp.Or(e.GetSender().GetLogin(), e.GetPusher().GetName()),
		At: at, Title: firstLine(head.GetMessage()), Commits: len(e.Commits), URL: e.GetCompare(),
	}
}

// FromCommit converts a commit of a branch listed through the API, at its
// committer's time (when it landed on the branch as far as git records).
func FromCommit(repo, branch string, rc *github.RepositoryCommit) Change {
	c := rc.GetCommit()
	return Change{
		ID: id(repo, "commit", rc.GetSHA()), Kind: KindCommit, Repo: repo, SHA: rc.GetSHA(), Branch: branch,
		Author: cmp.Or(rc.GetAuthor().GetLogin(), c.GetAuthor().GetName()),
		At:     cmp.Or(c.GetCommitter().GetDate().Time, c.GetAuthor().GetDate().Time),
		Title:  firstLine(c.GetMessage()), URL: rc.GetHTMLURL(),
	}
}
