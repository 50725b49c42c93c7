package runbooks

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/google/go-github/v60/github"
	"go.yaml.in/yaml/v3"

	"github.com/vigilops/vigil/incident"
)

// GitHubStep acts on a GitHub repository through the REST API, with the token
// from vigil.yaml (github.token).
//
//	steps:
//	  - id: roll-back
//	    run: github
//	    action: dispatch_workflow          # or create_issue, comment
//	    repo: acme/shop
//	    workflow: rollback.yml             # dispatch_workflow: the workflow file
//	    ref: main                          # dispatch_workflow: branch or tag
//	    inputs: {version: "{{ .params.version }}"}
//	    # create_issue: title, body, labels; comment: issue (number), body
type GitHubStep struct {
	Action   string
	Repo     *Template
	Workflow *Template
	Ref      *Template
	Inputs   []githubInput
	Title    *Template
	Body     *Template
	Labels   []*Template
	Issue    *Template

	present   map[string]Pos // fields given, for per-action checks
	actionPos Pos
}

type githubInput struct {
	Name  string
	Value *Template
}

// GitHubSpec is a rendered github step.
type GitHubSpec struct {
	Action   string            `json:"action"`
	Owner    string            `json:"owner"`
	Repo     string            `json:"repo"`
	Workflow string            `json:"workflow,omitempty"`
	Ref      string            `json:"ref,omitempty"`
	Inputs   map[string]string `json:"inputs,omitempty"`
	Title    string            `json:"title,omitempty"`
	Body     string            `json:"body,omitempty"`
	Labels   []string          `json:"labels,omitempty"`
	Issue    int               `json:"issue,omitempty"`
}

// GitHub actions.
const (
	GitHubDispatchWorkflow = "dispatch_workflow"
	GitHubCreateIssue      = "create_issue"
	GitHubComment          = "comment"
)

// githubActionFields says which fields each action requires and allows.
var githubActionFields = map[string]struct{ required, optional []string }{
	GitHubDispatchWorkflow: {required: []string{"workflow", "ref"}, optional: []string{"inputs"}},
	GitHubCreateIssue:      {required: []string{"title"}, optional: []string{"body", "labels"}},
	GitHubComment:          {required: []string{"issue", "body"}},
}

var (
	_ StepType  = (*GitHubStep)(nil)
	_ Validator = (*GitHubStep)(nil)

	githubFields = []string{"action", "repo", "workflow", "ref", "inputs", "title", "body", "labels", "issue"}
	repoRE       = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)
)

func (*GitHubStep) options() []string { return execOptions }
func (*GitHubStep) fields() []string  { return githubFields }

func (t *GitHubStep) decode(p *problems, f map[string]*yaml.Node, s *Step) {
	what := "step " + s.ID
	t.present = map[string]Pos{}
	for k, n := range f {
		t.present[k] = posOf(n)
	}
	t.actionPos = s.Pos
	if a := f["action"]; a != nil {
		t.Action, t.actionPos = p.str(a, what+": action"), posOf(a)
	}
	if f["repo"] == nil {
		p.add(s.Pos, "%s is missing \"repo\" (owner/name)", what)
	}
	t.Repo = p.template(f["repo"], what+" repo")
	t.Workflow = p.template(f["workflow"], what+" workflow")
	t.Ref = p.template(f["ref"], what+" ref")
	t.Title = p.template(f["title"], what+" title")
	t.Body = p.template(f["body"], what+" body")
	t.Issue = p.template(f["issue"], what+" issue")
	if in := f["inputs"]; in != nil {
		for _, kv := range p.strMap(in, what+": inputs") {
			n := yaml.Node{Kind: yaml.ScalarNode, Value: kv.Value, Line: kv.ValuePos.Line, Column: kv.ValuePos.Col}
			if v := p.template(&n, what+" input "+kv.Key); v != nil {
				t.Inputs = append(t.Inputs, githubInput{Name: kv.Key, Value: v})
			}
		}
	}
	if l := f["labels"]; l != nil {
		t.Labels = p.templates(l, what+" labels")
	}
}

// Validate checks the action and that its fields, and only its fields, are given.
func (t *GitHubStep) Validate() error {
	var p problems
	fields, ok := githubActionFields[t.Action]
	if !ok {
		p.add(t.actionPos, "action %q must be one of %s", t.Action, strings.Join(slices.Sorted(maps.Keys(githubActionFields)), ", "))
		return p.err()
	}
	for _, f := range fields.required {
		if _, ok := t.present[f]; !ok {
			p.add(t.actionPos, "action %s needs %q", t.Action, f)
		}
	}
	for _, f := range slices.Sorted(maps.Keys(t.present)) {
		at := t.present[f]
		if slices.Contains([]string{"id", "run", "action", "repo"}, f) || slices.Contains(execOptions, f) ||
			slices.Contains(fields.required, f) || slices.Contains(fields.optional, f) {
			continue
		}
		p.add(at, "field %q does not apply to action %s", f, t.Action)
	}
	if t.Repo != nil && !strings.Contains(t.Repo.Raw, "{{") && !repoRE.MatchString(t.Repo.Raw) {
		p.add(t.Repo.Pos, "repo %q must be owner/name", t.Repo.Raw)
	}
	return p.err()
}

func (t *GitHubStep) templates() []*Template {
	ts := slices.Concat([]*Template{t.Repo, t.Workflow, t.Ref, t.Title, t.Body, t.Issue}, t.Labels)
	for _, in := range t.Inputs {
		ts = append(ts, in.Value)
	}
	return ts
}

