package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/config"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/runbooks"
)

func newRunbookCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "runbook", Short: "Work with runbooks as code: lint, plan, test"}
	cmd.AddCommand(newRunbookLintCmd(), newRunbookPlanCmd(), newRunbookTestCmd())
	return cmd
}

func newRunbookLintCmd() *cobra.Command {
	var configPath string
	lint := &cobra.Command{
		Use:   "lint DIR",
		Short: "Check every runbook file under DIR and report each problem as file:line:col",
		Long: `Checks every *.yaml and *.yml file under DIR: unknown or missing fields, wrong types,
bad matchers, patterns, durations and templates, templates naming unknown params,
duplicate ids, risk: high without rollback, approvers naming groups or on-call
schedules the configuration does not define, min_approvals the approvers cannot
reach, and malformed tests. Every problem is printed as file:line:col: message.
Exits 1 when there is any problem.`,
		Example: "  vigil runbook lint examples/runbooks\n  vigil runbook lint --config vigil.yaml runbooks/",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(configPath)
			if err != nil {
				return err
			}
			lib, err := loadLibrary(cmd, cfg, args[0], cmd.OutOrStdout())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "ok: %d runbook(s) in %s\n", len(lib.Runbooks), args[0])
			return nil
		},
	}
	lint.Flags().StringVar(&configPath, "config", "", "vigil.yaml whose groups and on-call schedules approvers may name (default: built-in groups)")
	return lint
}

func newRunbookPlanCmd() *cobra.Command {
	var configPath, dir, alertPath string
	var inputs []string
	plan := &cobra.Command{
		Use:   "plan ID --alert FILE",
		Short: "Print exactly what a runbook would run for an alert",
		Long: `Renders runbook ID against an alert and prints the plan a human approves: every
command with its parameters filled in (secret values never appear), the approvals
required (who, how many, self-approval, expiry) and the rollback. The thread shows
the same text.

FILE is JSON: one alert ({"labels": {...}, "annotations": {...}}) or an Alertmanager
webhook payload, whose first alert the runbook matches is used. Input params
(from: input) are given with --input NAME=VALUE. Exits 1 when the runbook does
not match, is refused, or needs input.`,
		Example: `  vigil runbook plan clean-temp-files --alert alert.json
  vigil runbook plan scale-deployment --alert alert.json --input replicas=6 --runbooks ./runbooks`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(configPath)
			if err != nil {
				return err
			}
			if dir == "" {
				dir = cfg.Runbooks.Dir
			}
			lib, err := loadLibrary(cmd, cfg, dir, cmd.ErrOrStderr())
			if lib == nil {
				return err
			}
			rb := lib.Get(args[0])
			if rb == nil {
				return fmt.Errorf("no runbook %q in %s (or it has problems, listed above)", args[0], dir)
			}
			alerts, err := readAlerts(alertPath)
			if err != nil {
				return err
			}
			in, err := parseInputs(inputs)
			if err != nil {
				return err
			}
			al, why := pickAlert(rb, alerts)
			if why != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "runbook %s does not match the alert: %s\n", rb.ID, why)
				return exitCode(1)
			}
			p, err := rb.Render(runbooks.Context{
				Labels: al.Labels, Annotations: al.Annotations, Inputs: in, Directory: directory(cfg),
				Incident: &incident.Incident{ID: "incident-plan", Key: al.Labels["alertname"], Title: al.Labels["alertname"], Severity: al.Labels["severity"]},
			})
			var ni *runbooks.NeedsInputError
			switch {
			case errors.As(err, &ni):
				fmt.Fprintf(cmd.ErrOrStderr(), "runbook %s needs input; pass:\n", rb.ID)
				for _, ip := range ni.Params {
					fmt.Fprintf(cmd.ErrOrStderr(), "  --input %s=VALUE   (%s) %s\n", ip.Name, inputType(ip), ip.Prompt)
				}
				return exitCode(1)
			case err != nil:
				fmt.Fprintf(cmd.ErrOrStderr(), "not proposed: %v\n", err)
				return exitCode(1)
			}
			fmt.Fprintln(cmd.OutOrStdout(), p.PlanText())
			return nil
		},
	}
	f := plan.Flags()
	f.StringVar(&alertPath, "alert", "", "JSON file with the alert (or an Alertmanager webhook payload)")
	f.StringVar(&dir, "runbooks", "", "directory of runbook YAML files (default: runbooks.dir from --config, else examples/runbooks)")
	f.StringVar(&configPath, "config", "", "vigil.yaml with the groups and on-call schedules approvers resolve to")
	f.StringArrayVar(&inputs, "input", nil, "NAME=VALUE answer to an input param (repeatable)")
	_ = plan.MarkFlagRequired("alert")
	return plan
}

