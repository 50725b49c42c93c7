package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/vigilops/vigil/config"
	"github.com/vigilops/vigil/internal/app"
	"github.com/vigilops/vigil/internal/codec"
)

// TestCodecServer builds vigil codec-server's handler from a vigil.yaml, or
// from vigil dev's data directory, and decodes what Vigil sealed for a
// caller with a codec token only.
func TestCodecServer(t *testing.T) {
	t.Setenv("VIGIL_TEST_CODEC_KEY", codec.NewKey())
	t.Setenv("VIGIL_TEST_CODEC_TOKEN", "codec-token-0123456789")
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "vigil.yaml")
	yaml := "temporal:\n  encryption:\n    keys: [{id: k1, secret: env:VIGIL_TEST_CODEC_KEY}]\n    codec_tokens: [env:VIGIL_TEST_CODEC_TOKEN]\n"
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	devDir := t.TempDir()
	devKey, err := app.DevPayloadKey(devDir)
	if err != nil {
		t.Fatal(err)
	}
	devCfg := filepath.Join(dir, "dev.yaml")
	if err := os.WriteFile(devCfg, []byte("temporal:\n  encryption:\n    codec_tokens: [env:VIGIL_TEST_CODEC_TOKEN]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		opts    codecServerOptions
		keys    []config.EncryptionKey
		wantErr string
	}{
		{name: "keys from vigil.yaml", opts: codecServerOptions{configPath: cfgPath, dataDir: t.TempDir()}, keys: []config.EncryptionKey{{ID: "k1", Secret: "env:VIGIL_TEST_CODEC_KEY"}}},
		{name: "vigil dev's key", opts: codecServerOptions{configPath: devCfg, dataDir: devDir}, keys: []config.EncryptionKey{devKey}},
		{name: "no keys anywhere", opts: codecServerOptions{configPath: devCfg, dataDir: t.TempDir()}, wantErr: "temporal.encryption.keys is empty"},
		{name: "no tokens", opts: codecServerOptions{dataDir: devDir}, wantErr: "no tokens"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := tt.opts.handler()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c, err := app.NewCodec(config.Encryption{Keys: tt.keys})
			if err != nil {
				t.Fatal(err)
			}
			plain, _ := converter.GetDefaultDataConverter().ToPayload("disk 93% full")
			sealed, _ := c.Encode([]*commonpb.Payload{plain})
			body, _ := protojson.Marshal(&commonpb.Payloads{Payloads: sealed})
			srv := httptest.NewServer(h)
			defer srv.Close()
			for _, auth := range []string{"", "Bearer wrong", "Bearer codec-token-0123456789"} {
				req, _ := http.NewRequest(http.MethodPost, srv.URL+"/decode", strings.NewReader(string(body)))
				if auth != "" {
					req.Header.Set("Authorization", auth)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var got commonpb.Payloads
				b := new(strings.Builder)
				_, _ = io.Copy(b, resp.Body)
				resp.Body.Close()
				if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
					t.Errorf("codec server answers without security headers")
				}
				if auth != "Bearer codec-token-0123456789" {
					if resp.StatusCode != http.StatusUnauthorized {
						t.Errorf("Authorization %q: %d, want 401", auth, resp.StatusCode)
					}
					continue
				}
				if err := protojson.Unmarshal([]byte(b.String()), &got); err != nil || len(got.Payloads) != 1 {
					t.Fatalf("decode answer %d %s: %v", resp.StatusCode, b, err)
				}
				var text string
				if err := converter.GetDefaultDataConverter().FromPayload(got.Payloads[0], &text); err != nil || text != "disk 93% full" {
					t.Errorf("decoded %q, %v", text, err)
				}
			}
		})
	}
}
