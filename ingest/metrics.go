package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/vigilops/vigil/internal/httpx"
	"github.com/vigilops/vigil/signals"
	"github.com/vigilops/vigil/store"
)

// MetricsPipeline is where accepted samples go: signals.Metrics.
type MetricsPipeline interface {
	Observe(samples []signals.Sample, now time.Time) (signals.Observed, error)
	Flush(ctx context.Context, now time.Time) (store.IngestResult, error)
}

// Metrics receives batches of metric samples at POST /api/v1/metrics:
//
//	{"samples": [
//	  {"metric": "http_latency_p99", "labels": {"service": "checkout"},
//	   "timestamp": 1795489200, "value": 0.21},
//	  {"metric": "http_latency_p99", "labels": {"service": "checkout"},
//	   "timestamp": "2026-11-24T03:01:00Z", "value": "0.23"}
//	]}
//
// timestamp is unix seconds (a fraction is kept to the millisecond) or an RFC
// 3339 string; value is a JSON number or a string holding one, as Prometheus
// writes them. A batch is accepted whole or not at all, and answered only
// once the events it raised are stored.
type Metrics struct {
	Pipeline MetricsPipeline
	Logger   *slog.Logger
}

type metricsBody struct {
	Samples []wireSample `json:"samples"`
}

type wireSample struct {
	Metric    string            `json:"metric"`
	Labels    map[string]string `json:"labels"`
	Timestamp jsonTime          `json:"timestamp"`
	Value     jsonFloat         `json:"value"`
}

// jsonTime is unix seconds or an RFC 3339 string. Decoding never fails: a
// bad or missing time keeps its error, so that every problem of a batch is
// reported with its place.
type jsonTime struct {
	t   time.Time
	err error
	set bool
}

func (j *jsonTime) UnmarshalJSON(b []byte) error {
	j.t, j.err = parseTimestamp(b)
	j.set = true
	return nil
}

func (j *jsonTime) get() (time.Time, error) {
	if !j.set {
		return time.Time{}, errTimeRequired
	}
	return j.t, j.err
}

// jsonFloat is a JSON number or a string holding one; like jsonTime, it
// keeps its error.
type jsonFloat struct {
	v   float64
	err error
	set bool
}

func (j *jsonFloat) UnmarshalJSON(b []byte) error {
	j.v, j.err = parseValue(b)
	j.set = true
	return nil
}

func (j *jsonFloat) get() (float64, error) {
	if !j.set {
		return 0, errors.New("is required")
	}
	return j.v, j.err
}

var errTimeRequired = errors.New("is required (unix seconds or an RFC 3339 string)")

// SignalsAccepted is the body of a successful metrics or logs response.
type SignalsAccepted struct {
	Accepted   int      `json:"accepted"`
	Duplicates int      `json:"duplicates"`
	Events     int      `json:"events"`    // events the input raised, now stored
	Incidents  []string `json:"incidents"` // incidents the stored events joined
}

// ServeHTTP handles POST /api/v1/metrics.
func (h *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body metricsBody
	if err := httpx.DecodeJSON(r, &body); err != nil {
		httpx.WriteError(w, sizeHint(err, "samples"))
		return
	}
	samples, problems := decodeSamples(body.Samples)
	if len(problems) > 0 {
		httpx.WriteError(w, &httpx.Error{Status: http.StatusUnprocessableEntity, Message: "invalid metric samples; nothing was accepted", Problems: problems})
		return
	}
	now := time.Now()
	res, err := observeDurably(r.Context(), now, func() (signals.Observed, error) { return h.Pipeline.Observe(samples, now) }, h.Pipeline.Flush)
	if err != nil {
		item := func(i int) string { return fmt.Sprintf("samples[%d]", i) }
		httpx.WriteError(w, signalsFailure(h.Logger, err, "metric samples", item, "retry the same request later: a resend is recognised and not counted twice"))
		return
	}
	h.Logger.Debug("ingest: metrics", "accepted", res.Accepted, "duplicates", res.Duplicates, "events", res.Events)
	httpx.WriteJSON(w, http.StatusOK, res)
}

// decodeSamples turns wire samples into signals.Samples, naming every field
// it cannot read.
func decodeSamples(in []wireSample) ([]signals.Sample, []string) {
	if len(in) == 0 {
		return nil, []string{"samples: is required and must hold at least one sample"}
	}
	var problems []string
	out := make([]signals.Sample, len(in))
	for i, s := range in {
		t, err := s.Timestamp.get()
		if err != nil {
			problems = append(problems, fmt.Sprintf("samples[%d].timestamp: %v", i, err))
		}
		v, err := s.Value.get()
		if err != nil {
			problems = append(problems, fmt.Sprintf("samples[%d].value: %v", i, err))
		}
		out[i] = signals.Sample{Metric: s.Metric, Labels: s.Labels, Time: t, Value: v}
	}
	return out, problems
}

