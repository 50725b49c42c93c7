package console

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/incident"
)

func hashOf(token string) string {
	d := sha256.Sum256([]byte(token))
	return hex.EncodeToString(d[:])
}

const aliceToken = "4f1c2b0e8a7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b"

func prodAuth(t *testing.T) *Auth {
	t.Helper()
	a, err := NewAuth(AuthOptions{
		Users:          []User{{ID: "alice", Name: "Alice Ng", TokenSHA256: hashOf(aliceToken)}},
		TrustedHeader:  "X-Forwarded-User",
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.9.9.9/32")},
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestProductionAuth checks that with users configured nothing is readable or
// decidable without authentication, and that decisions carry the authenticated
// user whatever the body says.
func TestProductionAuth(t *testing.T) {
	srv, dec, _ := setupConsole(t, prodAuth(t))
	bearer := []string{"Authorization", "Bearer " + aliceToken}
	tests := []struct {
		name, method, path, body string
		header                   []string
		wantStatus               int
		wantBody                 string
	}{
		{name: "API without a token", method: "GET", path: "/api/v1/incidents", wantStatus: 401, wantBody: "authentication required"},
		{name: "API with a wrong token", method: "GET", path: "/api/v1/incidents", header: []string{"Authorization", "Bearer nope"}, wantStatus: 401},
		{name: "API with a token", method: "GET", path: "/api/v1/incidents", header: bearer, wantStatus: 200, wantBody: incID},
		{name: "page without a session", method: "GET", path: "/incidents/" + incID, wantStatus: 303, wantBody: "/login?next=%2Fincidents%2F" + incID},
		{name: "live stream without a session", method: "GET", path: "/incidents/" + incID + "/live", wantStatus: 303},
		{name: "decide without a token", method: "POST", path: "/api/v1/incidents/" + incID + "/decisions", body: `{"proposal_id":"P1","decision":"approve","user":"alice"}`, wantStatus: 401},
		{name: "decide as someone else", method: "POST", path: "/api/v1/incidents/" + incID + "/decisions", body: `{"proposal_id":"P1","decision":"approve","user":"bob"}`, header: bearer, wantStatus: 422, wantBody: "user: is set by authentication"},
		{name: "header from a host that is not the proxy", method: "GET", path: "/api/v1/incidents", header: []string{"X-Forwarded-User", "alice"}, wantStatus: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := do(t, tt.method, srv.URL+tt.path, tt.body, tt.header...)
			if status != tt.wantStatus || !strings.Contains(body, tt.wantBody) {
				t.Errorf("got %d %s, want %d %q", status, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
	if len(dec.got) != 0 {
		t.Fatalf("refused requests reached the workflow: %+v", dec.got)
	}
	status, _ := do(t, "POST", srv.URL+"/api/v1/incidents/"+incID+"/decisions", `{"proposal_id":"P1","decision":"approve","comment":"ok"}`, bearer...)
	if status != 200 || len(dec.got) != 1 || !reflect.DeepEqual(dec.got[0].Actor, incident.Actor{User: "alice", DisplayName: "Alice Ng", Surface: "api", Verification: verifyBearer}) {
		t.Errorf("bearer decision: %d %+v", status, dec.got)
	}
}

// TestLogin signs in with the form, uses the session cookie to approve on the
// page, and signs out.
func TestLogin(t *testing.T) {
	srv, dec, _ := setupConsole(t, prodAuth(t))
	form := "application/x-www-form-urlencoded"
	status, body := do(t, "POST", srv.URL+"/login", url.Values{"token": {"guess"}, "next": {"/"}}.Encode(), "Content-Type", form)
	if status != 401 || !strings.Contains(body, "That token is not valid.") {
		t.Errorf("bad token: %d %s", status, body)
	}
	req, _ := http.NewRequest("POST", srv.URL+"/login", strings.NewReader(url.Values{"token": {aliceToken}, "next": {"//evil.example/"}}.Encode()))
	req.Header.Set("Content-Type", form)
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			session = c
		}
	}
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/" || session == nil || !session.HttpOnly || !session.Secure || session.SameSite != http.SameSiteLaxMode {
		t.Fatalf("login: %d to %q, cookie %+v", resp.StatusCode, resp.Header.Get("Location"), session)
	}
	cookie := []string{"Cookie", sessionCookie + "=" + session.Value}
	status, body = do(t, "GET", srv.URL+"/incidents/"+incID, "", cookie...)
	if status != 200 || !strings.Contains(body, "Signed in as <b>Alice Ng</b>") || strings.Contains(body, "development mode") {
		t.Errorf("incident page with a session: %d", status)
	}
	status, loc := do(t, "POST", srv.URL+"/incidents/"+incID+"/decide", url.Values{"action": {"approve:P1:abc123"}}.Encode(), append(cookie, "Content-Type", form)...)
	if status != 303 || !strings.Contains(loc, "msg=") || len(dec.got) != 1 || dec.got[0].Actor.User != "alice" || dec.got[0].Actor.Verification != verifySession || dec.got[0].PlanHash != "abc123" {
		t.Errorf("approve with a session: %d %s %+v", status, loc, dec.got)
	}
	tampered := []string{"Cookie", sessionCookie + "=" + strings.Replace(session.Value, session.Value[:4], "AAAA", 1)}
	if status, _ = do(t, "GET", srv.URL+"/", "", tampered...); status != 303 {
		t.Errorf("tampered session: %d", status)
	}
}

func TestTrustedHeader(t *testing.T) {
	a := prodAuth(t)
	a.opts.TrustedGroupsHeader = "X-Forwarded-Groups"
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.9.9.9:4431"
	r.Header.Set("X-Forwarded-User", "carol")
	r.Header.Set("X-Forwarded-Groups", "managers, oncall")
	id, ok := a.authenticate(r)
	if !ok || id.User != "carol" || strings.Join(id.Groups, "|") != "managers|oncall" || !strings.Contains(id.Verification, "X-Forwarded-User") {
		t.Errorf("from the proxy: %+v %v", id, ok)
	}
	r.RemoteAddr = "10.9.9.8:4431"
	if _, ok := a.authenticate(r); ok {
		t.Error("header believed from a host that is not the proxy")
	}
}

func TestSessionExpires(t *testing.T) {
	a := prodAuth(t)
	v, _ := a.newSession("alice")
	if _, ok := a.session(v); !ok {
		t.Fatal("fresh session refused")
	}
	a.now = func() time.Time { return time.Now().Add(13 * time.Hour) }
	if _, ok := a.session(v); ok {
		t.Error("expired session accepted")
	}
}
