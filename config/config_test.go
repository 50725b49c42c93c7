package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		file    string
		wantErr []string // substrings that must all appear in the error
		check   func(t *testing.T, c Config)
	}{
		{file: "good.yaml", check: func(t *testing.T, c Config) {
			if c.Temporal.Address != "temporal.internal:7233" || c.Temporal.Namespace != "prod" {
				t.Errorf("temporal = %+v", c.Temporal)
			}
			if c.Temporal.TaskQueue != "vigil" {
				t.Errorf("task_queue default lost: %q", c.Temporal.TaskQueue)
			}
			if c.HTTP.MaxBodyBytes != 1<<20 {
				t.Errorf("max_body_bytes default lost: %d", c.HTTP.MaxBodyBytes)
			}
			want := map[string][]string{"sre": {"alice", "bob"}, "dba": {"carol"}}
			if !reflect.DeepEqual(c.Groups, want) {
				t.Errorf("groups = %v, want %v (file groups replace defaults)", c.Groups, want)
			}
			if !reflect.DeepEqual(c.OnCall, map[string][]string{"dba-primary": {"carol"}}) {
				t.Errorf("oncall = %v", c.OnCall)
			}
			if c.GitHub.Token != "env:VIGIL_GITHUB_TOKEN" || c.GitHub.BaseURL != "https://github.example.com/api/v3/" {
				t.Errorf("github = %+v", c.GitHub)
			}
			if c.Ingest.Spool != SpoolAlways {
				t.Errorf("ingest.spool: true = %q, want always", c.Ingest.Spool)
			}
			if c.Runbooks.GitHub != "acme/runbooks@main:prod" || c.Runbooks.Sync != 5*time.Minute || c.Runbooks.Reload != 2*time.Second {
				t.Errorf("runbooks = %+v (reload default lost?)", c.Runbooks)
			}
		}},
		{file: "empty.yaml", check: func(t *testing.T, c Config) {
			if c.Ingest.Spool != SpoolAuto {
				t.Errorf("ingest.spool default = %q, want auto", c.Ingest.Spool)
			}
			if !reflect.DeepEqual(c, Default()) {
				t.Errorf("empty file = %+v, want defaults", c)
			}
		}},
		{file: "unknown-field.yaml", wantErr: []string{"unknown-field.yaml", "line 3", `unknown field "max_body"`}},
		{file: "inline-secret.yaml", wantErr: []string{"ingest.tokens[0]", "env:NAME or file:PATH"}},
		{file: "wrong-type.yaml", wantErr: []string{"line 2", "lots"}},
		{file: "bad-runbooks.yaml", wantErr: []string{
			"runbooks.reload: must be at least 100ms, got 1ms",
			`runbooks.github: "not a repo" must be owner/repo@ref:path`,
			"runbooks.sync: must be at least 10s, got 1s",
			`github.base_url: "ftp://example.com" is not an http:// or https:// URL`,
			"github.token: secret must be a reference env:NAME or file:PATH",
			"oncall.primary: has nobody on call",
		}},
		{file: "temporal-security-good.yaml", check: func(t *testing.T, c Config) {
			tm := c.Temporal
			if !tm.TLS.On() || tm.TLS.CertFile != "/etc/vigil/temporal.crt" || tm.APIKey != "env:TEMPORAL_API_KEY" {
				t.Errorf("tls/api key = %+v %q", tm.TLS, tm.APIKey)
			}
			if len(tm.Encryption.Keys) != 2 || tm.Encryption.Keys[0].ID != "k2" || tm.Encryption.Keys[1].Secret != "file:/etc/vigil/payload-k1" {
				t.Errorf("keys = %+v", tm.Encryption.Keys)
			}
			if len(tm.Encryption.CodecTokens) != 1 || tm.Encryption.CodecOrigins[0] != "https://temporal.example.com" {
				t.Errorf("codec = %+v", tm.Encryption)
			}
		}},
		{file: "temporal-security-bad.yaml", wantErr: []string{
			"temporal.tls: set cert_file and key_file together",
			"temporal.api_key: secret must be a reference",
			`temporal.encryption.keys[1].id: "k1" is used twice`,
			"temporal.encryption.keys[1].secret: secret must be a reference",
			`temporal.encryption.keys[2].id: "bad id" must be letters`,
			"temporal.encryption.codec_tokens[0]: secret must be a reference",
			`temporal.encryption.codec_origins[0]: "temporal.example.com" is not an origin`,
		}},
		{file: "bad-values.yaml", wantErr: []string{
			`temporal.address: "no-port" is not host:port`,
			"http.addr",
			"ingest.group_by: must list at least one label",
			`ingest.spool: must be auto, always or off, got "sometimes"`,
			"ingest.correlation.window: must be positive",
			"ingest.correlation.max_hops: must be between 0 and 5, got 9",
			"ingest.inhibit_rules[0]: needs source_matchers and target_matchers",
			`group name "bad name"`,
			"groups.empty: has no members",
			"ha.lease_ttl: must be at least 3s, got 1s",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			c, err := Load(filepath.Join("testdata", tt.file))
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("Load succeeded, want error containing %q", tt.wantErr)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q\ndoes not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			tt.check(t, c)
		})
	}
}

func TestSecretResolve(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tok")
	if err := os.WriteFile(file, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VIGIL_TEST_TOKEN", "from-env")
	tests := []struct {
		ref     Secret
		want    string
		wantErr string
	}{
		{ref: "env:VIGIL_TEST_TOKEN", want: "from-env"},
		{ref: Secret("file:" + file), want: "s3cret"},
		{ref: "env:VIGIL_TEST_UNSET_VAR", wantErr: "VIGIL_TEST_UNSET_VAR is not set"},
		{ref: Secret("file:" + filepath.Join(dir, "missing")), wantErr: "no such file"},
		{ref: "plaintext", wantErr: "not an inline value"},
	}
	for _, tt := range tests {
		t.Run(string(tt.ref), func(t *testing.T) {
			got, err := tt.ref.Resolve()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Resolve = %q, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Resolve = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
