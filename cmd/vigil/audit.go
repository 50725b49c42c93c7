package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/config"
	"github.com/vigilops/vigil/store"
)

// storeFlags locate a Vigil store and the keys that verify its checkpoints.
type storeFlags struct {
	dsn        string
	dataDir    string
	configPath string
	publicKeys []string
}

func (f *storeFlags) register(cmd *cobra.Command, keys bool) {
	cmd.Flags().StringVar(&f.dsn, "store", "", "the store to read: postgres://user:password@host:5432/db or sqlite:///path/vigil.db, or env:NAME / file:PATH holding it (default: vigil.db in --data-dir)")
	cmd.Flags().StringVar(&f.dataDir, "data-dir", "./.vigil", "Vigil's data directory (default: data_dir of --config, else ./.vigil)")
	cmd.Flags().StringVar(&f.configPath, "config", "", "vigil.yaml, for data_dir and the audit keys")
	if keys {
		cmd.Flags().StringArrayVar(&f.publicKeys, "public-key", nil, "file with a public key to check signatures with (PEM, base64, or the private key file); repeatable; default: the configured signing key and audit.trusted_keys")
	}
}

// config loads --config; --data-dir, when given or when there is no config,
// says where the store is.
func (f *storeFlags) config(cmd *cobra.Command) (config.Config, error) {
	cfg, err := loadConfig(f.configPath)
	if err != nil {
		return cfg, err
	}
	if cmd.Flags().Changed("data-dir") || f.configPath == "" {
		cfg.DataDir = f.dataDir
	}
	return cfg, nil
}

// open opens the store of an existing data directory.
func (f *storeFlags) open(cmd *cobra.Command) (*store.Store, config.Config, error) {
	cfg, err := f.config(cmd)
	if err != nil {
		return nil, cfg, err
	}
	dsn, err := existingStore(f.dsn, cfg.DataDir)
	if err != nil {
		return nil, cfg, err
	}
	st, err := store.OpenDSN(dsn)
	return st, cfg, err
}

// existingStore is the DSN of the store --store names, else of vigil.db in
// dataDir; a SQLite file must exist (reading commands never create one).
func existingStore(dsn, dataDir string) (string, error) {
	dsn, err := storeDSN(dsn)
	if err != nil {
		return "", err
	}
	if dsn == "" {
		dsn = "sqlite://" + filepath.Join(dataDir, vigilDB)
	}
	engine, path, err := store.ParseDSN(dsn)
	if err != nil {
		return "", fmt.Errorf("--store: %w", err)
	}
	if engine == store.SQLite {
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("no Vigil store at %s (is --data-dir or --store right?): %w", path, err)
		}
	}
	return dsn, nil
}

// keys are the public keys to trust: the --public-key files when given, else
// the signing key's public half and audit.trusted_keys. nil when there are none.
func (f *storeFlags) keys(cfg config.Config) (audit.Keys, error) {
	var pubs []ed25519.PublicKey
	for _, path := range f.publicKeys {
		text, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("--public-key: %w", err)
		}
		pub, err := audit.ParsePublicKey(text)
		if err != nil {
			return nil, fmt.Errorf("--public-key %s: %w", path, err)
		}
		pubs = append(pubs, pub)
	}
	if len(pubs) == 0 {
		key, _, err := signingKey(cfg, false)
		if err != nil {
			return nil, err
		}
		if key != nil {
			pubs = append(pubs, key.Public().(ed25519.PublicKey))
		}
		pubs = append(pubs, trustedKeys(cfg)...)
	}
	if len(pubs) == 0 {
		return nil, nil
	}
	return audit.NewKeys(pubs...), nil
}

func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Verify and export the tamper-evident audit trail"}
	cmd.AddCommand(newAuditVerifyCmd(), newAuditExportCmd(), newAuditPublicKeyCmd())
	return cmd
}

