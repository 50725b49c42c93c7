package assist

import (
	"strings"
	"testing"
)

func TestRedactor(t *testing.T) {
	r, err := NewRedactor([]string{`customer-[0-9]{6}`}, []string{"s3cr3t/v@lue", "abc"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ in, want string }{
		{"login with s3cr3t/v@lue", "login with " + Mask},
		{"GET /cb?k=s3cr3t%2Fv%40lue", "GET /cb?k=" + Mask}, // URL-escaped
		{`{"pw":"s3cr3t/v@lue"}`, `{"pw":"` + Mask + `"}`},  // as JSON quotes it
		{"abc is too short to be a secret", "abc is too short to be a secret"},
		{"refund for customer-123456 failed", "refund for " + Mask + " failed"},
		{"postgres://app:pa55@db-1/shop", "postgres://app:" + Mask + "@db-1/shop"},
		{"Authorization: Bearer eyJhbGciOiJIUzI1.eyJzdWIiOiIx.SflKxwRJSMeKKF2Q", "Authorization: " + Mask}, // over-redacts: the key names a credential
		{"token=xoxb-1234567890-abcdef", "token=" + Mask},
		{"key AKIAIOSFODNN7EXAMPLE leaked", "key " + Mask + " leaked"},
		{"using ghp_abcdefghijklmnopqrstuvwxyz012345", "using " + Mask},
		{"-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----", Mask},
		{"p99 latency 2.3s on checkout-1", "p99 latency 2.3s on checkout-1"},
	}
	for _, tt := range tests {
		if got := r.String(tt.in); got != tt.want {
			t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if _, err := NewRedactor([]string{"("}, nil); err == nil || !strings.Contains(err.Error(), `redact pattern 0 "("`) {
		t.Errorf("bad pattern: %v", err)
	}
	var none *Redactor
	if got := none.String("password=hunter2"); got != "password="+Mask {
		t.Errorf("nil redactor: %q", got)
	}
}
