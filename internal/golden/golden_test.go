package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that keeps what Assert reports.
type recorder struct {
	testing.TB
	name   string
	errors []string
	logs   []string
}

func (r *recorder) Helper()      {}
func (r *recorder) Name() string { return r.name }
func (r *recorder) Errorf(format string, a ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, a...))
}
func (r *recorder) Logf(format string, a ...any) { r.logs = append(r.logs, fmt.Sprintf(format, a...)) }

func TestAssert(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	if err := os.WriteFile(path, []byte("a\nb\nc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		env        string
		path       string
		got        string
		wantErrors []string // each must appear in the one error; none: passes
		wantFile   string   // the file's content afterwards
	}{
		{name: "equal", path: path, got: "a\nb\nc\n", wantFile: "a\nb\nc\n"},
		{name: "differs", path: path, got: "a\nB\nc\n", wantFile: "a\nb\nc\n",
			wantErrors: []string{"output differs from " + path, "-    2 | b", "+    2 | B", "UPDATE=1 go test -run '^TestX$/^sub\\.case$' ./internal/golden"}},
		{name: "missing", path: filepath.Join(dir, "none.txt"), got: "x", wantErrors: []string{"none.txt", "to create it: UPDATE=1 go test"}},
		{name: "UPDATE=true is refused", env: "true", path: path, got: "z", wantFile: "a\nb\nc\n", wantErrors: []string{`UPDATE="true"; set UPDATE=1`}},
		{name: "UPDATE=1 rewrites", env: "1", path: filepath.Join(dir, "new", "out.txt"), got: "fresh\n", wantFile: "fresh\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(Env, tt.env)
			r := &recorder{name: "TestX/sub.case"}
			Assert(r, tt.path, []byte(tt.got))
			if len(tt.wantErrors) == 0 && len(r.errors) > 0 {
				t.Fatalf("errors %q, want none", r.errors)
			}
			if len(tt.wantErrors) > 0 {
				if len(r.errors) != 1 {
					t.Fatalf("errors %q, want one", r.errors)
				}
				for _, w := range tt.wantErrors {
					if !strings.Contains(r.errors[0], w) {
						t.Errorf("error\n%s\nlacks %q", r.errors[0], w)
					}
				}
			}
			if tt.wantFile != "" {
				if b, _ := os.ReadFile(tt.path); string(b) != tt.wantFile {
					t.Errorf("file holds %q, want %q", b, tt.wantFile)
				}
			}
		})
	}
}

func TestDiff(t *testing.T) {
	tests := []struct{ want, got, diff string }{
		{want: "a\nb", got: "a\nb", diff: ""},
		{want: "1\n2\n3\n4\n5\n6\n7", got: "1\n2\n3\nX\n5\n6\n7",
			diff: "     2 | 2\n     3 | 3\n-    4 | 4\n+    4 | X\n     5 | 5\n     6 | 6\n"},
		{want: "a", got: "a\nb", diff: "     1 | a\n+    2 | b\n"},
		{want: "1\n2\n3\n4\n5\n6\n7\n8\n9", got: "x\n2\n3\n4\n5\n6\n7\n8\ny",
			diff: "-    1 | 1\n+    1 | x\n     2 | 2\n     3 | 3\n  …\n     7 | 7\n     8 | 8\n-    9 | 9\n+    9 | y\n"},
	}
	for _, tt := range tests {
		if got := Diff(tt.want, tt.got); got != tt.diff {
			t.Errorf("Diff(%q, %q) =\n%s\nwant\n%s", tt.want, tt.got, got, tt.diff)
		}
	}
}
