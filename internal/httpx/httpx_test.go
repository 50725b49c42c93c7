package httpx

import (
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestDecodeJSON(t *testing.T) {
	type alert struct {
		Labels map[string]string `json:"labels"`
		Count  int               `json:"count"`
	}
	type doc struct {
		Alerts []alert `json:"alerts"`
	}
	tests := []struct {
		name       string
		body       string
		limit      int64
		wantStatus int // 0: decoded
		wantMsg    string
		want       doc
	}{
		{name: "ok", body: `{"alerts": [{"labels": {"a": "b"}, "count": 2}]}`, want: doc{Alerts: []alert{{Labels: map[string]string{"a": "b"}, Count: 2}}}},
		{name: "names match case-insensitively", body: `{"Alerts": [{"COUNT": 3}]}`, want: doc{Alerts: []alert{{Count: 3}}}},
		{name: "invalid UTF-8 kept as U+FFFD", body: "{\"alerts\": [{\"labels\": {\"a\": \"x\xff\"}}]}", want: doc{Alerts: []alert{{Labels: map[string]string{"a": "x\uFFFD"}}}}},
		{name: "empty", body: "  \n", wantStatus: 400, wantMsg: "request body is empty"},
		{name: "truncated", body: `{"alerts": [{"labels": {"a": "b"}`, wantStatus: 400, wantMsg: "the body ends before the JSON value does"},
		{name: "syntax", body: `{"alerts": [}`, wantStatus: 400, wantMsg: "malformed JSON at byte 13: invalid character '}' at start of value"},
		{name: "trailing data", body: `{"alerts": []} {}`, wantStatus: 400, wantMsg: "malformed JSON at byte 16: invalid character '{' after top-level value"},
		{name: "duplicate member", body: `{"alerts": [], "alerts": []}`, wantStatus: 400, wantMsg: "duplicate object member name"},
		{name: "wrong type", body: `{"alerts": "nope"}`, wantStatus: 400, wantMsg: "field alerts: expected an array, got JSON string"},
		{name: "wrong type deep", body: `{"alerts": [{}, {"labels": {"a": 5}}]}`, wantStatus: 400, wantMsg: "field alerts[1].labels.a: expected a string, got JSON number"},
		{name: "not an integer", body: `{"alerts": [{"count": 1.5}]}`, wantStatus: 400, wantMsg: "field alerts[0].count: expected an integer, got JSON number"},
		{name: "wrong document", body: `[1]`, wantStatus: 400, wantMsg: "the document: expected an object, got JSON array"},
		{name: "too big", body: `{"alerts": []}`, limit: 5, wantStatus: 413, wantMsg: "request body exceeds 5 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
			if tc.limit > 0 {
				req.Body = http.MaxBytesReader(httptest.NewRecorder(), req.Body, tc.limit)
			}
			var got doc
			err := DecodeJSON(req, &got)
			if tc.wantStatus == 0 {
				if err != nil {
					t.Fatalf("DecodeJSON: %v", err)
				}
				if len(got.Alerts) != len(tc.want.Alerts) || (len(got.Alerts) > 0 && (got.Alerts[0].Count != tc.want.Alerts[0].Count || got.Alerts[0].Labels["a"] != tc.want.Alerts[0].Labels["a"])) {
					t.Fatalf("decoded %+v, want %+v", got, tc.want)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("DecodeJSON = %v, want an *Error", err)
			}
			if e.Status != tc.wantStatus || !strings.Contains(e.Message, tc.wantMsg) {
				t.Fatalf("DecodeJSON = %d %q, want %d containing %q", e.Status, e.Message, tc.wantStatus, tc.wantMsg)
			}
		})
	}
}

func TestSecurityHeaders(t *testing.T) {
	h := SecurityHeaders(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	tests := []struct {
		name     string
		tls      bool
		proto    string
		wantHSTS bool
	}{
		{name: "plain HTTP"},
		{name: "direct TLS", tls: true, wantHSTS: true},
		{name: "TLS at the proxy", proto: "https", wantHSTS: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			if tt.tls {
				req.TLS = &tls.ConnectionState{}
			}
			if tt.proto != "" {
				req.Header.Set("X-Forwarded-Proto", tt.proto)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			for name, want := range map[string]string{
				"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
			} {
				if got := rec.Header().Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			csp := rec.Header().Get("Content-Security-Policy")
			for _, want := range []string{"frame-ancestors 'none'", "script-src 'self';", "object-src 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "script-src 'self' 'unsafe-inline'") {
				t.Errorf("CSP allows inline script: %q", csp)
			}
			if got := rec.Header().Get("Strict-Transport-Security") != ""; got != tt.wantHSTS {
				t.Errorf("HSTS set = %v, want %v", got, tt.wantHSTS)
			}
		})
	}
}
