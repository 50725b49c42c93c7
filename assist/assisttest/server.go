// Package assisttest provides a fake OpenAI-compatible chat-completions
// endpoint for tests of the investigation assistant: it plays scripted replies
// (good, broken, hostile, slow, rate-limited) and records what it was sent.
package assisttest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// Reply is one scripted answer of the fake endpoint.
type Reply struct {
	// Content is the assistant message's content.
	Content string
	// Status is the HTTP status; 0 means 200. Other statuses send an
	// OpenAI-style error body.
	Status int
	// Delay holds the answer back, e.g. to exceed the client's timeout.
	Delay time.Duration
	// PromptTokens and CompletionTokens are the reported usage; both zero
	// reports none, as some local servers do.
	PromptTokens, CompletionTokens int
	// FinishReason defaults to "stop".
	FinishReason openai.FinishReason
}

// Server is the fake endpoint. Its URL plus "/v1" is a base URL for
// assist.NewClient. Each request gets the next Reply; a request beyond the
// script gets HTTP 500 and fails the test.
type Server struct {
	*httptest.Server
	t        testing.TB
	mu       sync.Mutex
	replies  []Reply
	requests []Request
}

// Request is one request the fake endpoint received.
type Request struct {
	Path   string
	Header http.Header
	Body   []byte
	Chat   openai.ChatCompletionRequest
}

// NewServer starts a fake endpoint that plays replies in order. It is closed
// when the test ends.
func NewServer(t testing.TB, replies ...Reply) *Server {
	s := &Server{t: t, replies: replies}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// BaseURL is the API root to configure.
func (s *Server) BaseURL() string { return s.URL + "/v1" }

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := Request{Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body}
	if err := json.Unmarshal(body, &req.Chat); err != nil {
		s.t.Errorf("fake endpoint: request is not a chat completion: %v", err)
	}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	n := len(s.requests)
	var rep Reply
	ok := n <= len(s.replies)
	if ok {
		rep = s.replies[n-1]
	}
	s.mu.Unlock()
	if !ok {
		s.t.Errorf("fake endpoint: unexpected request %d (scripted %d)", n, len(s.replies))
		writeError(w, http.StatusInternalServerError, "no reply scripted")
		return
	}
	if rep.Delay > 0 {
		select {
		case <-time.After(rep.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if rep.Status != 0 && rep.Status != http.StatusOK {
		writeError(w, rep.Status, http.StatusText(rep.Status))
		return
	}
	finish := rep.FinishReason
	if finish == "" {
		finish = openai.FinishReasonStop
	}
	resp := openai.ChatCompletionResponse{
		ID: fmt.Sprintf("chatcmpl-%d", n), Object: "chat.completion", Created: time.Now().Unix(), Model: req.Chat.Model,
		Choices: []openai.ChatCompletionChoice{{Message: openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: rep.Content}, FinishReason: finish}},
		Usage:   openai.Usage{PromptTokens: rep.PromptTokens, CompletionTokens: rep.CompletionTokens, TotalTokens: rep.PromptTokens + rep.CompletionTokens},
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": "fake_error"}})
}
