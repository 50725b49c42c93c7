package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/config"
	"github.com/vigilops/vigil/runbooks"
)

func newRunbookCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "runbook", Short: "Work with runbooks as code"}
	var configPath string
	lint := &cobra.Command{
		Use:   "lint DIR",
		Short: "Check every runbook file under DIR and report each problem as file:line:col",
		Long: `Checks every *.yaml and *.yml file under DIR: unknown or missing fields, bad matchers,
patterns, durations and templates, duplicate ids, and approver groups that the
configuration does not define. Every problem is printed as file:line:col: message.
Exits 1 when there is any problem.`,
		Example: "  vigil runbook lint examples/runbooks\n  vigil runbook lint --config vigil.yaml runbooks/",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(configPath)
			if err != nil {
				return err
			}
			lib, problems, err := runbooks.LoadDir(args[0], cfg.Groups)
			if err != nil {
				return err
			}
			for _, p := range problems {
				fmt.Fprintln(cmd.OutOrStdout(), p)
			}
			if len(problems) > 0 {
				files := map[string]bool{}
				for _, p := range problems {
					files[p.File] = true
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "%d problem(s) in %d file(s)\n", len(problems), len(files))
				return exitCode(1)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "ok: %d runbook(s) in %s\n", len(lib.Runbooks), args[0])
			return nil
		},
	}
	lint.Flags().StringVar(&configPath, "config", "", "vigil.yaml whose groups approvers may name (default: built-in groups)")
	cmd.AddCommand(lint)
	return cmd
}

// loadConfig loads path, or returns the defaults when path is empty.
func loadConfig(path string) (config.Config, error) {
	if path == "" {
		return config.Default(), nil
	}
	return config.Load(path)
}
