// Package assist is Vigil's optional investigation assistant: a language model
// behind any OpenAI-compatible chat-completions endpoint (OpenAI, Azure OpenAI,
// Ollama, vLLM, …) that writes an incident brief and answers questions asked in
// the incident's thread.
//
// The assistant is grounded, optional and safe:
//   - Grounded. The model sees only the incident's evidence, candidates,
//     proposals and (for questions) timeline, and must answer with a JSON object
//     that follows a schema. Every answer is validated: malformed JSON, unknown
//     fields, evidence or timeline ids that were not in the prompt, components
//     the evidence does not name, proposals the runbook matcher did not make,
//     foreign links, and text that urges or claims a decision are rejected. A
//     rejected answer gets one repair request that says what was wrong; a second
//     rejection falls back to Vigil's own summary (OwnBrief).
//   - Optional. Without a client, or when the endpoint fails, times out,
//     rate-limits or the incident's token budget is spent, the caller gets
//     Vigil's own summary and an Outcome that says why.
//   - Safe. The output is text and citations, nothing else: the assistant has
//     no tools and no way to reach the workflow. Untrusted text (alert
//     annotations, log lines, notes, questions) goes only into a delimited data
//     section, never into the instructions, and every string is redacted
//     (Redactor) before it leaves the process.
package assist

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	openai "github.com/sashabaranov/go-openai"

	"github.com/vigilops/vigil/incident"
)

// Completer is the one call the assistant makes: a chat completion.
// *openai.Client implements it.
type Completer interface {
	CreateChatCompletion(ctx context.Context, req openai.ChatCompletionRequest) (openai.ChatCompletionResponse, error)
}

// Options configure an Assistant.
type Options struct {
	// Client is the endpoint; nil turns the assistant off (every brief and
	// answer is Vigil's own, with OutcomeOff).
	Client Completer
	// Model is the model (or Azure deployment) name sent with every request.
	Model string
	// Timeout bounds one brief or answer, the repair request included.
	Timeout time.Duration
	// MaxOutputTokens caps each response (max_completion_tokens).
	MaxOutputTokens int
	// IncidentBudget is how many tokens all model requests about one incident
	// may spend together, prompts and outputs.
	IncidentBudget int
	// JSONObject asks for response_format json_object instead of json_schema,
	// for endpoints that do not support schemas; the validator is the same.
	JSONObject bool
	// Redactor hides secrets before anything is sent; nil applies the
	// built-in patterns only.
	Redactor *Redactor
	// CacheEntries is how many validated answers are remembered; 0 caches none.
	CacheEntries int
	// Metrics registers the assistant's collectors; nil registers none.
	Metrics prometheus.Registerer
	Logger  *slog.Logger
}

// Assistant writes briefs and answers. It is safe for concurrent use.
type Assistant struct {
	o       Options
	cache   *cache
	metrics *metrics
	logger  *slog.Logger
}