func (t *GitHubStep) render(rc *renderContext, out *incident.Step) error {
	spec := GitHubSpec{Action: t.Action}
	var err error
	get := func(name string, tp *Template) string {
		if err != nil {
			return ""
		}
		var v string
		if v, err = tp.render(rc.data); err != nil {
			err = fmt.Errorf("%s: %w", name, err)
		}
		return v
	}
	repo := get("repo", t.Repo)
	spec.Workflow, spec.Ref = get("workflow", t.Workflow), get("ref", t.Ref)
	spec.Title, spec.Body = get("title", t.Title), get("body", t.Body)
	issue := get("issue", t.Issue)
	for _, in := range t.Inputs {
		if spec.Inputs == nil {
			spec.Inputs = map[string]string{}
		}
		spec.Inputs[in.Name] = get("input "+in.Name, in.Value)
	}
	for _, l := range t.Labels {
		spec.Labels = append(spec.Labels, get("label", l))
	}
	if err != nil {
		return err
	}
	if !repoRE.MatchString(repo) {
		return fmt.Errorf("repo %q is not owner/name", repo)
	}
	spec.Owner, spec.Repo, _ = strings.Cut(repo, "/")
	if t.Action == GitHubComment {
		if spec.Issue, err = strconv.Atoi(issue); err != nil || spec.Issue <= 0 {
			return fmt.Errorf("issue %q is not an issue or pull request number", issue)
		}
	}
	out.Spec, out.Display = marshalSpec(spec), spec.display()
	return nil
}

func (s GitHubSpec) display() string {
	repo := s.Owner + "/" + s.Repo
	switch s.Action {
	case GitHubDispatchWorkflow:
		d := fmt.Sprintf("github: run workflow %s on %s@%s", s.Workflow, repo, s.Ref)
		if len(s.Inputs) > 0 {
			var kv []string
			for _, k := range slices.Sorted(maps.Keys(s.Inputs)) {
				kv = append(kv, k+"="+s.Inputs[k])
			}
			d += " with " + incident.ShellQuote(kv)
		}
		return d
	case GitHubCreateIssue:
		d := fmt.Sprintf("github: open an issue in %s: %q", repo, s.Title)
		if len(s.Labels) > 0 {
			d += " [" + strings.Join(s.Labels, ", ") + "]"
		}
		return d
	default:
		return fmt.Sprintf("github: comment on %s#%d: %q", repo, s.Issue, oneLine(s.Body))
	}
}

func (e Executor) runGitHub(ctx context.Context, s GitHubSpec, r *stepRun) outcome {
	if e.GitHub == nil {
		return outcome{exit: -1, err: "github steps need the GitHub client: set github.token in vigil.yaml"}
	}
	var msg string
	var err error
	switch s.Action {
	case GitHubDispatchWorkflow:
		inputs := map[string]any{}
		for k, v := range s.Inputs {
			inputs[k] = v
		}
		_, err = e.GitHub.Actions.CreateWorkflowDispatchEventByFileName(ctx, s.Owner, s.Repo, s.Workflow,
			github.CreateWorkflowDispatchEventRequest{Ref: s.Ref, Inputs: inputs})
		msg = fmt.Sprintf("dispatched workflow %s on %s/%s@%s", s.Workflow, s.Owner, s.Repo, s.Ref)
	case GitHubCreateIssue:
		var is *github.Issue
		req := &github.IssueRequest{Title: &s.Title}
		if s.Body != "" {
			req.Body = &s.Body
		}
		if len(s.Labels) > 0 {
			req.Labels = &s.Labels
		}
		if is, _, err = e.GitHub.Issues.Create(ctx, s.Owner, s.Repo, req); err == nil {
			msg = fmt.Sprintf("opened issue #%d: %s", is.GetNumber(), is.GetHTMLURL())
		}
	case GitHubComment:
		var c *github.IssueComment
		if c, _, err = e.GitHub.Issues.CreateComment(ctx, s.Owner, s.Repo, s.Issue, &github.IssueComment{Body: &s.Body}); err == nil {
			msg = fmt.Sprintf("commented on %s/%s#%d: %s", s.Owner, s.Repo, s.Issue, c.GetHTMLURL())
		}
	default:
		return outcome{exit: -1, err: fmt.Sprintf("github action %q is not known to this version of Vigil", s.Action)}
	}
	if err != nil {
		if ctx.Err() != nil {
			return outcome{exit: -1, err: r.ctxError(ctx, "")}
		}
		return outcome{exit: 1, err: err.Error()}
	}
	return outcome{ok: true, out: r.text("%s\n", msg)}
}

// NewGitHubClient returns a go-github client for the REST API at baseURL (empty
// means https://api.github.com/; GitHub Enterprise is https://HOST/api/v3/),
// authenticated with token when it is not empty.
func NewGitHubClient(baseURL, token string, hc *http.Client) (*github.Client, error) {
	c := github.NewClient(hc)
	if token != "" {
		c = c.WithAuthToken(token)
	}
	if baseURL != "" {
		u, err := url.Parse(strings.TrimSuffix(baseURL, "/") + "/")
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("github base URL %q must be an http:// or https:// URL", baseURL)
		}
		c.BaseURL = u
	}
	return c, nil
}

// oneLine shortens text to its first line, for displays.
func oneLine(s string) string {
	line, _, more := strings.Cut(s, "\n")
	if more {
		line += " …"
	}
	return line
}
