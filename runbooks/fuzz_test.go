package runbooks

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// The fuzz targets of the runbook parsers: the YAML file, label matchers,
// param patterns and step templates. Seeds are the files of testdata and of
// examples/runbooks. Run one with
//
//	go test -run '^$' -fuzz '^FuzzParseRunbook$' -fuzztime 10s ./runbooks

// wholeMatch is the oracle of anchored patterns: whether re, compiled on its
// own, matches all of v. Leftmost-longest finds a match from 0 to len(v)
// whenever there is one.
func wholeMatch(t *testing.T, pattern, v string) bool {
	t.Helper()
	re, err := regexp.Compile(pattern)
	if err != nil {
		t.Fatalf("accepted pattern %q is not a regexp on its own: %v", pattern, err)
	}
	re.Longest()
	loc := re.FindStringIndex(v)
	return loc != nil && loc[0] == 0 && loc[1] == len(v)
}

// FuzzParseMatcher: an accepted matcher prints back to itself and matches
// exactly the label values its operator says; a refused one is named in the
// error.
func FuzzParseMatcher(f *testing.F) {
	for _, s := range []string{`alertname="DiskFillingUp"`, `path=~"/.+"`, `severity!="info"`, `service!~"test|dev"`,
		`env=prod`, ` a = "x y" `, `a=~"(b|c)+"`, `=x`, `a==b`, `a=~"("`, `a="unterminated`, `1a="x"`, `a!`} {
		f.Add(s, "/srv/x")
	}
	f.Fuzz(func(t *testing.T, s, v string) {
		m, err := ParseMatcher(s)
		if err != nil {
			if !strings.Contains(err.Error(), "matcher ") {
				t.Fatalf("ParseMatcher(%q) error %q does not name the matcher", s, err)
			}
			return
		}
		again, err := ParseMatcher(m.String())
		if err != nil || again.Name != m.Name || again.Type != m.Type || again.Value != m.Value {
			t.Fatalf("ParseMatcher(%q) = %s, which parses to %+v, %v", s, m, again, err)
		}
		for _, val := range []string{v, m.Value, ""} {
			var want bool
			switch m.Type {
			case MatchEqual:
				want = val == m.Value
			case MatchNotEqual:
				want = val != m.Value
			case MatchRegexp:
				want = wholeMatch(t, m.Value, val)
			case MatchNotRegexp:
				want = !wholeMatch(t, m.Value, val)
			}
			if got := m.Matches(map[string]string{m.Name: val}); got != want {
				t.Fatalf("%s on %q: %v, want %v", m, val, got, want)
			}
		}
	})
}

// FuzzParseRunbook: any file gives problems with positions and messages, the
// same ones each time; a file without problems is a runbook with an id and
// steps whose default rendering checks out.
func FuzzParseRunbook(f *testing.F) {
	for _, glob := range []string{"testdata/*/*.yaml", "../examples/runbooks/*.yaml"} {
		files, _ := filepath.Glob(glob)
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(string(b))
		}
	}
	dir := Directory{Groups: map[string][]string{"oncall": {"alice"}}}
	f.Fuzz(func(t *testing.T, data string) {
		rb, ps := Parse("fuzz.yaml", []byte(data), dir)
		for _, p := range ps {
			if p.File != "fuzz.yaml" || p.Line < 1 || p.Col < 0 || strings.TrimSpace(p.Message) == "" {
				t.Fatalf("problem without a place or a message: %+v", p)
			}
		}
		_, again := Parse("fuzz.yaml", []byte(data), dir)
		if !slices.Equal(ps, again) {
			t.Fatalf("problems differ between two parses:\n%v\n%v", ps, again)
		}
		if len(ps) > 0 {
			return
		}
		if rb == nil || rb.ID == "" || len(rb.Steps) == 0 {
			t.Fatalf("runbook without problems lacks an id or steps: %+v", rb)
		}
		p, err := rb.Render(Context{Directory: dir})
		if err != nil {
			return
		}
		for i, pv := range p.Params {
			if got, err := rb.Params[i].check(pv.Value); err != nil || got != pv.Value {
				t.Fatalf("rendered param %s=%q fails its own check: %v", pv.Name, pv.Value, err)
			}
		}
	})
}

