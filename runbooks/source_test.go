package runbooks

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func runbookYAML(id, title string) string {
	return fmt.Sprintf("id: %s\ntitle: %s\nmatch: {matchers: ['alertname=\"X\"']}\napproval: {approvers: [group:oncall]}\nsteps: [{id: s, run: shell, command: [\"true\"]}]\n", id, title)
}

func TestReloaderKeepsLastGoodVersion(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		// Filesystems with coarse timestamps: make every write visible.
		next := time.Now().Add(time.Duration(len(body)) * time.Second)
		_ = os.Chtimes(p, next, next)
	}
	var logs bytes.Buffer
	h := NewHolder(&Library{})
	rl := &Reloader{Source: Dir(dir), Holder: h, Directory: Directory{Groups: map[string][]string{"oncall": {"a"}}},
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	ctx := context.Background()
	poll := func() Problems {
		t.Helper()
		ps, err := rl.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return ps
	}
	titles := func() string {
		var out []string
		for _, rb := range h.Current().Runbooks {
			out = append(out, rb.ID+"="+rb.Title)
		}
		return strings.Join(out, ",")
	}

	write("a.yaml", runbookYAML("alpha", "A1"))
	write("b.yaml", runbookYAML("beta", "B1"))
	if ps := poll(); len(ps) > 0 || titles() != "alpha=A1,beta=B1" {
		t.Fatalf("first load: %v %s", ps, titles())
	}
	rev := h.Current().Get("alpha").Revision

	// A bad edit of alpha: reported, and alpha's last good version stays.
	write("a.yaml", strings.Replace(runbookYAML("alpha", "A2"), "steps:", "stepz:", 1))
	ps := poll()
	if len(ps) == 0 || !strings.Contains(ps.Error(), `a.yaml:5:1: unknown field "stepz"`) {
		t.Fatalf("bad edit problems: %v", ps)
	}
	if titles() != "alpha=A1,beta=B1" || h.Current().Get("alpha").Revision != rev {
		t.Errorf("after a bad edit: %s, want the last good alpha", titles())
	}
	if !strings.Contains(logs.String(), "the last good version stays in force") || !strings.Contains(logs.String(), `unknown field \"stepz\"`) {
		t.Errorf("logs do not report the bad edit:\n%s", logs.String())
	}

	// Nothing changed: nothing is reloaded or reported again.
	before := h.Current()
	if ps := poll(); len(ps) != 0 || h.Current() != before {
		t.Error("an unchanged directory was reloaded")
	}

	// The fix, a new file and a deleted file all take effect.
	write("a.yaml", runbookYAML("alpha", "A3"))
	write("c.yml", runbookYAML("gamma", "C1"))
	if err := os.Remove(filepath.Join(dir, "b.yaml")); err != nil {
		t.Fatal(err)
	}
	if ps := poll(); len(ps) > 0 || titles() != "alpha=A3,gamma=C1" {
		t.Errorf("after the fix: %v %s", ps, titles())
	}
	if h.Current().Get("alpha").Revision == rev {
		t.Error("the revision did not change with the file")
	}

	// A brand-new file that is bad from the start is simply not loaded.
	write("d.yaml", "id: [")
	if ps := poll(); len(ps) != 1 || titles() != "alpha=A3,gamma=C1" {
		t.Errorf("new bad file: %v %s", ps, titles())
	}

	// The directory disappearing is an error, and the library stays.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := rl.Poll(ctx); err == nil || titles() != "alpha=A3,gamma=C1" {
		t.Errorf("missing directory: err %v, library %s", err, titles())
	}
}

// fakeGitHub speaks the parts of GitHub's REST API the repository source uses:
// commit SHA for a ref and the contents API, over files at one commit at a time.
type fakeGitHub struct {
	mu       sync.Mutex
	sha      string
	files    map[string]string // path -> content at sha
	requests []string
}

