package runbooks

import (
	"cmp"
	"context"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/google/go-github/v60/github"
)

// GitHubRepo is a runbook source in a GitHub repository, read through the
// contents API: every *.yaml and *.yml file under Path at the commit Ref points
// to. The commit SHA is the revision of every runbook it yields, so a proposal
// and its audit records name the exact commit they came from.
type GitHubRepo struct {
	Client *github.Client
	Owner  string
	Repo   string
	Ref    string // branch, tag or SHA
	Path   string // directory in the repository; empty is the root
}

var (
	_ Source = (*GitHubRepo)(nil)

	githubSpecRE = regexp.MustCompile(`^([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)(?:@([^:]+))?(?::(.*))?$`)
)

// ParseGitHubRepo parses owner/repo@ref:path. The ref defaults to HEAD (the
// default branch) and the path to the repository's root.
func ParseGitHubRepo(spec string, client *github.Client) (*GitHubRepo, error) {
	m := githubSpecRE.FindStringSubmatch(spec)
	if m == nil {
		return nil, fmt.Errorf("runbook repository %q must be owner/repo@ref:path (e.g. acme/runbooks@main:runbooks)", spec)
	}
	return &GitHubRepo{Client: client, Owner: m[1], Repo: m[2], Ref: cmp.Or(m[3], "HEAD"), Path: strings.Trim(m[4], "/")}, nil
}

func (g *GitHubRepo) String() string {
	return fmt.Sprintf("%s/%s@%s:%s", g.Owner, g.Repo, g.Ref, g.Path)
}

// Stamp is the commit SHA the ref points to.
func (g *GitHubRepo) Stamp(ctx context.Context) (string, error) {
	sha, _, err := g.Client.Repositories.GetCommitSHA1(ctx, g.Owner, g.Repo, g.Ref, "")
	if err != nil {
		return "", fmt.Errorf("runbooks: resolve %s: %w", g, err)
	}
	return sha, nil
}

// Files reads the runbook files at commit sha; the revision is sha.
func (g *GitHubRepo) Files(ctx context.Context, sha string) ([]File, string, error) {
	var files []File
	if err := g.walk(ctx, sha, g.Path, &files); err != nil {
		return nil, "", fmt.Errorf("runbooks: read %s at %s: %w", g, sha, err)
	}
	return files, sha, nil
}

func (g *GitHubRepo) walk(ctx context.Context, sha, dir string, files *[]File) error {
	opts := &github.RepositoryContentGetOptions{Ref: sha}
	file, entries, _, err := g.Client.Repositories.GetContents(ctx, g.Owner, g.Repo, dir, opts)
	if err != nil {
		return err
	}
	if file != nil {
		return fmt.Errorf("%s is a file, not a directory", dir)
	}
	for _, e := range entries {
		switch ext := path.Ext(e.GetPath()); {
		case e.GetType() == "dir":
			if err := g.walk(ctx, sha, e.GetPath(), files); err != nil {
				return err
			}
		case e.GetType() == "file" && (ext == ".yaml" || ext == ".yml"):
			f, _, _, err := g.Client.Repositories.GetContents(ctx, g.Owner, g.Repo, e.GetPath(), opts)
			if err != nil {
				return err
			}
			if f == nil {
				return fmt.Errorf("%s is not a file", e.GetPath())
			}
			text, err := f.GetContent()
			if err != nil {
				return fmt.Errorf("%s: %w", e.GetPath(), err)
			}
			name := fmt.Sprintf("%s/%s@%s:%s", g.Owner, g.Repo, short(sha), e.GetPath())
			*files = append(*files, File{Path: e.GetPath(), Name: name, Data: []byte(text)})
		}
	}
	return nil
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