// New returns an Assistant. With a Client, Model, Timeout, MaxOutputTokens and
// IncidentBudget must be set.
func New(o Options) (*Assistant, error) {
	if o.Client != nil && (o.Model == "" || o.Timeout <= 0 || o.MaxOutputTokens <= 0 || o.IncidentBudget <= 0) {
		return nil, errors.New("assist: model, timeout, max output tokens and incident budget must be set")
	}
	m, err := newMetrics(o.Metrics)
	if err != nil {
		return nil, err
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Assistant{o: o, cache: newCache(o.CacheEntries), metrics: m, logger: logger}, nil
}

// Enabled reports whether the assistant has a model to ask.
func (a *Assistant) Enabled() bool { return a.o.Client != nil }

// Model is the configured model name; empty when off.
func (a *Assistant) Model() string {
	if !a.Enabled() {
		return ""
	}
	return a.o.Model
}

// Redact hides secrets in s as prompts are redacted, for text that goes to
// the audit trail beside them (e.g. the question as asked).
func (a *Assistant) Redact(s string) string { return a.o.Redactor.String(s) }

// Outcome is how a request for a brief or an answer ended.
type Outcome string

// Outcomes. Only ok, repaired and cached carry model-written text.
const (
	OutcomeOK          Outcome = "ok"           // valid at the first attempt
	OutcomeRepaired    Outcome = "repaired"     // valid after one repair request
	OutcomeCached      Outcome = "cached"       // an identical request's valid answer, no tokens spent
	OutcomeOff         Outcome = "off"          // no model configured
	OutcomeBudget      Outcome = "budget"       // the incident's token budget would be exceeded
	OutcomeTimeout     Outcome = "timeout"      // no valid answer within Options.Timeout
	OutcomeRateLimited Outcome = "rate_limited" // HTTP 429
	OutcomeUnavailable Outcome = "unavailable"  // any other endpoint or transport error
	OutcomeInvalid     Outcome = "invalid"      // the answer failed validation twice
)

// ByModel reports whether the outcome carries model-written text.
func (o Outcome) ByModel() bool {
	return o == OutcomeOK || o == OutcomeRepaired || o == OutcomeCached
}

// Kinds of request, in metrics and the audit trail.
const (
	KindBrief = "brief"
	KindAsk   = "ask"
)

// Message is one prompt message as sent (redacted), for the audit trail.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Exchange is what happened between Vigil and the endpoint for one brief or
// answer: everything the audit trail records.
type Exchange struct {
	Kind    string  `json:"kind"`
	Model   string  `json:"model,omitempty"`
	Outcome Outcome `json:"outcome"`
	// Reason says, for people, why no model-written text is shown, e.g.
	// "timeout after 20s"; empty when it is shown.
	Reason string `json:"reason,omitempty"`
	// Prompt is the first request's messages, redacted: exactly what left
	// the process. Repair is the repair request's added message, if one was
	// sent (after the model's own first output, which is in Outputs).
	Prompt []Message `json:"prompt,omitempty"`
	Repair string    `json:"repair,omitempty"`
	// Outputs are the model's raw outputs, redacted, one per attempt.
	Outputs []string `json:"outputs,omitempty"`
	// Problems are the validation problems of rejected outputs, each
	// prefixed with its attempt.
	Problems         []string `json:"problems,omitempty"`
	Attempts         int      `json:"attempts"`
	PromptTokens     int      `json:"prompt_tokens"`
	CompletionTokens int      `json:"completion_tokens"`
	// Tokens is what the exchange spent against the incident's budget; a
	// cached answer spends none. TokensEstimated is set when the endpoint
	// reported no usage and Vigil estimated it (4 bytes a token).
	Tokens          int   `json:"tokens"`
	TokensEstimated bool  `json:"tokens_estimated,omitempty"`
	LatencyMS       int64 `json:"latency_ms"`
}

// BriefResult is a brief and how it was obtained. When the Exchange's outcome
// is not ByModel, Brief is OwnBrief.
type BriefResult struct {
	Brief    Brief
	Exchange Exchange
}

// Brief asks the model for the incident's brief. spent is what the incident's
// model requests have spent so far (from the audit trail). Every failure of the
// model falls back to OwnBrief; the error is non-nil only when ctx itself ended,
// so the caller can retry.
func (a *Assistant) Brief(ctx context.Context, inc *incident.Incident, spent int) (BriefResult, error) {
	data, g := buildData(inc, a.o.Redactor)
	text, err := encodeData(data, g)
	if err != nil {
		return BriefResult{}, err
	}
	var brief Brief
	ex, err := a.exchange(ctx, KindBrief, briefMessages(text), briefSchema(g), spent, func(out string) problems {
		b, p := parseBrief(out, g)
		brief = b
		return p
	})
	if !ex.Outcome.ByModel() {
		brief = a.own(inc)
	}
	return BriefResult{Brief: brief, Exchange: ex}, err
}

// AskResult is an answer and how it was obtained. When the Exchange's outcome
// is not ByModel, Answer is empty and Own holds Vigil's own brief to show
// instead.
type AskResult struct {
	Answer   Answer
	Own      Brief
	Exchange Exchange
}

// Ask asks the model a question about the incident, to be answered from its
// evidence and timeline only. Failures fall back as Brief's do.
func (a *Assistant) Ask(ctx context.Context, inc *incident.Incident, timeline []TimelineEntry, question string, spent int) (AskResult, error) {
	data, g := buildData(inc, a.o.Redactor)
	withTimeline(&data, g, a.o.Redactor, timeline, question)
	text, err := encodeData(data, g)
	if err != nil {
		return AskResult{}, err
	}
	var res AskResult
	res.Exchange, err = a.exchange(ctx, KindAsk, askMessages(text), askSchema(g), spent, func(out string) problems {
		ans, p := parseAnswer(out, g)
		res.Answer = ans
		return p
	})
	if !res.Exchange.Outcome.ByModel() {
		res.Answer, res.Own = Answer{}, a.own(inc)
	}
	return res, err
}

// own is OwnBrief, redacted like everything else Vigil writes about evidence.
func (a *Assistant) own(inc *incident.Incident) Brief {
	b := OwnBrief(inc)
	r := a.o.Redactor
	b.Summary = r.String(b.Summary)
	for i := range b.Hypotheses {
		b.Hypotheses[i].Component = r.String(b.Hypotheses[i].Component)
		b.Hypotheses[i].Statement = r.String(b.Hypotheses[i].Statement)
	}
	return b
}

// maxAttempts is the first request and one repair.
const maxAttempts = 2

// exchange runs the request for one brief or answer: the cache, the budget, up
// to two attempts within the timeout, and the metrics. valid parses an output
// and returns its problems (none: accepted).
func (a *Assistant) exchange(ctx context.Context, kind string, msgs []openai.ChatCompletionMessage, schema json.RawMessage, spent int, valid func(string) problems) (ex Exchange, err error) {
	ex = Exchange{Kind: kind, Model: a.Model()}
	for _, m := range msgs {
		ex.Prompt = append(ex.Prompt, Message{Role: m.Role, Content: m.Content})
	}
	defer func() {
		if err == nil { // an abandoned request (the caller's context ended) has no outcome
			a.metrics.requests.WithLabelValues(kind, string(ex.Outcome)).Inc()
		}
	}()
	if !a.Enabled() {
		ex.Outcome, ex.Reason = OutcomeOff, "the assistant is off"
		return ex, nil
	}
	req := openai.ChatCompletionRequest{
		Model:               a.o.Model,
		Messages:            msgs,
		MaxCompletionTokens: a.o.MaxOutputTokens,
		ResponseFormat:      a.responseFormat(kind, schema),
	}
	key, err := cacheKey(req)
	if err != nil {
		return ex, err
	}
	if out, ok := a.cache.get(key); ok {
		if p := valid(out); len(p) == 0 {
			ex.Outcome, ex.Outputs = OutcomeCached, []string{out}
			return ex, nil
		}
	}
	if need := spent + estimateTokens(msgs) + a.o.MaxOutputTokens; need > a.o.IncidentBudget {
		ex.Outcome, ex.Reason = OutcomeBudget, fmt.Sprintf("this incident's token budget of %d is spent", a.o.IncidentBudget)
		return ex, nil
	}

	tctx, cancel := context.WithTimeout(ctx, a.o.Timeout)
	defer cancel()
	start := time.Now()
	defer func() { ex.LatencyMS = time.Since(start).Milliseconds() }()
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		ex.Attempts = attempt
		callStart := time.Now()
		resp, err := a.o.Client.CreateChatCompletion(tctx, req)
		a.metrics.calls.WithLabelValues(kind).Observe(time.Since(callStart).Seconds())
		if err != nil {
			if ctx.Err() != nil {
				return ex, fmt.Errorf("assist %s: %w", kind, ctx.Err())
			}
			ex.Outcome, ex.Reason = a.failure(tctx, err)
			a.logger.Warn("model request failed", "kind", kind, "attempt", attempt, "outcome", ex.Outcome, "err", err)
			return ex, nil
		}
		out := ""
		if len(resp.Choices) > 0 {
			out = a.o.Redactor.String(resp.Choices[0].Message.Content)
		}
		a.spend(&ex, req.Messages, out, resp.Usage)
		ex.Outputs = append(ex.Outputs, out)
		p := valid(out)
		if len(resp.Choices) > 0 && resp.Choices[0].FinishReason == openai.FinishReasonLength {
			p = append(problems{fmt.Sprintf("the answer was cut off at %d tokens; be shorter", a.o.MaxOutputTokens)}, p...)
		}
		if len(p) == 0 {
			ex.Outcome, ex.Reason = OutcomeOK, ""
			if attempt > 1 {
				ex.Outcome = OutcomeRepaired
			}
			a.cache.put(key, out)
			return ex, nil
		}
		a.metrics.rejected.WithLabelValues(kind).Inc()
		for _, q := range p {
			ex.Problems = append(ex.Problems, fmt.Sprintf("attempt %d: %s", attempt, q))
		}
		ex.Outcome, ex.Reason = OutcomeInvalid, "its answer failed validation twice"
		if attempt == maxAttempts {
			break
		}
		repair := repairMessage(p)
		next := append(append(append([]openai.ChatCompletionMessage{}, msgs...),
			openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: out}), repair)
		if spent+ex.Tokens+estimateTokens(next)+a.o.MaxOutputTokens > a.o.IncidentBudget {
			ex.Reason = "its answer failed validation, and the incident's token budget allows no repair"
			break
		}
		ex.Repair, req.Messages = repair.Content, next
	}
	a.logger.Info("model answer rejected", "kind", kind, "problems", ex.Problems)
	return ex, nil
}

