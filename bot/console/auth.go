package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// User is someone who may sign in.
type User struct {
	ID   string
	Name string
	// TokenSHA256 is the hex SHA-256 of the user's token.
	TokenSHA256 string
}

// AuthOptions configure authentication; see config.Console.
type AuthOptions struct {
	Users []User
	// SessionKey signs session cookies; empty makes a random one (sessions then
	// end when the process does).
	SessionKey []byte
	// SessionTTL is how long a login lasts. Default 12h.
	SessionTTL time.Duration
	// TrustedHeader is set by an SSO proxy to the signed-in user; it is believed
	// only from TrustedProxies. TrustedGroupsHeader carries the user's groups,
	// comma-separated.
	TrustedHeader       string
	TrustedGroupsHeader string
	TrustedProxies      []netip.Prefix
}

// Auth authenticates console and API requests. Every way in yields a user id and
// how it was verified; nothing a request body or form says changes who it is.
type Auth struct {
	opts  AuthOptions
	key   []byte
	byTok map[[32]byte]User
	now   func() time.Time
}

// Verification strings recorded with acts of authenticated users.
const (
	verifySession = "console session (signed in with a token)"
	verifyBearer  = "API bearer token"
	verifyHeader  = "SSO proxy header"
)

// NewAuth checks the options and prepares the token table.
func NewAuth(o AuthOptions) (*Auth, error) {
	a := &Auth{opts: o, key: o.SessionKey, byTok: map[[32]byte]User{}, now: time.Now}
	for _, u := range o.Users {
		b, err := hex.DecodeString(u.TokenSHA256)
		if err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("console user %s: token hash must be 64 hex digits", u.ID)
		}
		if u.Name == "" {
			u.Name = u.ID
		}
		a.byTok[[32]byte(b)] = u
	}
	if len(a.key) == 0 {
		a.key = make([]byte, 32)
		if _, err := rand.Read(a.key); err != nil {
			return nil, fmt.Errorf("session key: %w", err)
		}
	}
	if a.opts.SessionTTL <= 0 {
		a.opts.SessionTTL = 12 * time.Hour
	}
	return a, nil
}

// identity is who a request comes from.
type identity struct {
	User, Name, Verification string
	Groups                   []string
}

type identityKey struct{}

func withIdentity(ctx context.Context, id identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// authenticate finds the request's user: from the SSO proxy's header (when the
// request comes from a trusted proxy), a bearer token, or a session cookie.
func (a *Auth) authenticate(r *http.Request) (identity, bool) {
	if h := a.opts.TrustedHeader; h != "" && r.Header.Get(h) != "" && a.fromProxy(r) {
		id := identity{User: r.Header.Get(h), Name: r.Header.Get(h), Verification: verifyHeader + " " + h}
		if gh := a.opts.TrustedGroupsHeader; gh != "" {
			for g := range strings.SplitSeq(r.Header.Get(gh), ",") {
				if g = strings.TrimSpace(g); g != "" {
					id.Groups = append(id.Groups, g)
				}
			}
		}
		return id, true
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		if u, ok := a.user(tok); ok {
			return identity{User: u.ID, Name: u.Name, Verification: verifyBearer}, true
		}
		return identity{}, false
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		if u, ok := a.session(c.Value); ok {
			return identity{User: u.ID, Name: u.Name, Verification: verifySession}, true
		}
	}
	return identity{}, false
}

func (a *Auth) fromProxy(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	for _, p := range a.opts.TrustedProxies {
		if p.Contains(ip.Unmap()) {
			return true
		}
	}
	return false
}

// user finds the user with this token, comparing digests in constant time.
func (a *Auth) user(token string) (User, bool) {
	d := sha256.Sum256([]byte(token))
	var found User
	ok := 0
	for h, u := range a.byTok {
		if subtle.ConstantTimeCompare(d[:], h[:]) == 1 {
			found, ok = u, 1
		}
	}
	return found, ok == 1
}

const sessionCookie = "vigil_session"

// newSession returns a cookie value: the user id and expiry, signed.
func (a *Auth) newSession(userID string) (string, time.Time) {
	exp := a.now().Add(a.opts.SessionTTL)
	payload := base64.RawURLEncoding.EncodeToString([]byte(userID + "|" + strconv.FormatInt(exp.Unix(), 10)))
	return payload + "." + a.sign(payload), exp
}

func (a *Auth) sign(payload string) string {
	mac := hmac.New(sha256.New, a.key)
	mac.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// session checks a cookie value; the user must still be configured.
func (a *Auth) session(v string) (User, bool) {
	payload, sig, ok := strings.Cut(v, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(a.sign(payload))) {
		return User{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return User{}, false
	}
	id, expS, _ := strings.Cut(string(raw), "|")
	exp, err := strconv.ParseInt(expS, 10, 64)
	if err != nil || a.now().Unix() > exp {
		return User{}, false
	}
	for _, u := range a.byTok {
		if u.ID == id {
			return u, true
		}
	}
	return User{}, false
}
