package assist

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the assistant's Prometheus collectors. They are registered with
// the registry the caller passes, never the global one, so tests and several
// assistants in one process do not collide.
type metrics struct {
	// requests counts briefs and answers by how they ended (Outcome): failures
	// are the outcomes timeout, rate_limited, unavailable, invalid and budget.
	requests *prometheus.CounterVec
	// calls times each request to the endpoint, repairs included, in seconds.
	calls *prometheus.HistogramVec
	// tokens counts tokens the endpoint reported (or Vigil estimated) by
	// direction: prompt or completion.
	tokens *prometheus.CounterVec
	// rejected counts model answers that failed validation, repaired or not.
	rejected *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_assist_requests_total",
			Help: "Briefs and answers asked of the investigation assistant, by kind (brief, ask) and outcome.",
		}, []string{"kind", "outcome"}),
		calls: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vigil_assist_model_call_duration_seconds",
			Help:    "Latency of each chat-completions request to the model endpoint, by kind.",
			Buckets: []float64{0.25, 0.5, 1, 2, 4, 8, 15, 30, 60},
		}, []string{"kind"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_assist_tokens_total",
			Help: "Tokens spent on the model endpoint, by kind and type (prompt, completion).",
		}, []string{"kind", "type"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_assist_rejected_answers_total",
			Help: "Model answers that failed validation (malformed JSON, unknown ids or components, urged decisions), by kind.",
		}, []string{"kind"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.requests, m.calls, m.tokens, m.rejected} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("assist: register metrics: %w", err)
		}
	}
	return m, nil
}