func (a *Assistant) responseFormat(kind string, schema json.RawMessage) *openai.ChatCompletionResponseFormat {
	if a.o.JSONObject {
		return &openai.ChatCompletionResponseFormat{Type: openai.ChatCompletionResponseFormatTypeJSONObject}
	}
	return &openai.ChatCompletionResponseFormat{
		Type:       openai.ChatCompletionResponseFormatTypeJSONSchema,
		JSONSchema: &openai.ChatCompletionResponseFormatJSONSchema{Name: "vigil_" + kind, Schema: schema, Strict: true},
	}
}

// spend adds an attempt's tokens to the exchange and the metrics: the usage the
// endpoint reported, or an estimate when it reported none (some local servers
// do not), so the budget holds either way.
func (a *Assistant) spend(ex *Exchange, sent []openai.ChatCompletionMessage, out string, u openai.Usage) {
	pt, ct := u.PromptTokens, u.CompletionTokens
	if u.TotalTokens == 0 && pt == 0 && ct == 0 {
		pt, ct = estimateTokens(sent), (len(out)+3)/4
		ex.TokensEstimated = true
	}
	ex.PromptTokens += pt
	ex.CompletionTokens += ct
	ex.Tokens = ex.PromptTokens + ex.CompletionTokens
	a.metrics.tokens.WithLabelValues(ex.Kind, "prompt").Add(float64(pt))
	a.metrics.tokens.WithLabelValues(ex.Kind, "completion").Add(float64(ct))
}

