package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestSecurityHeadersOnEveryPage asks a running Vigil for every console page,
// API answer, asset and error, and checks each carries the security headers:
// a policy allowing no inline script and no framing, nosniff and the
// referrer policy; HSTS only when the request came over TLS.
func TestSecurityHeadersOnEveryPage(t *testing.T) {
	logs := &syncBuffer{}
	v := startVigil(t, t.TempDir(), logs)
	defer func() { _ = v.stop() }()
	status, body := call(t, "POST", v.url+"/api/v1/alerts/alertmanager", alertPayload(t.TempDir()))
	if status != 200 {
		t.Fatalf("ingest: %d %v", status, body)
	}
	id := body["incidents"].([]any)[0].(string)
	waitFor(t, v, id, "awaiting_approval", hasStatus("awaiting_approval"))
	paths := []string{"/", "/?status=open", "/incidents/" + id, "/incidents/" + id + "/timeline", "/reports", "/login",
		"/incidents/no-such", "/no-such-page", "/api/v1/incidents", "/api/v1/incidents/" + id, "/api/v1/incidents/" + id + "/timeline",
		"/api/v1/reports", "/healthz", "/readyz", "/metrics", "/assets/style.css", "/assets/live.js", "/assets/confirm.js", "/assets/refresh.js"}
	for _, proto := range []string{"", "https"} {
		for _, path := range paths {
			t.Run(proto+path, func(t *testing.T) {
				req, _ := http.NewRequest(http.MethodGet, v.url+path, nil)
				if proto != "" {
					req.Header.Set("X-Forwarded-Proto", proto)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				h := resp.Header
				csp := h.Get("Content-Security-Policy")
				if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self';") {
					t.Errorf("Content-Security-Policy = %q", csp)
				}
				for name, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"} {
					if got := h.Get(name); got != want {
						t.Errorf("%s = %q, want %q", name, got, want)
					}
				}
				if hsts := h.Get("Strict-Transport-Security"); (hsts != "") != (proto == "https") {
					t.Errorf("Strict-Transport-Security = %q over %q", hsts, proto)
				}
			})
		}
	}
	// The pages' scripts are files the policy allows, not inline code.
	for _, path := range []string{"/", "/incidents/" + id} {
		_, page := get(t, v.url+path)
		for _, inline := range []string{"<script>", " onclick=", " onload=", " onerror=", "javascript:"} {
			if strings.Contains(page, inline) {
				t.Errorf("%s holds inline script %q, which the policy blocks", path, inline)
			}
		}
		if !strings.Contains(page, `<script src="/assets/`) {
			t.Errorf("%s loads no script file", path)
		}
	}
}
