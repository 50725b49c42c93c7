package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vigilops/vigil/internal/httpx"
	"github.com/vigilops/vigil/signals"
	"github.com/vigilops/vigil/store"
)

// LogPipeline is where accepted log lines go: signals.Logs.
type LogPipeline interface {
	Observe(lines []signals.LogLine, now time.Time) (signals.Observed, error)
	Flush(ctx context.Context, now time.Time) (store.IngestResult, error)
}

// Logs receives log lines at POST /api/v1/logs.
//
// The query names the stream: source=NAME is required (unless every JSON line
// names its own), every other parameter but format is a label
// (?source=checkout&env=prod), and format=FMT is an optional header format in
// Loghub's notation, e.g. "<Date> <Time> <Level> <Component>: <Content>".
//
// A text/plain body holds one log line per line. An application/x-ndjson (or
// application/jsonl, application/json) body holds one JSON object per line:
//
//	{"message": "db down", "timestamp": "2026-11-24T03:00:00Z", "level": "error",
//	 "source": "checkout", "labels": {"pod": "checkout-7"}}
//
// where only message is required; timestamp is unix seconds or RFC 3339,
// source and labels add to the query's. A body is accepted whole or not at
// all, and answered only once the events it raised are stored.
type Logs struct {
	Pipeline LogPipeline
	Logger   *slog.Logger
}

type jsonLine struct {
	Message   *string           `json:"message"`
	Timestamp jsonTime          `json:"timestamp"`
	Level     string            `json:"level"`
	Source    string            `json:"source"`
	Labels    map[string]string `json:"labels"`
}

// ServeHTTP handles POST /api/v1/logs.
func (h *Logs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	lines, lineNos, err := h.decode(r, now)
	if err != nil {
		httpx.WriteError(w, err)
		return
	}
	res, err := observeDurably(r.Context(), now, func() (signals.Observed, error) { return h.Pipeline.Observe(lines, now) }, h.Pipeline.Flush)
	if err != nil {
		item := func(i int) string { return fmt.Sprintf("line %d", lineNos[i]) }
		httpx.WriteError(w, signalsFailure(h.Logger, err, "log lines", item, "retry later"))
		return
	}
	h.Logger.Debug("ingest: logs", "accepted", res.Accepted, "events", res.Events)
	httpx.WriteJSON(w, http.StatusOK, res)
}

// decode reads the body into log lines and the body line number (from 1) of
// each, or returns an *httpx.Error naming every problem.
func (h *Logs) decode(r *http.Request, now time.Time) ([]signals.LogLine, []int, error) {
	q := r.URL.Query()
	parser, err := signals.NewLineParser(q.Get("format"))
	if err != nil {
		return nil, nil, &httpx.Error{Status: http.StatusBadRequest, Message: "query format: " + err.Error() + "; nothing was accepted"}
	}
	labels, err := queryLabels(q)
	if err != nil {
		return nil, nil, err
	}
	jsonLines := false
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		switch {
		case err != nil:
			return nil, nil, &httpx.Error{Status: http.StatusUnsupportedMediaType, Message: fmt.Sprintf("Content-Type %q: %v", ct, err)}
		case mt == "text/plain":
		case mt == "application/x-ndjson" || mt == "application/jsonl" || mt == "application/json":
			jsonLines = true
		default:
			return nil, nil, &httpx.Error{Status: http.StatusUnsupportedMediaType, Message: fmt.Sprintf("Content-Type %s is not supported; send text/plain lines or application/x-ndjson objects", mt)}
		}
	}
	body, err := io.ReadAll(r.Body)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, nil, &httpx.Error{Status: http.StatusRequestEntityTooLarge, Message: fmt.Sprintf("request body exceeds %d bytes; nothing was accepted (send fewer lines per request)", tooBig.Limit)}
	}
	if err != nil {
		return nil, nil, &httpx.Error{Status: http.StatusBadRequest, Message: "cannot read the body: " + err.Error()}
	}
	raw := splitLines(body)
	if len(raw) == 0 {
		return nil, nil, &httpx.Error{Status: http.StatusBadRequest, Message: "request body has no log lines"}
	}
	if !jsonLines {
		if labels["source"] == "" {
			return nil, nil, &httpx.Error{Status: http.StatusBadRequest, Message: "query source is required: name the log stream, e.g. /api/v1/logs?source=checkout"}
		}
		stream, err := signals.NewStream(labels)
		if err != nil {
			return nil, nil, &httpx.Error{Status: http.StatusBadRequest, Message: "query labels: " + err.Error()}
		}
		lines := make([]signals.LogLine, len(raw))
		lineNos := make([]int, len(raw))
		for i, l := range raw {
			msg, level := parser.Parse(l)
			lines[i] = signals.LogLine{Stream: stream, Time: now, Level: level, Message: msg, Raw: l}
			lineNos[i] = i + 1
		}
		return lines, lineNos, nil
	}
	return decodeJSONLines(raw, labels, parser, now)
}