// failure classifies an endpoint error into an outcome and a reason people can
// read. Details of the error (which may quote the endpoint's body) go to the
// log only.
func (a *Assistant) failure(tctx context.Context, err error) (Outcome, string) {
	var netErr net.Error
	if errors.Is(err, context.DeadlineExceeded) || tctx.Err() != nil || (errors.As(err, &netErr) && netErr.Timeout()) {
		return OutcomeTimeout, fmt.Sprintf("timeout after %s", a.o.Timeout)
	}
	status := 0
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	switch {
	case errors.As(err, &apiErr):
		status = apiErr.HTTPStatusCode
	case errors.As(err, &reqErr):
		status = reqErr.HTTPStatusCode
	}
	switch {
	case status == http.StatusTooManyRequests:
		return OutcomeRateLimited, "rate-limited by the endpoint, HTTP 429"
	case status != 0:
		return OutcomeUnavailable, fmt.Sprintf("the endpoint answered HTTP %d", status)
	default:
		return OutcomeUnavailable, "the endpoint could not be reached or sent no usable response"
	}
}

// cacheKey identifies a request by its model and its redacted content.
func cacheKey(req openai.ChatCompletionRequest) (string, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return "", fmt.Errorf("assist: cache key: %w", err)
	}
	sum := sha256.Sum256(b) // the model name is part of req
	return hex.EncodeToString(sum[:]), nil
}

// estimateTokens is a deliberately high estimate of a prompt's tokens (4 bytes
// a token, plus framing per message) for budget checks before a request.
func estimateTokens(msgs []openai.ChatCompletionMessage) int {
	n := 0
	for _, m := range msgs {
		n += (len(m.Content)+3)/4 + 4
	}
	return n
}

// Details is the exchange as audit details: a flat map, so the timeline can
// show its reason and outcome.
func (e Exchange) Details() map[string]any {
	b, _ := json.Marshal(e) // plain data always marshals
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}
