// Command vigil is Vigil's single binary: `vigil dev` runs everything in one
// process, `vigil serve` runs production replicas; other subcommands lint
// runbooks and verify the audit trail.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/internal/version"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// exitCode is an error that carries the process exit status; its message has
// already been printed.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	var code exitCode
	switch {
	case err == nil:
		return 0
	case errors.As(err, &code):
		return int(code)
	default:
		fmt.Fprintln(stderr, "vigil:", err)
		return 1
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "vigil",
		Short: "Vigil: AIOps ChatOps bot and incident workflow orchestrator",
		Long: `Vigil turns alerts into incidents, each a durable Temporal workflow: it posts the
evidence, ranked root-cause candidates and proposed runbooks to a thread, waits for a
human approval the runbook's policy allows, runs the steps, and records every act in a
tamper-evident audit trail.

Start here:
  vigil dev --demo        run everything locally and play a demo incident
  vigil serve ...         run a production replica (PostgreSQL, a Temporal cluster, roles)
  vigil runbook lint DIR  check runbook files
  vigil audit verify      check the audit trail's hash chain
  vigil analyze ...       score a metric series or mine a log file offline
  vigil rca ...           rank root causes from a metrics CSV, with the reasons`,
		Version:       version.Release,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newDevCmd(), newServeCmd(), newTemporalServerCmd(), newRunbookCmd(), newAuditCmd())
	root.AddCommand(newTimelineCmd(), newReportCmd(), newBackupCmd(), newRestoreCmd())
	root.AddCommand(newAnalyzeCmd(), newRCACmd(), newMigrateCmd(), newCodecServerCmd())
	return root
}
