package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/config"
	"github.com/vigilops/vigil/internal/app"
	"github.com/vigilops/vigil/internal/devtemporal"
)

// testPKI is a CA and certificates it signed, written as PEM files.
type testPKI struct {
	dir    string
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	caFile string
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	p := &testPKI{dir: t.TempDir()}
	p.caKey = mustKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vigil test CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &p.caKey.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	if p.ca, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	p.caFile = p.write(t, "ca.crt", "CERTIFICATE", der)
	return p
}

func mustKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (p *testPKI) write(t *testing.T, name, kind string, der []byte) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// issue signs a certificate for name (a server's DNS name, or a client)
// and returns its certificate and key files and the loaded pair.
func (p *testPKI) issue(t *testing.T, name string, usage x509.ExtKeyUsage) (string, string, tls.Certificate) {
	t.Helper()
	key := mustKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{usage}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := p.write(t, name+".crt", "CERTIFICATE", der), p.write(t, name+".key", "EC PRIVATE KEY", kder)
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, pair
}

// mtlsFrontend listens with TLS, requires a client certificate the CA
// signed, and passes each connection on, decrypted, to the plain frontend
// at target: a Temporal frontend that only speaks mTLS.
func mtlsFrontend(t *testing.T, p *testPKI, target string) string {
	t.Helper()
	_, _, serverPair := p.issue(t, "temporal.test", x509.ExtKeyUsageServerAuth)
	pool := x509.NewCertPool()
	pool.AddCert(p.ca)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{serverPair}, ClientCAs: pool,
		ClientAuth: tls.RequireAndVerifyClientCert, NextProtos: []string{"h2"}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer in.Close()
				if err := in.(*tls.Conn).Handshake(); err != nil {
					return
				}
				out, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer out.Close()
				done := make(chan struct{}, 2)
				go func() { _, _ = io.Copy(out, in); done <- struct{}{} }()
				go func() { _, _ = io.Copy(in, out); done <- struct{}{} }()
				<-done
			})
		}
	})
	return ln.Addr().String()
}

// TestTemporalOverMTLS runs Vigil against a frontend that only accepts
// mTLS: with the client certificate and the CA configured an incident runs
// through its workflow; without the certificate, or trusting another CA,
// Vigil refuses to start and says why.
func TestTemporalOverMTLS(t *testing.T) {
	srv, err := devtemporal.Start(context.Background(), devtemporal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Stop() }()
	pki := newTestPKI(t)
	addr := mtlsFrontend(t, pki, srv.Address())
	cert, key, _ := pki.issue(t, "vigil-worker", x509.ExtKeyUsageClientAuth)
	other := newTestPKI(t)

	refused := []struct {
		name string
		tls  config.TemporalTLS
	}{
		{"no client certificate", config.TemporalTLS{CAFile: pki.caFile, ServerName: "temporal.test"}},
		{"another CA", config.TemporalTLS{CAFile: other.caFile, CertFile: cert, KeyFile: key, ServerName: "temporal.test"}},
		{"plain gRPC", config.TemporalTLS{}},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.DataDir, cfg.HTTP.Addr, cfg.Runbooks.Dir = t.TempDir(), "127.0.0.1:0", "../../examples/runbooks"
			cfg.Temporal.TLS = tt.tls
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			a, err := app.New(ctx, app.Options{Config: cfg, TemporalAddress: addr, Logger: slog.New(slog.DiscardHandler)})
			if err == nil {
				_ = a.Stop(ctx)
				t.Fatal("Vigil connected to an mTLS frontend without the right credentials")
			}
			if !strings.Contains(err.Error(), "connect to Temporal at "+addr) && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v", err)
			}
		})
	}

	logs := &syncBuffer{}
	v := startVigilWith(t, t.TempDir(), logs, func(cfg *config.Config) {
		cfg.Temporal.Address = addr
		cfg.Temporal.TLS = config.TemporalTLS{CAFile: pki.caFile, CertFile: cert, KeyFile: key, ServerName: "temporal.test"}
	})
	defer func() { _ = v.stop() }()
	status, body := call(t, "POST", v.url+"/api/v1/alerts/alertmanager", alertPayload(t.TempDir()))
	if status != 200 {
		t.Fatalf("ingest: %d %v", status, body)
	}
	id := body["incidents"].([]any)[0].(string)
	waitFor(t, v, id, "awaiting_approval over mTLS", hasStatus("awaiting_approval"))
}
