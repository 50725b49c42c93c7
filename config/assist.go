package config

import (
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"time"
)

// Defaults of the assist section, applied by Assist.WithDefaults.
const (
	DefaultAssistBaseURL         = "https://api.openai.com/v1"
	DefaultAssistTimeout         = 20 * time.Second
	DefaultAssistMaxOutputTokens = 1000
	DefaultAssistIncidentBudget  = 50000
	DefaultAssistCacheEntries    = 256
	// MaxAssistTimeout keeps a brief (both of its requests) inside the
	// activity timeout the incident workflow gives it.
	MaxAssistTimeout = 50 * time.Second
)

// Response formats the assistant can ask for.
const (
	AssistJSONSchema = "json_schema"
	AssistJSONObject = "json_object"
)

// Assist configures the optional investigation assistant: a language model
// behind any OpenAI-compatible chat-completions endpoint that writes incident
// briefs and answers questions asked in threads. It is off unless enabled;
// Vigil works fully without it. Zero values mean the defaults above.
type Assist struct {
	// Enabled turns the assistant on. Default false.
	Enabled bool `yaml:"enabled"`
	// BaseURL is the API root, e.g. https://api.openai.com/v1 (the default),
	// https://NAME.openai.azure.com/openai/v1, http://localhost:11434/v1
	// (Ollama) or http://localhost:8000/v1 (vLLM).
	BaseURL string `yaml:"base_url"`
	// Model is the model name (for classic Azure, the deployment name).
	// Required when enabled.
	Model string `yaml:"model"`
	// APIKey is a secret reference (env:NAME or file:PATH). Empty sends none,
	// for local servers.
	APIKey Secret `yaml:"api_key"`
	// AzureAPIVersion selects classic Azure OpenAI deployments
	// (BaseURL/openai/deployments/MODEL/…?api-version=…, api-key header), e.g.
	// 2024-10-21. Leave empty for every other endpoint, Azure's v1 API included.
	AzureAPIVersion string `yaml:"azure_api_version"`
	// ResponseFormat is json_schema (default: the endpoint constrains output to
	// the schema) or json_object, for endpoints without schema support.
	ResponseFormat string `yaml:"response_format"`
	// Timeout bounds one brief or answer, repair included. Default 20s, at most
	// 50s.
	Timeout time.Duration `yaml:"timeout"`
	// MaxOutputTokens caps each response. Default 1000.
	MaxOutputTokens int `yaml:"max_output_tokens"`
	// IncidentTokenBudget caps the tokens (prompt and output) all model
	// requests about one incident may spend. Default 50000.
	IncidentTokenBudget int `yaml:"incident_token_budget"`
	// CacheEntries is how many validated answers are kept for identical
	// requests. Default 256.
	CacheEntries int `yaml:"cache_entries"`
	// Redact lists regular expressions (Go syntax) whose matches are masked in
	// everything sent to the model and recorded beside it, on top of Vigil's
	// own secrets and built-in credential patterns.
	Redact []string `yaml:"redact"`
}

// WithDefaults returns the section with zero values replaced by defaults.
func (a Assist) WithDefaults() Assist {
	if a.BaseURL == "" {
		a.BaseURL = DefaultAssistBaseURL
	}
	if a.ResponseFormat == "" {
		a.ResponseFormat = AssistJSONSchema
	}
	if a.Timeout == 0 {
		a.Timeout = DefaultAssistTimeout
	}
	if a.MaxOutputTokens == 0 {
		a.MaxOutputTokens = DefaultAssistMaxOutputTokens
	}
	if a.IncidentTokenBudget == 0 {
		a.IncidentTokenBudget = DefaultAssistIncidentBudget
	}
	if a.CacheEntries == 0 {
		a.CacheEntries = DefaultAssistCacheEntries
	}
	return a
}

// validateAssist checks the section whether or not it is enabled, so a
// mistake shows before someone turns it on.
func (c *Config) validateAssist() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, args...)...))
	}
	a := c.Assist
	if a.Enabled && a.Model == "" {
		bad("assist.model", "is required when the assistant is enabled (e.g. gpt-4o-mini, or llama3.1 on Ollama)")
	}
	if u, err := url.Parse(a.BaseURL); a.BaseURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		bad("assist.base_url", "%q is not an http:// or https:// URL (e.g. https://api.openai.com/v1 or http://localhost:11434/v1)", a.BaseURL)
	}
	if a.APIKey != "" {
		if err := a.APIKey.Validate(); err != nil {
			bad("assist.api_key", "%v", err)
		}
	}
	if a.ResponseFormat != "" && a.ResponseFormat != AssistJSONSchema && a.ResponseFormat != AssistJSONObject {
		bad("assist.response_format", "%q must be %s or %s", a.ResponseFormat, AssistJSONSchema, AssistJSONObject)
	}
	if a.Timeout < 0 || (a.Timeout > 0 && a.Timeout < time.Second) || a.Timeout > MaxAssistTimeout {
		bad("assist.timeout", "must be between 1s and %s (default %s), got %s", MaxAssistTimeout, DefaultAssistTimeout, a.Timeout)
	}
	if a.MaxOutputTokens < 0 {
		bad("assist.max_output_tokens", "must not be negative (default %d)", DefaultAssistMaxOutputTokens)
	}
	if a.IncidentTokenBudget < 0 {
		bad("assist.incident_token_budget", "must not be negative (default %d)", DefaultAssistIncidentBudget)
	}
	if a.MaxOutputTokens > 0 && a.IncidentTokenBudget > 0 && a.IncidentTokenBudget < a.MaxOutputTokens {
		bad("assist.incident_token_budget", "%d is less than max_output_tokens %d: not even one answer would fit", a.IncidentTokenBudget, a.MaxOutputTokens)
	}
	if a.CacheEntries < 0 {
		bad("assist.cache_entries", "must not be negative (default %d)", DefaultAssistCacheEntries)
	}
	for i, p := range a.Redact {
		if _, err := regexp.Compile(p); err != nil {
			bad(fmt.Sprintf("assist.redact[%d]", i), "%q is not a regular expression: %v", p, err)
		}
	}
	return errs
}

// SecretRefs lists every secret reference set anywhere in the configuration,
// found by type so that a section added later is covered too, sorted and
// without duplicates. The assistant masks their values in everything it sends.
func (c *Config) SecretRefs() []Secret {
	var out []Secret
	secretType := reflect.TypeFor[Secret]()
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch {
		case v.Type() == secretType:
			if s := v.Interface().(Secret); s != "" {
				out = append(out, s)
			}
		case v.Kind() == reflect.Struct:
			for i := range v.NumField() {
				if v.Type().Field(i).IsExported() {
					walk(v.Field(i))
				}
			}
		case v.Kind() == reflect.Slice || v.Kind() == reflect.Array:
			for i := range v.Len() {
				walk(v.Index(i))
			}
		case v.Kind() == reflect.Map:
			iter := v.MapRange()
			for iter.Next() {
				walk(iter.Value())
			}
		case v.Kind() == reflect.Pointer && !v.IsNil():
			walk(v.Elem())
		}
	}
	walk(reflect.ValueOf(*c))
	slices.Sort(out)
	return slices.Compact(out)
}