// queryLabels returns the stream labels of the query: every parameter but
// format, each given once.
func queryLabels(q url.Values) (map[string]string, error) {
	labels := make(map[string]string, len(q))
	for k, vs := range q {
		if k == "format" {
			continue
		}
		if len(vs) != 1 {
			return nil, &httpx.Error{Status: http.StatusBadRequest, Message: fmt.Sprintf("query label %s is given %d times; give it once", k, len(vs))}
		}
		labels[k] = vs[0]
	}
	return labels, nil
}

// splitLines splits a body at newlines, dropping a final empty line and the
// CR of CRLF endings.
func splitLines(body []byte) []string {
	text := string(bytes.TrimSuffix(body, []byte("\n")))
	if text == "" {
		return nil
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

func decodeJSONLines(raw []string, query map[string]string, parser *signals.LineParser, now time.Time) ([]signals.LogLine, []int, error) {
	var problems []string
	bad := func(n int, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("line %d%s", n, fmt.Sprintf(format, args...)))
	}
	lines := make([]signals.LogLine, 0, len(raw))
	lineNos := make([]int, 0, len(raw))
	// Lines without labels of their own share the query's stream, built once.
	var queryStream *signals.Stream
	for i, l := range raw {
		n := i + 1
		if strings.TrimSpace(l) == "" {
			continue
		}
		var jl jsonLine
		dec := json.NewDecoder(strings.NewReader(l))
		if err := dec.Decode(&jl); err != nil {
			bad(n, ": not a JSON object: %v", err)
			continue
		}
		if dec.More() {
			bad(n, ": unexpected data after the JSON object (one object per line)")
			continue
		}
		if jl.Message == nil {
			bad(n, ".message: is required")
			continue
		}
		t := now
		if jl.Timestamp.set && !errors.Is(jl.Timestamp.err, errTimeRequired) { // absent or null: now
			if jl.Timestamp.err != nil {
				bad(n, ".timestamp: %v", jl.Timestamp.err)
				continue
			}
			t = jl.Timestamp.t
		}
		var st signals.Stream
		switch {
		case jl.Source == "" && len(jl.Labels) == 0 && queryStream != nil:
			st = *queryStream
		default:
			labels := maps.Clone(query)
			maps.Copy(labels, jl.Labels)
			if jl.Source != "" {
				labels["source"] = jl.Source
			}
			if labels["source"] == "" {
				bad(n, ": no source: set \"source\" in the line or ?source= in the query")
				continue
			}
			var err error
			if st, err = signals.NewStream(labels); err != nil {
				bad(n, ".labels: %v", err)
				continue
			}
			if jl.Source == "" && len(jl.Labels) == 0 {
				queryStream = &st
			}
		}
		msg, level := parser.Parse(*jl.Message)
		if jl.Level != "" {
			level = jl.Level
		}
		lines = append(lines, signals.LogLine{Stream: st, Time: t, Level: level, Message: msg, Raw: *jl.Message})
		lineNos = append(lineNos, n)
	}
	if len(problems) > 0 {
		if len(problems) > 20 {
			problems = append(problems[:20], fmt.Sprintf("… and %d more problems", len(problems)-20))
		}
		return nil, nil, &httpx.Error{Status: http.StatusUnprocessableEntity, Message: "invalid log lines; nothing was accepted", Problems: problems}
	}
	if len(lines) == 0 {
		return nil, nil, &httpx.Error{Status: http.StatusBadRequest, Message: "request body has no log lines"}
	}
	return lines, lineNos, nil
}
