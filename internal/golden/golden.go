// Package golden compares what a test produced with a file kept in the
// package's testdata, and rewrites the file when the tests run with UPDATE=1:
//
//	golden.Assert(t, filepath.Join("testdata", "report.md"), got)
//
//	UPDATE=1 go test -run '^TestReport$' ./review   # after an intended change
//
// Review the diff of every rewritten file before committing it: a golden file
// is only as good as the last person who read it.
package golden

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Env is the environment variable that rewrites golden files when it is "1".
const Env = "UPDATE"

// Assert fails t unless got equals the file at path, showing a line diff and
// the command that rewrites the file. With UPDATE=1 it writes got to path
// (creating its folder) instead, and the test passes.
func Assert(t testing.TB, path string, got []byte) {
	t.Helper()
	switch v := os.Getenv(Env); v {
	case "":
	case "1":
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Errorf("golden: %v", err)
			return
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Errorf("golden: %v", err)
			return
		}
		t.Logf("golden: wrote %s; review its diff before committing", path)
		return
	default:
		t.Errorf("golden: %s=%q; set %s=1 to rewrite golden files, or unset it", Env, v, Env)
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("golden: %v\nto create it: %s", err, regenerate(t))
		return
	}
	if !bytes.Equal(got, want) {
		t.Errorf("golden: output differs from %s (- file, + got):\n%s\nif the change is intended: %s", path, Diff(string(want), string(got)), regenerate(t))
	}
}

// AssertString is Assert for text.
func AssertString(t testing.TB, path, got string) {
	t.Helper()
	Assert(t, path, []byte(got))
}

// regenerate is the command that rewrites the golden files of t's test.
func regenerate(t testing.TB) string {
	parts := strings.Split(t.Name(), "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return fmt.Sprintf("%s=1 go test -run '%s' %s", Env, strings.Join(parts, "/"), packageDir())
}

// packageDir is the test's package folder relative to its module root
// (tests run in their package's folder), or "." when no go.mod is found.
func packageDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			rel, err := filepath.Rel(dir, wd)
			if err != nil || rel == "." {
				return "."
			}
			return "./" + filepath.ToSlash(rel)
		}
		if filepath.Dir(dir) == dir {
			return "."
		}
	}
}

// maxDiffLines bounds the lines Diff compares line by line; longer inputs
// show their first difference only.
const maxDiffLines = 4000

// contextLines is how many equal lines Diff shows around a change.
const contextLines = 2

// Diff is a line diff of want and got: "-" lines only in want, "+" lines only
// in got, each with its line number, and a little context.
func Diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	if len(w) > maxDiffLines || len(g) > maxDiffLines {
		return firstDifference(w, g)
	}
	// lcs[i][j] is the length of the longest common subsequence of w[i:] and g[j:].
	lcs := make([][]int32, len(w)+1)
	for i := range lcs {
		lcs[i] = make([]int32, len(g)+1)
	}
	for i := len(w) - 1; i >= 0; i-- {
		for j := len(g) - 1; j >= 0; j-- {
			if w[i] == g[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type line struct {
		op   byte // ' ', '-', '+'
		n    int  // line number, from 1: in got for '+', else in want
		text string
	}
	var lines []line
	i, j := 0, 0
	for i < len(w) || j < len(g) {
		switch {
		case i < len(w) && j < len(g) && w[i] == g[j]:
			lines = append(lines, line{' ', i + 1, w[i]})
			i, j = i+1, j+1
		case i < len(w) && (j == len(g) || lcs[i+1][j] >= lcs[i][j+1]):
			lines = append(lines, line{'-', i + 1, w[i]})
			i++
		default:
			lines = append(lines, line{'+', j + 1, g[j]})
			j++
		}
	}
	var b strings.Builder
	last := -1 // index of the last line written
	for k, l := range lines {
		if l.op == ' ' {
			near := false
			for d := -contextLines; d <= contextLines && !near; d++ {
				near = k+d >= 0 && k+d < len(lines) && lines[k+d].op != ' '
			}
			if !near {
				continue
			}
		}
		if last >= 0 && k > last+1 {
			b.WriteString("  …\n")
		}
		fmt.Fprintf(&b, "%c %4d | %s\n", l.op, l.n, l.text)
		last = k
	}
	return b.String()
}

func firstDifference(w, g []string) string {
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl || i >= len(w) || i >= len(g) {
			return fmt.Sprintf("first difference at line %d:\n- %s\n+ %s\n", i+1, wl, gl)
		}
	}
	return ""
}
