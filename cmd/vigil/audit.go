package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/store"
)

func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Inspect the tamper-evident audit trail"}
	var dataDir string
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check the audit trail's hash chain; exit 1 naming the first bad record",
		Long: `Walks the audit trail in order and recomputes every record's hash. Exits 0 when the
chain is intact. When a record was altered, deleted or reordered it exits 1 and names
the first record where the chain breaks.`,
		Example: "  vigil audit verify --data-dir ./.vigil",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := filepath.Join(dataDir, vigilDB)
			if _, err := os.Stat(path); err != nil {
				return fmt.Errorf("no Vigil store at %s (is --data-dir right?): %w", path, err)
			}
			st, err := store.Open(path)
			if err != nil {
				return err
			}
			defer st.Close()
			n, err := st.VerifyAudit(cmd.Context())
			if err != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "audit trail BROKEN after %d intact record(s): %v\n", n, err)
				return exitCode(1)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "audit trail intact: %d record(s) verified\n", n)
			return nil
		},
	}
	verify.Flags().StringVar(&dataDir, "data-dir", "./.vigil", "Vigil's data directory")
	cmd.AddCommand(verify)
	return cmd
}
