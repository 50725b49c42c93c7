package main

import (
	"crypto/ed25519"

	"github.com/vigilops/vigil/config"
	"github.com/vigilops/vigil/internal/app"
)

// devKeyFile is where Vigil keeps its audit signing key, under the data
// directory, when audit.signing_key is not set.
const devKeyFile = app.DevKeyFile

// signingKey returns the audit signing key and where it came from, as
// app.SigningKey does: audit.signing_key when set, else the development key
// in the data directory, created when create is set.
func signingKey(cfg config.Config, create bool) (ed25519.PrivateKey, string, error) {
	return app.SigningKey(cfg, create)
}

// trustedKeys are audit.trusted_keys, parsed (config validated them).
func trustedKeys(cfg config.Config) []ed25519.PublicKey { return app.TrustedKeys(cfg) }