func newRunbookTestCmd() *cobra.Command {
	var configPath string
	var verbose bool
	test := &cobra.Command{
		Use:   "test DIR",
		Short: "Run the tests written in the runbooks under DIR",
		Long: `Loads every runbook under DIR (a problem fails the run, as lint would report it),
then runs each runbook's tests: whether the fixture alert matches, the rendered
params, the plan lines, refusals and input requests, and dry runs that stub step
results (a failing step must trigger the rollback, last step first). Nothing is
executed. Prints each failure and a summary; exits 1 when anything failed.`,
		Example: "  vigil runbook test examples/runbooks\n  vigil runbook test -v --config vigil.yaml runbooks/",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(configPath)
			if err != nil {
				return err
			}
			lib, err := loadLibrary(cmd, cfg, args[0], cmd.OutOrStdout())
			if lib == nil {
				return err
			}
			problems := err != nil
			passed, failed, untested := 0, 0, 0
			out := cmd.OutOrStdout()
			for _, rb := range lib.Runbooks {
				if len(rb.Tests) == 0 {
					untested++
					if verbose {
						fmt.Fprintf(out, "---- %s: no tests\n", rb)
					}
				}
				for _, res := range rb.RunTests(directory(cfg)) {
					if res.Passed() {
						passed++
					} else {
						failed++
					}
					if verbose || !res.Passed() {
						fmt.Fprintln(out, res)
					}
				}
			}
			summary := fmt.Sprintf("%d passed, %d failed in %d runbook(s)", passed, failed, len(lib.Runbooks))
			if untested > 0 {
				summary += fmt.Sprintf("; %d runbook(s) have no tests", untested)
			}
			if problems {
				summary += "; runbooks with problems were not tested (see above)"
			}
			fmt.Fprintln(cmd.ErrOrStderr(), summary)
			if failed > 0 || problems {
				return exitCode(1)
			}
			return nil
		},
	}
	test.Flags().StringVar(&configPath, "config", "", "vigil.yaml whose groups and on-call schedules approvers resolve to")
	test.Flags().BoolVarP(&verbose, "verbose", "v", false, "also list passing tests and runbooks without tests")
	return test
}

// loadLibrary loads dir, printing every problem to w as file:line:col. With
// problems it returns the clean runbooks and exitCode(1), after a count on stderr.
func loadLibrary(cmd *cobra.Command, cfg config.Config, dir string, w io.Writer) (*runbooks.Library, error) {
	files, _, err := runbooks.Dir(dir).Files(cmd.Context(), "")
	if err != nil {
		return nil, err
	}
	lib, problems := runbooks.Load(files, "", directory(cfg))
	if len(problems) == 0 {
		return lib, nil
	}
	bad := map[string]bool{}
	for _, p := range problems {
		fmt.Fprintln(w, p)
		bad[p.File] = true
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%d problem(s) in %d file(s)\n", len(problems), len(bad))
	return lib, exitCode(1)
}

// directory is who approves, from configuration.
func directory(cfg config.Config) runbooks.Directory {
	return runbooks.Directory{Groups: cfg.Groups, OnCall: cfg.OnCall}
}

// loadConfig loads path, or returns the defaults when path is empty.
func loadConfig(path string) (config.Config, error) {
	if path == "" {
		return config.Default(), nil
	}
	return config.Load(path)
}

// fixtureAlert is an alert as plan reads it.
type fixtureAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

// readAlerts reads one alert or an Alertmanager webhook payload.
func readAlerts(path string) ([]fixtureAlert, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--alert: %w", err)
	}
	var doc struct {
		fixtureAlert
		Alerts []fixtureAlert `json:"alerts"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("--alert %s: not JSON: %w", path, err)
	}
	if len(doc.Alerts) == 0 {
		doc.Alerts = []fixtureAlert{doc.fixtureAlert}
	}
	if len(doc.Alerts[0].Labels) == 0 {
		return nil, fmt.Errorf("--alert %s: no labels; give {\"labels\": {...}, \"annotations\": {...}} or an Alertmanager payload", path)
	}
	return doc.Alerts, nil
}

// pickAlert returns the first alert the runbook matches, or why the first alert
// does not match.
func pickAlert(rb *runbooks.Runbook, alerts []fixtureAlert) (fixtureAlert, string) {
	for _, al := range alerts {
		if m := unmatched(rb, al.Labels); len(m) == 0 {
			return al, ""
		}
	}
	return fixtureAlert{}, strings.Join(unmatched(rb, alerts[0].Labels), "; ")
}

func unmatched(rb *runbooks.Runbook, labels map[string]string) []string {
	var out []string
	for _, m := range rb.Match.Matchers {
		if !m.Matches(labels) {
			out = append(out, fmt.Sprintf("%s fails (label %s is %q)", m, m.Name, labels[m.Name]))
		}
	}
	return out
}

func parseInputs(kvs []string) (map[string]string, error) {
	in := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--input %q must be NAME=VALUE", kv)
		}
		in[k] = v
	}
	return in, nil
}

func inputType(ip runbooks.InputParam) string {
	switch {
	case len(ip.Values) > 0:
		return "one of " + strings.Join(ip.Values, ", ")
	case ip.Pattern != "":
		return ip.Type + " matching " + ip.Pattern
	default:
		return ip.Type
	}
}
