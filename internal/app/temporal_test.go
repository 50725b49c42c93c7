package app

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/config"
	"github.com/vigilops/vigil/internal/codec"
)

// writeCert writes a self-signed certificate and its key as PEM files.
func writeCert(t *testing.T, dir, name string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestTemporalOptions(t *testing.T) {
	dir := t.TempDir()
	ca, _ := writeCert(t, dir, "ca")
	cert, key := writeCert(t, dir, "client")
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VIGIL_TEST_TEMPORAL_KEY", "tmprl-api-key\n")
	t.Setenv("VIGIL_TEST_PAYLOAD", codec.NewKey())
	tests := []struct {
		name       string
		cfg        config.Temporal
		wantTLS    bool
		wantServer string
		wantCA     bool
		wantCert   bool
		wantCreds  bool
		wantCodec  bool
		wantErr    string
	}{
		{name: "plain gRPC", cfg: config.Temporal{}},
		{name: "TLS with system roots", cfg: config.Temporal{TLS: config.TemporalTLS{Enabled: true}}, wantTLS: true, wantServer: "temporal.example.com"},
		{name: "mTLS with a private CA", cfg: config.Temporal{TLS: config.TemporalTLS{CAFile: ca, CertFile: cert, KeyFile: key, ServerName: "frontend.internal"}},
			wantTLS: true, wantServer: "frontend.internal", wantCA: true, wantCert: true},
		{name: "API key implies TLS", cfg: config.Temporal{APIKey: "env:VIGIL_TEST_TEMPORAL_KEY"}, wantTLS: true, wantServer: "temporal.example.com", wantCreds: true},
		{name: "payload keys", cfg: config.Temporal{Encryption: config.Encryption{Keys: []config.EncryptionKey{{ID: "k1", Secret: "env:VIGIL_TEST_PAYLOAD"}}}}, wantCodec: true},
		{name: "missing CA file", cfg: config.Temporal{TLS: config.TemporalTLS{CAFile: filepath.Join(dir, "nope.pem")}}, wantErr: "temporal.tls.ca_file"},
		{name: "CA file without PEM", cfg: config.Temporal{TLS: config.TemporalTLS{CAFile: notPEM}}, wantErr: "no PEM certificate"},
		{name: "key not matching", cfg: config.Temporal{TLS: config.TemporalTLS{CertFile: cert, KeyFile: notPEM}}, wantErr: "temporal.tls.cert_file/key_file"},
		{name: "API key unset", cfg: config.Temporal{APIKey: "env:VIGIL_TEST_UNSET_KEY"}, wantErr: "temporal.api_key"},
		{name: "payload key too short", cfg: config.Temporal{Encryption: config.Encryption{Keys: []config.EncryptionKey{{ID: "k1", Secret: "env:VIGIL_TEST_TEMPORAL_KEY"}}}}, wantErr: "temporal.encryption.keys[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := temporalOptions(tt.cfg, "temporal.example.com:7233", slog.New(slog.DiscardHandler))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc := o.ConnectionOptions.TLS
			if (tc != nil) != tt.wantTLS {
				t.Fatalf("TLS = %v, want %v", tc != nil, tt.wantTLS)
			}
			if tc != nil {
				if tc.ServerName != tt.wantServer || (tc.RootCAs != nil) != tt.wantCA || (len(tc.Certificates) > 0) != tt.wantCert {
					t.Errorf("TLS config: server %q, CA %v, client cert %v", tc.ServerName, tc.RootCAs != nil, len(tc.Certificates))
				}
			}
			if (o.Credentials != nil) != tt.wantCreds {
				t.Errorf("credentials set = %v, want %v", o.Credentials != nil, tt.wantCreds)
			}
			if (o.DataConverter != nil) != tt.wantCodec || (o.FailureConverter != nil) != tt.wantCodec {
				t.Errorf("data/failure converter set = %v/%v, want %v", o.DataConverter != nil, o.FailureConverter != nil, tt.wantCodec)
			}
		})
	}
}

func TestDevPayloadKeyIsMadeOnceAndKept(t *testing.T) {
	dir := t.TempDir()
	first, err := DevPayloadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	b1, err := first.Secret.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := codec.ParseKey(first.ID, b1); err != nil {
		t.Fatalf("the development key is not a key: %v", err)
	}
	again, _ := DevPayloadKey(dir)
	if b2, _ := again.Secret.Resolve(); b2 != b1 {
		t.Fatal("a second start made another key: workflows sealed with the first would not open")
	}
	if fi, err := os.Stat(filepath.Join(dir, DevPayloadKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi.Mode(), err)
	}
}