// paramRunbook is a runbook whose one param x comes from label x with the
// given pattern, and whose one step runs the given template.
func paramRunbook(t *testing.T, pattern, arg string) []byte {
	t.Helper()
	doc := map[string]any{
		"id": "fuzz", "title": "fuzz", "risk": "low",
		"match":    map[string]any{"matchers": []string{`alertname="X"`}},
		"params":   map[string]any{"x": map[string]any{"from": "label.x", "pattern": pattern}},
		"approval": map[string]any{"approvers": []string{"group:oncall"}},
		"steps":    []any{map[string]any{"id": "s", "run": "shell", "command": []string{"echo", arg}, "timeout": "5s"}},
	}
	b, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzParamPattern: a label value reaches a command only if all of it
// matches the param's pattern, and then unchanged.
func FuzzParamPattern(f *testing.F) {
	for _, s := range [][2]string{{`/[A-Za-z0-9._/-]+`, "/srv/scratch"}, {`/[A-Za-z0-9._/-]+`, "/srv/x; rm -rf /"},
		{`[0-9]{1,5}`, "60"}, {`a|b`, "ab"}, {`[a-z]+`, "abc\n"}, {`(`, "x"}, {`.*`, "\xff"}} {
		f.Add(s[0], s[1])
	}
	dir := Directory{Groups: map[string][]string{"oncall": {"alice"}}}
	f.Fuzz(func(t *testing.T, pattern, value string) {
		if !utf8.ValidString(pattern) {
			return // YAML is text: such a pattern cannot be written in a runbook
		}
		rb, ps := Parse("fuzz.yaml", paramRunbook(t, pattern, "{{ .params.x }}"), dir)
		if len(ps) > 0 {
			for _, p := range ps {
				if !strings.Contains(p.Message, "param x") {
					t.Fatalf("pattern %q: problem %q does not name the param", pattern, p.Message)
				}
			}
			return
		}
		p, err := rb.Render(Context{Labels: map[string]string{"x": value}, Directory: dir})
		if value != "" && wholeMatch(t, pattern, value) != (err == nil) {
			t.Fatalf("pattern %q on %q: render error %v", pattern, value, err)
		}
		if err != nil {
			if !strings.Contains(err.Error(), "param x") {
				t.Fatalf("render error %q does not name the param", err)
			}
			return
		}
		if got := p.Steps[0].Command; len(got) != 2 || got[1] != value {
			t.Fatalf("pattern %q on %q: command %q", pattern, value, got)
		}
	})
}

// FuzzStepTemplate: a step template either is refused with a problem that
// names the command, or renders without panicking; what it renders from a
// param is the checked value.
func FuzzStepTemplate(f *testing.F) {
	for _, s := range []string{"{{ .params.x }}", "+{{ .params.x }}", "{{ .labels.alertname }}", "{{ .incident.id }}", "{{ .nope }}",
		"{{ if .params.x }}{{ .params.x }}{{ end }}", "{{ range .labels }}{{ . }}{{ end }}", "{{ printf \"%s\" .params.x }}",
		"{{ .params.y }}", "{{", "{{ $.params.x | len }}", "{{ template \"t\" }}", "{{ call .params.x }}"} {
		f.Add(s, "abc")
	}
	dir := Directory{Groups: map[string][]string{"oncall": {"alice"}}}
	f.Fuzz(func(t *testing.T, tmpl, value string) {
		rb, ps := Parse("fuzz.yaml", paramRunbook(t, `[a-z]*`, tmpl), dir)
		if len(ps) > 0 {
			return
		}
		p, err := rb.Render(Context{Labels: map[string]string{"x": value, "alertname": "X"}, Directory: dir})
		if err != nil {
			if !strings.Contains(err.Error(), "runbook fuzz") {
				t.Fatalf("render error %q does not name the runbook", err)
			}
			return
		}
		if tmpl == "{{ .params.x }}" && p.Steps[0].Command[1] != value {
			t.Fatalf("rendered %q from %q", p.Steps[0].Command[1], value)
		}
	})
}
