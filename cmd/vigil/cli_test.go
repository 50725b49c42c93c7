package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestCLI(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  []string
	}{
		{name: "help explains", args: []string{"--help"}, wantOut: []string{"vigil dev --demo", "runbook lint", "audit verify"}},
		{name: "dev help", args: []string{"dev", "--help"}, wantOut: []string{"--data-dir", "--temporal-address", "--demo", "still waiting"}},
		{name: "lint examples", args: []string{"runbook", "lint", "../../examples/runbooks"}, wantOut: []string{"ok: 10 runbook(s)"}},
		{name: "lint bad runbooks", args: []string{"runbook", "lint", "../../runbooks/testdata/bad"}, wantCode: 1,
			wantOut: []string{"mistakes.yaml:14:1: unknown field \"stepz\"", "mistakes.yaml:19:14: step one: timeout", "problem(s) in 3 file(s)"}},
		{name: "lint missing dir", args: []string{"runbook", "lint", "nope"}, wantCode: 1, wantOut: []string{"runbooks directory nope does not exist"}},
		{name: "verify without store", args: []string{"audit", "verify", "--data-dir", "nope"}, wantCode: 1, wantOut: []string{"no Vigil store at nope/vigil.db (is --data-dir or --store right?)"}},
		{name: "bad log level", args: []string{"dev", "--log-level", "loud"}, wantCode: 1, wantOut: []string{`--log-level "loud"`}},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: 1, wantOut: []string{`unknown command "frobnicate"`}},
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
		})
	}
}
