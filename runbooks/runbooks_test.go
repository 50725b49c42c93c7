package runbooks

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/incident"
)

var testGroups = map[string][]string{"oncall": {"local-operator", "alice"}, "dba": {"carol"}}

func TestParseReportsEveryProblemWithPosition(t *testing.T) {
	data, err := os.ReadFile("testdata/bad/mistakes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, ps := Parse("testdata/bad/mistakes.yaml", data, Directory{Groups: testGroups})
	want := []string{
		`testdata/bad/mistakes.yaml:1:5: id "Restart_Service" must be lowercase letters, digits and '-'`,
		`testdata/bad/mistakes.yaml:4:31: matcher "service=~\"(unclosed\"": bad regexp`,
		`testdata/bad/mistakes.yaml:4:55: matcher "justtext" must look like name="value"`,
		`testdata/bad/mistakes.yaml:7:11: param svc: from "lable.service" must be label.NAME or annotation.NAME`,
		`testdata/bad/mistakes.yaml:8:14: param svc: bad pattern`,
		`testdata/bad/mistakes.yaml:9:3: param count needs a pattern`,
		`testdata/bad/mistakes.yaml:11:7: risk "extreme" must be low, medium or high`,
		`testdata/bad/mistakes.yaml:13:29: approver "alice" must be user:NAME or group:NAME`,
		`testdata/bad/mistakes.yaml:13:15: approver group "nobody" is not defined in the configuration (groups: dba, oncall)`,
		`testdata/bad/mistakes.yaml:14:1: unknown field "stepz" in runbook`,
		`testdata/bad/mistakes.yaml:18:35: template references unknown param "service"`,
		`testdata/bad/mistakes.yaml:19:14: step one: timeout "5 minutes" is not a duration`,
		`testdata/bad/mistakes.yaml:20:5: step id "one" is already used at line 16`,
		`testdata/bad/mistakes.yaml:21:10: step one: run "ssh" is not a known step type`,
		`testdata/bad/mistakes.yaml:22:15: step one: bad template`,
	}
	got := make([]string, len(ps))
	for i, p := range ps {
		got[i] = p.String()
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w) }) {
			t.Errorf("missing problem %q", w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d problems, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
}

func TestLoadDir(t *testing.T) {
	lib, ps, err := LoadDir("testdata/bad", testGroups)
	if err != nil {
		t.Fatal(err)
	}
	if len(lib.Runbooks) != 0 {
		t.Errorf("bad dir loaded %d runbooks, want 0", len(lib.Runbooks))
	}
	var files []string
	for _, p := range ps {
		files = append(files, filepath.Base(p.File))
	}
	for _, f := range []string{"empty.yaml", "mistakes.yaml", "notyaml.yaml"} {
		if !slices.Contains(files, f) {
			t.Errorf("no problem reported for %s", f)
		}
	}

	lib, ps, err = LoadDir("../examples/runbooks", testGroups)
	if err != nil || len(ps) > 0 {
		t.Fatalf("example runbooks: %v\n%v", err, ps)
	}
	if len(lib.Runbooks) < 2 {
		t.Fatalf("loaded %d example runbooks, want at least 2", len(lib.Runbooks))
	}
	if lib.Get("clean-temp-files") == nil || lib.Get("nope") != nil {
		t.Error("Get does not find runbooks by id")
	}
}

func TestMatcher(t *testing.T) {
	labels := map[string]string{"alertname": "DiskFillingUp", "service": "db", "path": "/var/tmp"}
	tests := []struct {
		in      string
		want    bool
		wantErr string
	}{
		{in: `alertname="DiskFillingUp"`, want: true},
		{in: `alertname = DiskFillingUp`, want: true},
		{in: `alertname!="DiskFillingUp"`, want: false},
		{in: `service=~"d.*"`, want: true},
		{in: `service=~"d"`, want: false}, // anchored
		{in: `service!~"web|api"`, want: true},
		{in: `missing=""`, want: true}, // absent label is ""
		{in: `team=~".+"`, want: false},
		{in: `9bad="x"`, wantErr: "not a valid label name"},
		{in: `x=~"("`, wantErr: "bad regexp"},
		// Wrapped as written, these would compile to ^(?:d)|(x)$ and ^(?:)()$,
		// which take "db-replica" and "" (found by FuzzParseMatcher).
		{in: `service=~"d)|(x"`, wantErr: "bad regexp"},
		{in: `missing=~")("`, wantErr: "bad regexp"},
		{in: `x~"y"`, wantErr: "must look like"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			m, err := ParseMatcher(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Matches(labels); got != tt.want {
				t.Errorf("Matches = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMatchAndRender(t *testing.T) {
	lib, ps, err := LoadDir("../examples/runbooks", testGroups)
	if err != nil || len(ps) > 0 {
		t.Fatalf("%v %v", err, ps)
	}
	labels := map[string]string{"alertname": "DiskFillingUp", "severity": "critical", "path": "/srv/scratch"}
	hits := lib.Match(labels)
	var ids []string
	for _, h := range hits {
		ids = append(ids, h.Runbook.ID)
	}
	if want := []string{"clean-temp-files", "collect-diagnostics"}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("matched %v, want %v (most specific first)", ids, want)
	}
	p, err := hits[0].Runbook.Render(Context{Labels: labels, Annotations: map[string]string{"tmp_age_minutes": "15"}})
	if err != nil {
		t.Fatal(err)
	}
	wantPlan := []string{
		"check-dir: test -d /srv/scratch",
		"delete-old-tmp: find /srv/scratch -maxdepth 1 -type f -name '*.tmp' -mmin +15 -print -delete",
		"usage-after: du -sh /srv/scratch",
	}
	if got := p.Plan(); !reflect.DeepEqual(got, wantPlan) {
		t.Errorf("plan =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantPlan, "\n"))
	}
	if got := hits[0].Runbook.AllowedUsers(Directory{Groups: testGroups}); !reflect.DeepEqual(got, []string{"alice", "local-operator"}) {
		t.Errorf("AllowedUsers = %v", got)
	}

	// A label value that breaks the pattern is refused, never passed to a command.
	labels["path"] = "/srv/x; rm -rf /"
	if _, err := hits[0].Runbook.Render(Context{Labels: labels}); err == nil || !strings.Contains(err.Error(), "does not match its pattern") {
		t.Errorf("render with hostile label: err = %v, want pattern refusal", err)
	}
	delete(labels, "path")
	if _, err := hits[0].Runbook.Render(Context{Labels: labels}); err == nil || !strings.Contains(err.Error(), "no default") {
		t.Errorf("render without label: err = %v, want missing-value error", err)
	}
}

func TestShellRun(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name       string
		step       incident.Step
		max        int
		wantStatus string
		wantExit   int
		wantOut    string
		wantErr    string
		truncated  bool
	}{
		{name: "ok", step: incident.Step{ID: "a", Command: []string{"echo", "hello; $(whoami)"}}, wantStatus: incident.StepSucceeded, wantOut: "hello; $(whoami)\n"},
		{name: "exit code", step: incident.Step{ID: "b", Command: []string{"ls", filepath.Join(dir, "missing")}}, wantStatus: incident.StepFailed, wantExit: 2, wantErr: "exited with status 2"},
		{name: "not found", step: incident.Step{ID: "c", Command: []string{"no-such-binary-vigil"}}, wantStatus: incident.StepFailed, wantExit: -1, wantErr: "executable file not found"},
		{name: "timeout kills", step: incident.Step{ID: "d", Command: []string{"sleep", "30"}, Timeout: 200 * time.Millisecond}, wantStatus: incident.StepFailed, wantExit: -1, wantErr: "timed out after 200ms"},
		{name: "output capped", step: incident.Step{ID: "e", Command: []string{"seq", "1", "1000"}}, max: 10, wantStatus: incident.StepSucceeded, wantOut: "1\n2\n3\n4\n5\n", truncated: true},
		{name: "clean env", step: incident.Step{ID: "f", Command: []string{"env"}}, wantStatus: incident.StepSucceeded},
	}
	t.Setenv("VIGIL_SECRET_FOR_TEST", "leak")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.step.Run = incident.StepShell
			res := Executor{Shell: Shell{MaxOutput: tt.max}}.Run(context.Background(), incident.RunRef{}, tt.step)
			if res.Status != tt.wantStatus || res.ExitCode != tt.wantExit {
				t.Fatalf("status %s exit %d (%s), want %s exit %d", res.Status, res.ExitCode, res.Error, tt.wantStatus, tt.wantExit)
			}
			if tt.wantOut != "" && res.Output != tt.wantOut {
				t.Errorf("output %q, want %q", res.Output, tt.wantOut)
			}
			if tt.wantErr != "" && !strings.Contains(res.Error, tt.wantErr) {
				t.Errorf("error %q, want %q", res.Error, tt.wantErr)
			}
			if res.Truncated != tt.truncated {
				t.Errorf("truncated = %v", res.Truncated)
			}
			if strings.Contains(res.Output, "VIGIL_SECRET_FOR_TEST") {
				t.Error("step saw Vigil's environment")
			}
			if res.Duration <= 0 || res.FinishedAt.Before(res.StartedAt) {
				t.Errorf("duration %v", res.Duration)
			}
		})
	}
}

// TestParamPatternIsWhole: a pattern that is not a regexp on its own is
// refused, since wrapped in ^(?:…)$ as written it would let values through
// that it does not match whole.
func TestParamPatternIsWhole(t *testing.T) {
	d := Directory{Groups: map[string][]string{"oncall": {"alice"}}}
	tests := []struct {
		pattern string
		wantErr bool
	}{
		{pattern: `[a-z]+`},
		{pattern: `a|b`},
		{pattern: `[a-z]+)|(.*`, wantErr: true}, // would take "x; rm -rf /"
		{pattern: `)(`, wantErr: true},
		{pattern: `\Qa`, wantErr: true}, // \Q quotes the wrapper's ")$" too
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			_, ps := Parse("p.yaml", paramRunbook(t, tt.pattern, "{{ .params.x }}"), d)
			bad := len(ps) == 1 && strings.Contains(ps[0].Message, "param x: bad pattern")
			if bad != tt.wantErr || (!tt.wantErr && len(ps) > 0) {
				t.Errorf("problems %v, want a bad pattern: %v", ps, tt.wantErr)
			}
		})
	}
}

// TestParseNullDocument: a file that holds no mapping is a problem, never a
// runbook without an id (FuzzParseRunbook found "\n!").
func TestParseNullDocument(t *testing.T) {
	tests := []struct {
		data, want string
		line       int
	}{
		{data: "", want: "file is empty", line: 1},
		{data: "# only a comment\n", want: "file is empty", line: 1},
		{data: "~\n", want: "only a null document", line: 1},
		{data: "null", want: "only a null document", line: 1},
		{data: "\n\n!", want: "only a null document", line: 3},
		{data: "---\n", want: "only a null document", line: 2},
	}
	for _, tt := range tests {
		rb, ps := Parse("x.yaml", []byte(tt.data), Directory{})
		if rb != nil || len(ps) != 1 || !strings.Contains(ps[0].Message, tt.want) || ps[0].Line != tt.line {
			t.Errorf("Parse(%q) = %v, %v; want one problem %q at line %d", tt.data, rb, ps, tt.want, tt.line)
		}
	}
}
