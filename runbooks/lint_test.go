package runbooks

import (
	"os"
	"strings"
	"testing"
)

// TestLintReportsEachMistake checks, for files full of the mistakes runbook
// authors make, that every problem is reported once, at the line and column of the
// offending text, with a message that says what to do.
func TestLintReportsEachMistake(t *testing.T) {
	dir := Directory{Groups: map[string][]string{"oncall": {"local-operator"}}}
	tests := []struct {
		file string
		want []string
	}{
		{file: "testdata/lint/mistakes.yaml", want: []string{
			`6:20: param replicas: type "integer" must be one of string, int, enum, duration, bool`,
			`7:3: param mode needs a source (from: label.NAME) or a default`,
			`7:3: param mode: an enum param needs values: [a, b, ...]`,
			`8:30: param size: default: value "ten" is not a whole number`,
			`9:3: param who: from: input needs a description; it is the question asked in chat`,
			`10:51: param level: pattern applies to string params; a bool param is checked by its type`,
			`11:7: risk: high needs rollback: steps that undo the change, run if a step fails`,
			`13:3: secret TOKEN is not given to any step; list it in a step's env`,
			`14:3: secret name "lower" must be upper-case letters, digits and '_'`,
			`15:11: secret INLINE: secret must be a reference env:NAME or file:PATH, not an inline value`,
			`17:29: on-call schedule "nightly" is not defined in the configuration (oncall: none)`,
			`19:14: approval.on_expiry "never" must be escalate or abort`,
			`19:14: approval.on_expiry has no effect without approval.expires`,
			`20:17: escalate_to entry "oncall:nightly" must be user:NAME or group:NAME`,
			`22:5: step pause is missing "duration" (e.g. 30s)`,
			`26:15: interval 1m must be shorter than the step's timeout 30s, or the check is tried only once`,
			`29:7: step probe: check must have exactly one of http, shell`,
			`29:19: template references unknown param "nope" in step probe (declare it under params:; declared: level, mode, size, who)`,
			`33:10: template references unknown incident field "owner" in step call (known: id, key, title, severity)`,
			`34:30: ${TOKEN} is not in this request's env; add env: [TOKEN] (and declare it under secrets:)`,
			`35:11: step call: env SECRET_X is not a declared secret`,
			`36:14: step call: retries must be between 0 and 10, got 11`,
			`37:14: step call: confirm must be true or false, not "yes"`,
			`40:13: action comment needs "issue"`,
			`40:13: action comment needs "body"`,
			`41:11: repo "acme" must be owner/name`,
			`42:12: field "title" does not apply to action comment`,
			`45:15: the program (first element of command) must be written out, not templated`,
			`46:14: step sh: backoff has no effect without retries`,
			`47:10: template references .foo in step sh; templates see only .params, .labels and .incident`,
		}},
		{file: "testdata/lint/rollback-mistakes.yaml", want: []string{
			`5:7: risk: high needs rollback`,
			`7:3: approval needs 2 distinct approvers (min_approvals defaults to 2 for this risk) but approvers resolve to 1 (local-operator)`,
			`13:5: test "nope": expects no proposal (match: false, error or needs_input) and also params, plan or dry_run`,
			`15:14: test "nope": inputs.who is not an input param (from: input)`,
			`18:16: test "nope": expect.params.missing is not a declared param`,
			`20:7: test "nope": dry_run expects nothing; say what must happen (ran, rolled_back, outcome)`,
			`20:14: test "nope": dry_run names step "ghost", which the runbook does not have`,
			`21:5: test "nope": another test has the same name`,
		}},
		{file: "testdata/lint/high-one-approver.yaml", want: []string{
			`7:3: approval needs 2 distinct approvers (min_approvals defaults to 2 for this risk)`,
			`13:5: step id "go" is already used at line 9; step ids must be unique (rollback steps included)`,
			`13:5: rollback step go: rollback runs unattended after a failure, so it cannot wait for approval`,
			`15:5: rollback step undo: rollback runs unattended after a failure, so it cannot wait for approval`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			_, ps := Parse(tt.file, data, dir)
			var got []string
			for _, p := range ps {
				got = append(got, p.String())
			}
			for i, w := range tt.want {
				if i >= len(got) || !strings.HasPrefix(got[i], tt.file+":"+w) {
					t.Errorf("problem %d: want %s:%s", i+1, tt.file, w)
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("got %d problems, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
		})
	}
}

// TestLintAcceptsOnCallSchedules resolves oncall:SCHEDULE approvers from the
// directory, counting distinct people for min_approvals.
func TestLintAcceptsOnCallSchedules(t *testing.T) {
	doc := []byte(`id: x
title: X
match: {matchers: ['a="b"']}
approval:
  approvers: [oncall:dba, group:sre, user:carol]
  min_approvals: 3
steps: [{id: s, run: shell, command: ["true"]}]
`)
	tests := []struct {
		name    string
		dir     Directory
		wantErr string
	}{
		{name: "three people", dir: Directory{Groups: map[string][]string{"sre": {"alice", "bob"}}, OnCall: map[string][]string{"dba": {"carol"}}}},
		{name: "the same person twice counts once", dir: Directory{Groups: map[string][]string{"sre": {"carol"}}, OnCall: map[string][]string{"dba": {"carol"}}},
			wantErr: "6:18: approval needs 3 distinct approvers but approvers resolve to 1 (carol)"},
		{name: "schedule missing", dir: Directory{Groups: map[string][]string{"sre": {"alice", "bob"}}},
			wantErr: `5:15: on-call schedule "dba" is not defined in the configuration (oncall: none)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rb, ps := Parse("x.yaml", doc, tt.dir)
			switch {
			case tt.wantErr == "" && len(ps) > 0:
				t.Fatalf("problems: %v", ps)
			case tt.wantErr != "" && (len(ps) != 1 || !strings.HasPrefix(ps[0].String(), "x.yaml:"+tt.wantErr)):
				t.Fatalf("problems %v, want %q", ps, tt.wantErr)
			case tt.wantErr == "":
				if got := strings.Join(rb.AllowedUsers(tt.dir), ","); got != "alice,bob,carol" {
					t.Errorf("allowed = %s", got)
				}
			}
		})
	}
}