func newAuditVerifyCmd() *cobra.Command {
	var f storeFlags
	var bundle string
	var witnesses []string
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check the audit trail's hash chain and signed checkpoints; exit 1 naming the first bad record",
		Long: `Walks the audit trail in order, recomputes every record's hash, and checks every signed
checkpoint: its signature, that it agrees with the chain, and that every record is
covered by one. Exits 0 when all is intact. When a record was altered, deleted,
reordered, appended outside Vigil, or rewritten, or the tail was truncated, it exits 1
and names the first record (or checkpoint) where the trail breaks.

Signatures are checked with the configured signing key (--config, or the development
key in the data directory) and audit.trusted_keys, or with the --public-key files.

--witness BUNDLE checks the trail against the checkpoints of an exported bundle, too:
that catches what no local check can, the newest records deleted together with their
checkpoints.

--bundle FILE verifies an exported bundle instead, without any database (- reads
standard input). Pin the key with --public-key; otherwise the bundle's own key is used
and its id printed for you to compare.`,
		Example: `  vigil audit verify --data-dir ./.vigil
  vigil audit verify --config /etc/vigil/vigil.yaml --witness incident-7.jsonl
  vigil audit verify --bundle incident-7.jsonl --public-key vigil-audit.pub`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if bundle != "" {
				return verifyBundle(cmd, &f, bundle)
			}
			st, cfg, err := f.open(cmd)
			if err != nil {
				return err
			}
			defer st.Close()
			keys, err := f.keys(cfg)
			if err != nil {
				return err
			}
			var outside []audit.Checkpoint
			for _, w := range witnesses {
				if keys == nil {
					return errors.New("--witness needs a public key to check the bundle's signatures with: pass --public-key or --config")
				}
				bv, err := readBundle(w, keys)
				if err != nil {
					return fmt.Errorf("--witness %s: %w", w, err)
				}
				outside = append(outside, bv.Witnesses...)
			}
			v, err := st.VerifyAuditWith(cmd.Context(), keys, outside)
			var ce *audit.ChainError
			var ke *audit.CheckpointError
			if errors.As(err, &ce) || errors.As(err, &ke) {
				fmt.Fprintf(cmd.OutOrStdout(), "audit trail BROKEN after %d intact record(s): %v\n", v.Records, err)
				return exitCode(1)
			}
			if err != nil {
				return err
			}
			if !v.Signed && v.Checkpoints > 0 {
				return fmt.Errorf("the trail's %d signed checkpoint(s) agree with its chain, but there is no public key to check their signatures: pass --public-key FILE or --config FILE", v.Checkpoints)
			}
			out := fmt.Sprintf("audit trail intact: %d record(s) verified", v.Records)
			switch {
			case v.Checkpoints > 0:
				out += fmt.Sprintf("; %d checkpoint(s) signed by key %s cover every record", v.Checkpoints, strings.Join(v.KeyIDs, ", "))
			case v.Records > 0:
				out += " (hash chain only: the trail is not signed)"
			}
			if v.Witnesses > 0 {
				out += fmt.Sprintf("; %d outside checkpoint(s) agree", v.Witnesses)
			}
			fmt.Fprintln(cmd.OutOrStdout(), out)
			return nil
		},
	}
	f.register(verify, true)
	verify.Flags().StringVar(&bundle, "bundle", "", "verify this exported bundle instead of a store (- for standard input)")
	verify.Flags().StringArrayVar(&witnesses, "witness", nil, "an exported bundle whose checkpoints the trail must agree with; repeatable")
	return verify
}

// readBundle verifies a bundle file (- is standard input) with keys.
func readBundle(path string, keys audit.Keys) (audit.BundleVerification, error) {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return audit.BundleVerification{}, err
		}
		defer f.Close()
		r = f
	}
	return audit.VerifyBundle(r, keys)
}

func verifyBundle(cmd *cobra.Command, f *storeFlags, path string) error {
	var keys audit.Keys
	if len(f.publicKeys) > 0 {
		var err error
		if keys, err = f.keys(config.Config{}); err != nil {
			return err
		}
	}
	v, err := readBundle(path, keys)
	var be *audit.BundleError
	if errors.As(err, &be) {
		fmt.Fprintf(cmd.OutOrStdout(), "audit bundle BROKEN: %v\n", err)
		return exitCode(1)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "audit bundle intact: incident %s, %d record(s), %d checkpoint(s) signed by key %s\n",
		v.Incident, v.Records, v.Checkpoints, strings.Join(v.KeyIDs, ", "))
	if !v.Pinned {
		fmt.Fprintf(cmd.OutOrStdout(), "checked with the key in the bundle: it proves integrity only if key %s is the one you trust (pass --public-key to pin it)\n", strings.Join(v.KeyIDs, ", "))
	}
	return nil
}

