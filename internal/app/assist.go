package app

import (
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilops/vigil/assist"
	"github.com/vigilops/vigil/config"
)

// NewAssistant builds the investigation assistant. It is off (no model client)
// unless assist.enabled; its redactor knows the value of every secret the
// configuration references, so none of them can reach a prompt.
func NewAssistant(cfg config.Config, reg prometheus.Registerer, logger *slog.Logger) (*assist.Assistant, error) {
	a := cfg.Assist.WithDefaults()
	var secrets []string
	for _, ref := range cfg.SecretRefs() {
		v, err := ref.Resolve()
		if err != nil {
			// The part of Vigil that uses it reports the problem; an unreadable
			// secret cannot leak either.
			logger.Debug("assist: secret not resolved for redaction", "secret", string(ref), "err", err)
			continue
		}
		secrets = append(secrets, v)
	}
	red, err := assist.NewRedactor(a.Redact, secrets)
	if err != nil {
		return nil, fmt.Errorf("assist.redact: %w", err)
	}
	o := assist.Options{Redactor: red, Metrics: reg, Logger: logger}
	if a.Enabled {
		key := ""
		if a.APIKey != "" {
			if key, err = a.APIKey.Resolve(); err != nil {
				return nil, fmt.Errorf("assist.api_key: %w", err)
			}
		}
		o.Client = assist.NewClient(assist.ClientConfig{BaseURL: a.BaseURL, APIKey: key, AzureAPIVersion: a.AzureAPIVersion})
		o.Model, o.Timeout, o.MaxOutputTokens = a.Model, a.Timeout, a.MaxOutputTokens
		o.IncidentBudget, o.CacheEntries = a.IncidentTokenBudget, a.CacheEntries
		o.JSONObject = a.ResponseFormat == config.AssistJSONObject
		logger.Info("investigation assistant on", "base_url", a.BaseURL, "model", a.Model)
	}
	return assist.New(o)
}
