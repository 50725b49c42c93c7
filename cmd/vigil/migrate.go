package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/store"
)

func newMigrateCmd() *cobra.Command {
	var dsn, dataDir string
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Bring a store's schema up to this version of Vigil",
		Long: `Applies the store's pending schema migrations and says which it applied. Every Vigil
also does this when it starts, under a lock, so replicas starting together apply each
migration once; run it first when you would rather see the schema change before the
new version takes traffic, or to create a PostgreSQL store's tables ahead of time.

A store migrated by a newer Vigil is not taken back: /readyz of an older replica
reports the unknown migration instead.`,
		Example: `  vigil migrate --store env:VIGIL_STORE
  vigil migrate --store 'postgres://vigil:secret@db:5432/vigil?sslmode=require'
  vigil migrate --data-dir /var/lib/vigil`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dsn, err := storeDSN(dsn)
			if err != nil {
				return err
			}
			if dsn == "" {
				dsn = "sqlite://" + filepath.Join(dataDir, vigilDB)
			}
			done, err := store.MigrateDSN(cmd.Context(), dsn)
			if err != nil {
				return err
			}
			if len(done) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: schema is current\n", store.Redact(dsn))
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: applied migration(s) %v\n", store.Redact(dsn), done)
			return nil
		},
	}
	cmd.Flags().StringVar(&dsn, "store", "", "postgres://user:password@host:5432/db or sqlite:///path/vigil.db, or env:NAME / file:PATH holding it (default: vigil.db in --data-dir)")
	cmd.Flags().StringVar(&dataDir, "data-dir", "./.vigil", "data directory whose vigil.db to migrate, when --store is not given")
	return cmd
}