func newAuditExportCmd() *cobra.Command {
	var f storeFlags
	var incidentID, out string
	export := &cobra.Command{
		Use:   "export --incident ID",
		Short: "Write an incident's audit records as a bundle anyone can verify offline",
		Long: `Writes the incident's audit records, the signed checkpoints that cover them and the
public key as JSON Lines (the format is in the README). A third party verifies it
without Vigil's database: vigil audit verify --bundle FILE --public-key KEY, or by
hand. When the signing key is at hand, records not yet covered by an incident
checkpoint are sealed first. The bundle is verified before it is written.`,
		Example: "  vigil audit export --incident incident-7-diskfillingup-db --out incident-7.jsonl",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if incidentID == "" {
				return errors.New("--incident is required (e.g. --incident incident-7-diskfillingup-db)")
			}
			st, cfg, err := f.open(cmd)
			if err != nil {
				return err
			}
			defer func() { _ = st.Close() }()
			key, _, err := signingKey(cfg, false)
			if err != nil {
				return err
			}
			if key != nil {
				if _, err := st.EnableSigning(cmd.Context(), audit.NewSigner(key), trustedKeys(cfg)...); err != nil {
					// Export what is sealed already; verify says what is wrong.
					fmt.Fprintf(cmd.ErrOrStderr(), "not sealing new records: %v\n", err)
					_ = st.Close()
					if st, _, err = f.open(cmd); err != nil {
						return err
					}
				}
			}
			keys, err := f.keys(cfg)
			if err != nil {
				return err
			}
			if keys == nil {
				return errors.New("no public key for the bundle: pass --public-key FILE or --config FILE")
			}
			var buf bytes.Buffer
			if _, err := st.ExportIncident(cmd.Context(), &buf, incidentID, keys, time.Now()); err != nil {
				return err
			}
			v, err := audit.VerifyBundle(bytes.NewReader(buf.Bytes()), keys)
			if err != nil {
				return fmt.Errorf("the bundle does not verify, so it was not written: %w", err)
			}
			if out == "-" {
				_, err = cmd.OutOrStdout().Write(buf.Bytes())
			} else {
				err = os.WriteFile(out, buf.Bytes(), 0o644)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "exported %s: %d record(s), %d checkpoint(s) signed by key %s; the bundle verifies\n",
				incidentID, v.Records, v.Checkpoints, strings.Join(v.KeyIDs, ", "))
			return nil
		},
	}
	f.register(export, true)
	export.Flags().StringVar(&incidentID, "incident", "", "the incident to export")
	export.Flags().StringVar(&out, "out", "-", "file to write (- for standard output)")
	return export
}

func newAuditPublicKeyCmd() *cobra.Command {
	var f storeFlags
	pk := &cobra.Command{
		Use:   "public-key",
		Short: "Print the public key that verifies this Vigil's audit checkpoints",
		Long: `Prints the key id, the public key as base64 (the form audit.trusted_keys takes) and
as PEM. Give it to whoever verifies exported bundles, by a channel they trust.`,
		Example: "  vigil audit public-key --config /etc/vigil/vigil.yaml > vigil-audit.pub",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.config(cmd)
			if err != nil {
				return err
			}
			key, source, err := signingKey(cfg, false)
			if err != nil {
				return err
			}
			if key == nil {
				return fmt.Errorf("no audit signing key: audit.signing_key is not set and %s does not exist", filepath.Join(cfg.DataDir, devKeyFile))
			}
			pub := key.Public().(ed25519.PublicKey)
			pem, err := audit.MarshalPublicKey(pub)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "key id %s, from %s\n", audit.KeyID(pub), source)
			fmt.Fprintf(cmd.OutOrStdout(), "# key id %s; base64 %s\n%s", audit.KeyID(pub), base64.StdEncoding.EncodeToString(pub), pem)
			return nil
		},
	}
	f.register(pk, false)
	return pk
}
