package app

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/vigilops/vigil/activities"
	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/config"
	"github.com/vigilops/vigil/store"
)

// DevKeyFile is where Vigil keeps its audit signing key, under the data
// directory, when audit.signing_key is not set.
const DevKeyFile = "audit.key"

// ErrSharedSigningKey is New's error for a shared store without
// audit.signing_key.
var ErrSharedSigningKey = errors.New("audit.signing_key is required with a PostgreSQL store: every replica appends to one audit trail and must sign it with the same key; " +
	"create one with `openssl genpkey -algorithm ed25519 -out vigil-audit.key`, give every replica the file, " +
	"and set audit.signing_key: file:/path/to/vigil-audit.key (or env:NAME)")

// SigningKey returns the audit signing key and where it came from:
// audit.signing_key when set, else the development key in the data directory,
// which is created when create is set and it does not exist yet. It returns a nil
// key when there is none.
func SigningKey(cfg config.Config, create bool) (ed25519.PrivateKey, string, error) {
	if ref := cfg.Audit.SigningKey; ref != "" {
		text, err := ref.Resolve()
		if err != nil {
			return nil, "", fmt.Errorf("audit.signing_key: %w", err)
		}
		key, err := audit.ParsePrivateKey([]byte(text))
		if err != nil {
			return nil, "", fmt.Errorf("audit.signing_key %s: %w", ref, err)
		}
		return key, string(ref), nil
	}
	path := filepath.Join(cfg.DataDir, DevKeyFile)
	text, err := os.ReadFile(path)
	if err == nil {
		key, err := audit.ParsePrivateKey(text)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", path, err)
		}
		return key, path, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, "", err
	}
	if !create {
		return nil, "", nil
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, "", err
	}
	pem, err := audit.MarshalPrivateKey(key)
	if err != nil {
		return nil, "", err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, "", fmt.Errorf("create audit signing key: %w", err)
	}
	if _, err := f.Write(pem); err != nil {
		_ = f.Close()
		return nil, "", fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, "", fmt.Errorf("write %s: %w", path, err)
	}
	return key, path, nil
}

// TrustedKeys are audit.trusted_keys, parsed (config validated them).
func TrustedKeys(cfg config.Config) []ed25519.PublicKey {
	var out []ed25519.PublicKey
	for _, k := range cfg.Audit.TrustedKeys {
		raw, _ := base64.StdEncoding.DecodeString(k)
		out = append(out, raw)
	}
	return out
}

// enableAuditSigning makes the store sign every commit of audit records, with
// the configured key or the development key (created on first start). A trail
// whose head is not vouched for stops Vigil here, before any incident runs.
func enableAuditSigning(ctx context.Context, st *store.Store, cfg config.Config, logger *slog.Logger) error {
	key, source, err := SigningKey(cfg, true)
	if err != nil {
		return err
	}
	signer := audit.NewSigner(key)
	if cfg.Audit.SigningKey == "" {
		logger.Warn("audit checkpoints are signed with a development key kept in the data directory; set audit.signing_key to a key kept elsewhere in production",
			"key", source, "key_id", signer.KeyID())
	}
	adopted, err := st.EnableSigning(ctx, signer, TrustedKeys(cfg)...)
	if err != nil {
		where := "--data-dir " + cfg.DataDir
		if st.Engine() != store.SQLite {
			where = "--store DSN"
		}
		return fmt.Errorf("audit trail: %w (key %s from %s; `vigil audit verify %s` names the first bad record)", err, signer.KeyID(), source, where)
	}
	if adopted > 0 {
		logger.Warn("audit trail signed for the first time: its existing records were verified and are now covered by a checkpoint", "records", adopted, "key_id", signer.KeyID())
	}
	logger.Info("audit trail signing", "key_id", signer.KeyID())
	return nil
}

// reviewActivities are the checkpoint and postmortem activities, filing drafts
// as GitHub issues when postmortems.github_repo is set.
func reviewActivities(cfg config.Config, st *store.Store, chat bot.Surface, logger *slog.Logger) (*activities.Review, error) {
	rv := &activities.Review{Store: st, Chat: chat, Logger: logger.With("component", "postmortem")}
	if repo := cfg.Postmortems.GitHubRepo; repo != "" {
		token, err := cfg.GitHub.Token.Resolve()
		if err != nil {
			return nil, fmt.Errorf("github.token (for postmortems.github_repo): %w", err)
		}
		issues, err := activities.NewGitHubIssues(cfg.GitHub.BaseURL, token, repo, cfg.Postmortems.IssueLabels(), nil)
		if err != nil {
			return nil, err
		}
		rv.Issues = issues
	}
	return rv, nil
}
