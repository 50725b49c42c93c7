package config

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoadAssist(t *testing.T) {
	tests := []struct {
		file    string
		wantErr []string
		check   func(t *testing.T, c Config)
	}{
		{file: "assist-good.yaml", check: func(t *testing.T, c Config) {
			a := c.Assist.WithDefaults()
			want := Assist{
				Enabled: true, BaseURL: "http://localhost:11434/v1", Model: "llama3.1", APIKey: "env:VIGIL_ASSIST_KEY",
				ResponseFormat: AssistJSONObject, Timeout: 30 * time.Second, MaxOutputTokens: DefaultAssistMaxOutputTokens,
				IncidentTokenBudget: 20000, CacheEntries: DefaultAssistCacheEntries,
				Redact: []string{"customer-[0-9]{6}", "(?i)card=[0-9 ]+"},
			}
			if !reflect.DeepEqual(a, want) {
				t.Errorf("assist =\n%+v\nwant\n%+v", a, want)
			}
			// Every secret reference of the file, wherever it is, sorted.
			wantRefs := []Secret{"env:SLACK_APP_TOKEN", "env:SLACK_BOT_TOKEN", "env:VIGIL_ASSIST_KEY", "env:VIGIL_INGEST_TOKEN", "file:/etc/vigil/ingest-token"}
			if got := c.SecretRefs(); !reflect.DeepEqual(got, wantRefs) {
				t.Errorf("SecretRefs = %v, want %v", got, wantRefs)
			}
		}},
		{file: "empty.yaml", check: func(t *testing.T, c Config) {
			a := c.Assist.WithDefaults()
			if a.Enabled || a.BaseURL != DefaultAssistBaseURL || a.Timeout != DefaultAssistTimeout || a.ResponseFormat != AssistJSONSchema ||
				a.IncidentTokenBudget != DefaultAssistIncidentBudget {
				t.Errorf("defaults: %+v", a)
			}
			if refs := c.SecretRefs(); len(refs) != 0 {
				t.Errorf("SecretRefs of an empty file = %v", refs)
			}
		}},
		{file: "assist-bad.yaml", wantErr: []string{
			"assist.model: is required when the assistant is enabled",
			`assist.base_url: "localhost:11434" is not an http:// or https:// URL`,
			"assist.api_key: secret must be a reference env:NAME or file:PATH",
			`assist.response_format: "text" must be json_schema or json_object`,
			"assist.timeout: must be between 1s and 50s (default 20s), got 2m0s",
			"assist.incident_token_budget: 1000 is less than max_output_tokens 4000",
			"assist.cache_entries: must not be negative",
			`assist.redact[0]: "customer-[0-9" is not a regular expression`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			c, err := Load(filepath.Join("testdata", tt.file))
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatal("Load succeeded")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error lacks %q:\n%v", w, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}
