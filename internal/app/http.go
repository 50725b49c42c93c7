package app

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/vigilops/vigil/bot/console"
	"github.com/vigilops/vigil/config"
)

// limitBodies caps every request body; handlers see an *http.MaxBytesError past it.
func limitBodies(limit int64, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		h.ServeHTTP(w, r)
	})
}

func resolveTokens(refs []config.Secret) ([]string, error) {
	var out []string
	for _, r := range refs {
		v, err := r.Resolve()
		if err != nil {
			return nil, fmt.Errorf("ingest.tokens: %w", err)
		}
		out = append(out, strings.TrimSpace(v))
	}
	return out, nil
}

// consoleAuth turns console configuration into authentication; nil is
// development mode (no users, no SSO header).
func consoleAuth(c config.Console) (*console.Auth, error) {
	if !c.AuthEnabled() {
		return nil, nil
	}
	o := console.AuthOptions{SessionTTL: c.SessionTTL, TrustedHeader: c.TrustedHeader, TrustedGroupsHeader: c.TrustedGroupsHeader}
	for _, u := range c.Users {
		o.Users = append(o.Users, console.User{ID: u.ID, Name: u.Name, TokenSHA256: u.TokenSHA256})
	}
	for _, p := range c.TrustedProxies {
		o.TrustedProxies = append(o.TrustedProxies, netip.MustParsePrefix(p)) // validated by config
	}
	if c.SessionSecret != "" {
		key, err := c.SessionSecret.Resolve()
		if err != nil {
			return nil, fmt.Errorf("console.session_secret: %w", err)
		}
		o.SessionKey = []byte(key)
	}
	return console.NewAuth(o)
}

// readyTimeout bounds each check of /readyz.
const readyTimeout = 5 * time.Second

// healthz answers that the process is alive.
func healthz(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) }

// readyz answers 200 when ready says so, else 503 with the reason on one line.
func readyz(ready func(context.Context) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := ready(ctx); err != nil {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(strings.Join(strings.Fields(err.Error()), " ") + "\n"))
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	}
}
