package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunbookCommands(t *testing.T) {
	bad := t.TempDir()
	broken := `id: broken
title: A test that fails
match: {matchers: ['alertname="X"']}
approval: {approvers: [group:oncall]}
steps: [{id: s, run: shell, command: [echo, hi]}]
tests:
  - name: expects the wrong plan
    alert: {labels: {alertname: X}}
    expect: {plan: ["s: echo bye"]}
`
	if err := os.WriteFile(filepath.Join(bad, "broken.yaml"), []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  []string
		notOut   []string
	}{
		{name: "plan fills parameters and shows approvals", args: []string{"runbook", "plan", "clean-temp-files", "--alert", "../../examples/runbooks/alerts/disk-filling-up.json", "--runbooks", "../../examples/runbooks"},
			wantOut: []string{"Runbook clean-temp-files (revision ", "Parameters: dir=/srv/scratch, age_minutes=30",
				"Approval: 1 of group:oncall (local-operator)", "  2. delete-old-tmp: find /srv/scratch -maxdepth 1 -type f -name '*.tmp' -mmin +30 -print -delete"}},
		{name: "plan asks for input params", args: []string{"runbook", "plan", "failover-database", "--alert", "../../examples/runbooks/alerts/primary-down.json", "--runbooks", "../../examples/runbooks"},
			wantCode: 1, wantOut: []string{"runbook failover-database needs input; pass:", "--input candidate=VALUE   (string matching [a-z0-9][a-z0-9-]*) Which replica should become the primary?"}},
		{name: "plan with input masks secrets and shows rollback", args: []string{"runbook", "plan", "failover-database", "--alert", "../../examples/runbooks/alerts/primary-down.json",
			"--runbooks", "../../examples/runbooks", "--input", "candidate=orders-2"},
			wantOut: []string{"Approval: 2 different people of group:oncall, user:dba-lead (dba-lead, local-operator); the requester may not approve their own run; after 15m escalates",
				"env PGPASSWORD=<secret> psql --host orders-2", "If a step fails, roll back (in this order):\n  1. fail-back:"}},
		{name: "plan for an alert the runbook does not match", args: []string{"runbook", "plan", "clean-temp-files", "--alert", "../../examples/runbooks/alerts/primary-down.json", "--runbooks", "../../examples/runbooks"},
			wantCode: 1, wantOut: []string{`runbook clean-temp-files does not match the alert: alertname="DiskFillingUp" fails (label alertname is "PostgresPrimaryDown")`}},
		{name: "plan for an unknown runbook", args: []string{"runbook", "plan", "nope", "--alert", "../../examples/runbooks/alerts/primary-down.json", "--runbooks", "../../examples/runbooks"},
			wantCode: 1, wantOut: []string{`no runbook "nope" in ../../examples/runbooks`}},
		{name: "test the example library", args: []string{"runbook", "test", "../../examples/runbooks"},
			wantOut: []string{" passed, 0 failed in 10 runbook(s)"}, notOut: []string{"FAIL"}},
		{name: "test reports a failing test and exits 1", args: []string{"runbook", "test", bad}, wantCode: 1,
			wantOut: []string{"FAIL " + bad + "/broken.yaml:7:5: broken / expects the wrong plan", "  - s: echo bye\n", "  + s: echo hi\n", "0 passed, 1 failed in 1 runbook(s)"}},
		{name: "test fails on lint problems", args: []string{"runbook", "test", "../../runbooks/testdata/bad"}, wantCode: 1,
			wantOut: []string{`mistakes.yaml:14:1: unknown field "stepz"`, "runbooks with problems were not tested"}},
		{name: "lint the examples", args: []string{"runbook", "lint", "../../examples/runbooks"}, wantOut: []string{"ok: 10 runbook(s)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if code := run(tt.args, &out, &out); code != tt.wantCode {
				t.Errorf("exit %d, want %d\n%s", code, tt.wantCode, out.String())
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range tt.notOut {
				if strings.Contains(out.String(), w) {
					t.Errorf("output has %q:\n%s", w, out.String())
				}
			}
		})
	}
}
