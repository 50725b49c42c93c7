package app

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/vigilops/vigil/config"
	"github.com/vigilops/vigil/internal/codec"
)

// temporalOptions are the client options every Temporal client of Vigil
// uses: the namespace, TLS or mTLS, an API key, and the payload codec.
func temporalOptions(cfg config.Temporal, addr string, logger *slog.Logger) (client.Options, error) {
	o := client.Options{HostPort: addr, Namespace: cfg.Namespace,
		Logger: sdklog.NewStructuredLogger(logger.With("component", "temporal-sdk"))}
	if cfg.TLS.On() || cfg.APIKey != "" {
		tc, err := temporalTLS(cfg.TLS, addr)
		if err != nil {
			return client.Options{}, err
		}
		o.ConnectionOptions.TLS = tc
	}
	if cfg.APIKey != "" {
		key, err := cfg.APIKey.Resolve()
		if err != nil {
			return client.Options{}, fmt.Errorf("temporal.api_key: %w", err)
		}
		o.Credentials = client.NewAPIKeyStaticCredentials(strings.TrimSpace(key))
	}
	c, err := NewCodec(cfg.Encryption)
	if err != nil {
		return client.Options{}, err
	}
	if c == nil {
		logger.Warn("temporal.encryption.keys is empty: alert texts, parameters and chat messages are stored in clear in Temporal's workflow histories")
		return o, nil
	}
	o.DataConverter = codec.DataConverter(c)
	o.FailureConverter = codec.FailureConverter(o.DataConverter)
	return o, nil
}

// temporalTLS builds the TLS configuration for the frontend at addr.
func temporalTLS(t config.TemporalTLS, addr string) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if tc.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("temporal.address %q: %w", addr, err)
		}
		tc.ServerName = host
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("temporal.tls.ca_file: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("temporal.tls.ca_file %s: no PEM certificate in it", t.CAFile)
		}
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("temporal.tls.cert_file/key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// NewCodec builds the payload codec from the key ring; nil when no key is
// configured.
func NewCodec(e config.Encryption) (*codec.Codec, error) {
	if len(e.Keys) == 0 {
		return nil, nil
	}
	keys := make([]codec.Key, 0, len(e.Keys))
	for i, k := range e.Keys {
		v, err := k.Secret.Resolve()
		if err != nil {
			return nil, fmt.Errorf("temporal.encryption.keys[%d]: %w", i, err)
		}
		key, err := codec.ParseKey(k.ID, v)
		if err != nil {
			return nil, fmt.Errorf("temporal.encryption.keys[%d]: %w", i, err)
		}
		keys = append(keys, key)
	}
	c, err := codec.New(keys)
	if err != nil {
		return nil, fmt.Errorf("temporal.encryption: %w", err)
	}
	return c, nil
}

// ErrNoCodecKeys: the codec server has nothing to decode with.
var ErrNoCodecKeys = errors.New("temporal.encryption.keys is empty: there is nothing to decode with")

// DevPayloadKeyFile is the payload key `vigil dev` makes under the data
// directory when temporal.encryption.keys is empty, so the embedded
// server's database holds no payload in clear either.
const DevPayloadKeyFile = "payload.key"

// DevPayloadKey returns the development key ring entry for dataDir,
// creating the key file (mode 0600) on first use.
func DevPayloadKey(dataDir string) (config.EncryptionKey, error) {
	path, err := filepath.Abs(filepath.Join(dataDir, DevPayloadKeyFile))
	if err != nil {
		return config.EncryptionKey{}, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case errors.Is(err, fs.ErrExist):
	case err != nil:
		return config.EncryptionKey{}, fmt.Errorf("create payload key: %w", err)
	default:
		_, werr := f.WriteString(codec.NewKey() + "\n")
		if err := errors.Join(werr, f.Close()); err != nil {
			return config.EncryptionKey{}, fmt.Errorf("write %s: %w", path, err)
		}
	}
	return config.EncryptionKey{ID: "dev", Secret: config.Secret("file:" + path)}, nil
}