func (f *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.URL.Path+"?"+r.URL.RawQuery)
	if r.Header.Get("Authorization") != "Bearer repo-token" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if ref, ok := strings.CutPrefix(r.URL.Path, "/repos/acme/runbooks/commits/"); ok {
		if ref != "main" || r.Header.Get("Accept") != "application/vnd.github.v3.sha" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		fmt.Fprint(w, f.sha)
		return
	}
	p, ok := strings.CutPrefix(r.URL.Path, "/repos/acme/runbooks/contents/")
	if !ok || r.URL.Query().Get("ref") != f.sha {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"message": "Not Found"}`)
		return
	}
	if body, isFile := f.files[p]; isFile {
		_ = json.NewEncoder(w).Encode(map[string]any{"type": "file", "path": p, "encoding": "base64",
			"content": base64.StdEncoding.EncodeToString([]byte(body))})
		return
	}
	var entries []map[string]any
	seen := map[string]bool{}
	for fp := range f.files {
		rest, ok := strings.CutPrefix(fp, p+"/")
		if !ok {
			continue
		}
		name, _, isDir := strings.Cut(rest, "/")
		if seen[name] {
			continue
		}
		seen[name] = true
		typ := "file"
		if isDir {
			typ = "dir"
		}
		entries = append(entries, map[string]any{"type": typ, "path": p + "/" + name, "name": name})
	}
	if entries == nil {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	_ = json.NewEncoder(w).Encode(entries)
}

func TestGitHubRepoSource(t *testing.T) {
	gh := &fakeGitHub{sha: "1111111111111111111111111111111111111111", files: map[string]string{
		"ops/runbooks/restart.yaml":     runbookYAML("restart", "R1"),
		"ops/runbooks/db/failover.yml":  runbookYAML("failover", "F1"),
		"ops/runbooks/README.md":        "not a runbook",
		"ops/other/ignored-sibling.yml": runbookYAML("sibling", "S"),
	}}
	srv := httptest.NewServer(gh)
	defer srv.Close()
	client, err := NewGitHubClient(srv.URL, "repo-token", nil)
	if err != nil {
		t.Fatal(err)
	}
	src, err := ParseGitHubRepo("acme/runbooks@main:ops/runbooks/", client)
	if err != nil {
		t.Fatal(err)
	}
	h := NewHolder(&Library{})
	rl := &Reloader{Source: src, Holder: h, Directory: Directory{Groups: map[string][]string{"oncall": {"a"}}}}
	ctx := context.Background()
	if ps, err := rl.Poll(ctx); err != nil || len(ps) > 0 {
		t.Fatalf("first sync: %v %v", err, ps)
	}
	lib := h.Current()
	if len(lib.Runbooks) != 2 || lib.Get("restart") == nil || lib.Get("failover") == nil {
		t.Fatalf("loaded %d runbooks", len(lib.Runbooks))
	}
	for _, rb := range lib.Runbooks {
		if rb.Revision != gh.sha {
			t.Errorf("%s revision %q, want the commit SHA", rb.ID, rb.Revision)
		}
	}
	if f := lib.Get("failover").File; f != "acme/runbooks@111111111111:ops/runbooks/db/failover.yml" {
		t.Errorf("file name %q", f)
	}

	// Same commit: one request to resolve the ref, nothing read again.
	gh.mu.Lock()
	gh.requests = nil
	gh.mu.Unlock()
	if _, err := rl.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if len(gh.requests) != 1 || h.Current() != lib {
		t.Errorf("unchanged commit made requests %v", gh.requests)
	}

	// A new commit with a bad edit: the problem names the commit and file; the
	// good version of that runbook stays in force; the others move on.
	gh.mu.Lock()
	gh.sha = "2222222222222222222222222222222222222222"
	gh.files["ops/runbooks/restart.yaml"] = runbookYAML("restart", "R2")
	gh.files["ops/runbooks/db/failover.yml"] = strings.Replace(runbookYAML("failover", "F2"), "group:oncall", "group:nobody", 1)
	gh.mu.Unlock()
	ps, err := rl.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || !strings.HasPrefix(ps[0].String(), `acme/runbooks@222222222222:ops/runbooks/db/failover.yml:4:24: approver group "nobody"`) {
		t.Errorf("problems %v", ps)
	}
	if rb := h.Current().Get("restart"); rb == nil || rb.Title != "R2" || rb.Revision != gh.sha {
		t.Errorf("restart = %s @ %s, want R2 at the new commit", rb.Title, rb.Revision)
	}
	if rb := h.Current().Get("failover"); rb == nil || rb.Title != "F1" || !strings.HasPrefix(rb.Revision, "1111") {
		t.Errorf("failover = %s @ %s, want the last good F1 at the old commit", rb.Title, rb.Revision)
	}

	// GitHub down: an error, and the library stays.
	srv.Close()
	before := h.Current()
	if _, err := rl.Poll(ctx); err == nil || h.Current() != before {
		t.Errorf("GitHub down: err %v", err)
	}
}

func TestParseGitHubRepo(t *testing.T) {
	tests := []struct {
		in, want, wantErr string
	}{
		{in: "acme/runbooks@main:ops/runbooks", want: "acme/runbooks@main:ops/runbooks"},
		{in: "acme/runbooks", want: "acme/runbooks@HEAD:"},
		{in: "acme/runbooks:runbooks/", want: "acme/runbooks@HEAD:runbooks"},
		{in: "acme/runbooks@v1.2", want: "acme/runbooks@v1.2:"},
		{in: "runbooks", wantErr: "must be owner/repo@ref:path"},
		{in: "https://github.com/acme/runbooks", wantErr: "must be owner/repo@ref:path"},
	}
	for _, tt := range tests {
		g, err := ParseGitHubRepo(tt.in, nil)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err %v, want %q", tt.in, err, tt.wantErr)
			}
		case err != nil || g.String() != tt.want:
			t.Errorf("%s: %v %v, want %s", tt.in, g, err, tt.want)
		}
	}
}

// TestDirAsConfigMapVolume: a Kubernetes ConfigMap volume holds each file as
// a symlink through ..data into a hidden ..TIMESTAMP directory, and an update
// swaps ..data. Each runbook loads once, and the swap is seen.
func TestDirAsConfigMapVolume(t *testing.T) {
	dir := t.TempDir()
	version := func(name, title string) {
		t.Helper()
		v := filepath.Join(dir, name)
		if err := os.Mkdir(v, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(v, "a.yaml"), []byte(runbookYAML("alpha", title)), 0o644); err != nil {
			t.Fatal(err)
		}
		tmp := filepath.Join(dir, "..data_tmp")
		if err := os.Symlink(name, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	version("..2026_12_08_01", "A1")
	if err := os.Symlink(filepath.Join("..data", "a.yaml"), filepath.Join(dir, "a.yaml")); err != nil {
		t.Fatal(err)
	}
	h := NewHolder(&Library{})
	rl := &Reloader{Source: Dir(dir), Holder: h, Directory: Directory{Groups: map[string][]string{"oncall": {"a"}}},
		Logger: slog.New(slog.DiscardHandler)}
	ctx := context.Background()
	for i, want := range []string{"A1", "A2, a longer title"} {
		if i > 0 {
			version("..2026_12_08_02", want)
		}
		ps, err := rl.Poll(ctx)
		if err != nil || len(ps) > 0 {
			t.Fatalf("load %d: %v %v", i, ps, err)
		}
		rbs := h.Current().Runbooks
		if len(rbs) != 1 || rbs[0].Title != want {
			t.Fatalf("load %d: %d runbook(s), first %+v; want alpha once, titled %q", i, len(rbs), rbs, want)
		}
	}
}
