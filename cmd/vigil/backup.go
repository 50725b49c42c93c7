package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/store"
)

// lockFile is the file a running Vigil holds a lock on in its data directory.
const lockFile = "vigil.lock"

// errDataDirInUse means another process holds the data directory's lock.
var errDataDirInUse = errors.New("another Vigil is using this data directory")

// lockDataDir takes the data directory's lock, so two Vigils never share a store
// and nothing restores over a store in use. The lock is the kernel's (flock): it
// goes with the process, however it ends.
func lockDataDir(dir string) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data dir lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w (it holds %s); stop it first", dir, errDataDirInUse, path)
		}
		return nil, fmt.Errorf("data dir lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}, nil
}

func newBackupCmd() *cobra.Command {
	var f storeFlags
	var out string
	cmd := &cobra.Command{
		Use:   "backup --out FILE",
		Short: "Copy the store, consistently, while Vigil runs",
		Long: `Writes an online, consistent copy of the store (vigil.db: events, incidents, threads,
the audit trail and its checkpoints) with SQLite's backup API; Vigil keeps running and
writing meanwhile. The copy's audit trail is verified before the command succeeds.

Not included: the audit signing key (keep it apart from the data, so a stolen backup
cannot be re-signed), and the embedded Temporal server's database (temporal.db), which
holds running workflows.

A PostgreSQL store (--store postgres://…) is backed up with PostgreSQL's own tools:
  pg_dump --format=custom --file=vigil.dump 'postgres://vigil@db:5432/vigil'
  pg_restore --clean --if-exists --dbname='postgres://vigil@db:5432/vigil' vigil.dump
then check the restored trail with vigil audit verify --store ….`,
		Example: "  vigil backup --data-dir /var/lib/vigil --out /backups/vigil-$(date +%F).db",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return errors.New("--out is required")
			}
			st, cfg, err := f.open(cmd)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.Backup(cmd.Context(), out); err != nil {
				return err
			}
			keys, err := f.keys(cfg)
			if err != nil {
				return err
			}
			copyOf, err := store.Open(out)
			if err != nil {
				return fmt.Errorf("open the backup: %w", err)
			}
			defer copyOf.Close()
			v, err := copyOf.VerifyAuditWith(cmd.Context(), keys, nil)
			if err != nil {
				return fmt.Errorf("the backup at %s was written but its audit trail does not verify: %w", out, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "backup written to %s: %d audit record(s) verified, %d checkpoint(s)%s\n", out, v.Records, v.Checkpoints, signedNote(v))
			return nil
		},
	}
	f.register(cmd, true)
	cmd.Flags().StringVar(&out, "out", "", "file to write; it must not exist")
	return cmd
}

func signedNote(v audit.Verification) string {
	switch {
	case v.Checkpoints == 0:
		return ""
	case v.Signed:
		return " signed by key " + strings.Join(v.KeyIDs, ", ")
	}
	return " (signatures not checked: no public key)"
}

func newRestoreCmd() *cobra.Command {
	var f storeFlags
	var from string
	var force bool
	cmd := &cobra.Command{
		Use:   "restore --from FILE --data-dir DIR",
		Short: "Put a backup in place as the store of a data directory",
		Long: `Checks the backup (SQLite's integrity check, and its audit trail: chain, checkpoints and
their signatures) and only then puts it in place as DIR/vigil.db. It refuses while a
Vigil runs on DIR. It refuses a store already there unless --force, and then keeps the
old one beside it (vigil.db.replaced-TIME), never deletes it.

Signatures are checked with --public-key, the configured key, or DIR's development key.
Vigil signs new checkpoints only with a key that trusts the trail's last one, so make
the key the backup was signed with available to the restored Vigil (audit.signing_key,
or audit.trusted_keys after a rotation; in development copy the old DATA_DIR/audit.key).`,
		Example: "  vigil restore --from /backups/vigil-2026-11-24.db --data-dir /var/lib/vigil --config /etc/vigil/vigil.yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" {
				return errors.New("--from is required")
			}
			cfg, err := f.config(cmd)
			if err != nil {
				return err
			}
			if f.dsn != "" {
				if engine, _, err := store.ParseDSN(f.dsn); err != nil {
					return fmt.Errorf("--store: %w", err)
				} else if engine != store.SQLite {
					return store.ErrBackupEngine
				}
				return errors.New("restore puts a SQLite backup in place in --data-dir; --store is only for PostgreSQL, where pg_restore does it")
			}
			unlock, err := lockDataDir(cfg.DataDir)
			if err != nil {
				return err
			}
			defer unlock()
			keys, err := f.keys(cfg)
			if err != nil {
				return err
			}
			res, err := store.Restore(cmd.Context(), from, filepath.Join(cfg.DataDir, vigilDB), keys, force)
			if errors.Is(err, store.ErrStoreExists) {
				return fmt.Errorf("%s already holds a store; pass --force to replace it (the old one is kept beside it)", cfg.DataDir)
			}
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "restored %s into %s: %d audit record(s) verified, %d checkpoint(s)%s\n", from, cfg.DataDir, res.Verification.Records, res.Verification.Checkpoints, signedNote(res.Verification))
			if res.Replaced != "" {
				fmt.Fprintf(w, "the store that was there is kept as %s\n", res.Replaced)
			}
			if _, err := os.Stat(filepath.Join(cfg.DataDir, temporalDB)); err == nil {
				fmt.Fprintf(w, "note: %s is not part of the backup; workflows it holds may not match the restored store\n", filepath.Join(cfg.DataDir, temporalDB))
			}
			return nil
		},
	}
	f.register(cmd, true)
	cmd.Flags().StringVar(&from, "from", "", "the backup file")
	cmd.Flags().BoolVar(&force, "force", false, "replace a store already in the data directory (kept aside)")
	return cmd
}