// parseTimestamp reads unix seconds (a JSON number) or an RFC 3339 string.
func parseTimestamp(raw []byte) (time.Time, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, errTimeRequired
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}, fmt.Errorf("%s is not a JSON string", raw)
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time (e.g. 2026-11-24T03:00:00Z)", s)
		}
		return t, nil
	}
	sec, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || sec <= 0 || sec > 1e11 {
		return time.Time{}, fmt.Errorf("%s is not unix seconds or an RFC 3339 string", raw)
	}
	whole, frac := math.Modf(sec)
	return time.Unix(int64(whole), int64(math.Round(frac*1e3))*1e6).UTC(), nil
}

// parseValue reads a JSON number or a string holding one ("NaN" and "+Inf"
// parse, and are then refused as not finite).
func parseValue(raw []byte) (float64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, errors.New("is required")
	}
	s := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, fmt.Errorf("%s is not a JSON string", raw)
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if errors.Is(err, strconv.ErrRange) {
		return 0, fmt.Errorf("%s is out of the range of a 64-bit float", raw)
	}
	if err != nil {
		return 0, fmt.Errorf("%s is not a number", raw)
	}
	return v, nil
}

// observeDurably applies input with observe and flushes its events, so that
// a nil error means they are stored. When too many events already wait, it
// flushes them first and tries once more.
func observeDurably(ctx context.Context, now time.Time, observe func() (signals.Observed, error), flush func(context.Context, time.Time) (store.IngestResult, error)) (SignalsAccepted, error) {
	res, err := observe()
	if errors.Is(err, signals.ErrBacklog) {
		if _, ferr := flush(ctx, now); ferr != nil {
			return SignalsAccepted{}, errors.Join(err, ferr)
		}
		res, err = observe()
	}
	if err != nil {
		return SignalsAccepted{}, err
	}
	stored, err := flush(ctx, now)
	if err != nil {
		return SignalsAccepted{}, fmt.Errorf("%w: %w", errNotStored, err)
	}
	incidents := slices.Clone(stored.Incidents)
	if incidents == nil {
		incidents = []string{}
	}
	return SignalsAccepted{Accepted: res.Accepted, Duplicates: res.Duplicates, Events: res.Events, Incidents: incidents}, nil
}

// errNotStored marks input that was applied but whose events are not stored
// yet.
var errNotStored = errors.New("events not stored")

// signalsFailure turns an observeDurably error into a client-facing error.
// what names the input ("metric samples"), item names the input item at an
// index ("samples[3]"), and retry says what a client should do after a 503
// for input that was applied.
func signalsFailure(logger *slog.Logger, err error, what string, item func(int) string, retry string) *httpx.Error {
	var inv *signals.InvalidError
	switch {
	case errors.As(err, &inv):
		problems := make([]string, 0, len(inv.Problems)+1)
		for _, p := range inv.Problems {
			path := item(p.Index)
			if p.Field != "" {
				path += "." + p.Field
			}
			problems = append(problems, path+": "+p.Message)
		}
		if inv.More > 0 {
			problems = append(problems, fmt.Sprintf("… and %d more problems", inv.More))
		}
		return &httpx.Error{Status: http.StatusUnprocessableEntity, Message: "invalid " + what + "; nothing was accepted", Problems: problems}
	case errors.Is(err, errNotStored):
		logger.Error("ingest: events not stored", "input", what, "err", err)
		return &httpx.Error{Status: http.StatusServiceUnavailable, Message: "the " + what + " were applied but the events they raised could not be stored yet; " + retry}
	case errors.Is(err, signals.ErrBacklog):
		logger.Error("ingest: event backlog full", "input", what, "err", err)
		return &httpx.Error{Status: http.StatusServiceUnavailable, Message: "too many events wait for the store; nothing was accepted, retry later"}
	default:
		logger.Error("ingest: signals", "input", what, "err", err)
		return &httpx.Error{Status: http.StatusInternalServerError, Message: "internal error; nothing was accepted"}
	}
}

// sizeHint rewrites the generic "body too large" advice for the input kind.
func sizeHint(err error, items string) error {
	var e *httpx.Error
	if errors.As(err, &e) && e.Status == http.StatusRequestEntityTooLarge {
		return &httpx.Error{Status: e.Status, Message: "request body exceeds http.max_body_bytes; nothing was accepted (send fewer " + items + " per request)"}
	}
	return err
}
