package slack

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MaxRequestAge is how far a signed request's timestamp may be from now; Slack
// recommends five minutes. It is also how long signatures are remembered to
// refuse replays.
const MaxRequestAge = 5 * time.Minute

// Errors of Verify; any of them means the request is refused with 401.
var (
	ErrUnsigned  = errors.New("request is not signed (X-Slack-Signature and X-Slack-Request-Timestamp are required)")
	ErrStale     = errors.New("request timestamp is more than 5 minutes from now")
	ErrForged    = errors.New("signature does not match the body")
	ErrReplayed  = errors.New("request was already received")
	errTooManyIn = errors.New("too many signed requests in the replay window")
)

// Verifier checks Slack's request signatures: X-Slack-Signature must be "v0=" and
// the hex HMAC-SHA256, keyed with the signing secret, of "v0:{timestamp}:{body}".
// The timestamp must be within MaxRequestAge of now, and a signature already
// accepted within that window is refused, so a captured request cannot be
// replayed. It is safe for concurrent use.
type Verifier struct {
	secret []byte
	now    func() time.Time

	mu     sync.Mutex
	seen   map[string]time.Time // signature → when it stops being replayable
	pruned time.Time
}

// maxRemembered bounds the replay cache; only correctly signed requests enter it,
// so reaching it means Slack sent more than this in five minutes.
const maxRemembered = 100_000

// NewVerifier returns a Verifier for the signing secret; now may be nil.
func NewVerifier(secret string, now func() time.Time) *Verifier {
	if now == nil {
		now = time.Now
	}
	return &Verifier{secret: []byte(secret), now: now, seen: map[string]time.Time{}}
}

// Verify checks one request's headers and raw body.
func (v *Verifier) Verify(h http.Header, body []byte) error {
	sig, stamp := h.Get("X-Slack-Signature"), h.Get("X-Slack-Request-Timestamp")
	if sig == "" || stamp == "" {
		return ErrUnsigned
	}
	secs, err := strconv.ParseInt(stamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q is not unix seconds", ErrStale, stamp)
	}
	now := v.now()
	if d := now.Sub(time.Unix(secs, 0)); d > MaxRequestAge || d < -MaxRequestAge {
		return ErrStale
	}
	got, err := hex.DecodeString(strings.TrimPrefix(sig, "v0="))
	if err != nil || !strings.HasPrefix(sig, "v0=") {
		return ErrForged
	}
	mac := hmac.New(sha256.New, v.secret)
	fmt.Fprintf(mac, "v0:%s:", stamp)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return ErrForged
	}

	v.mu.Lock()
	defer v.mu.Unlock()
	if now.Sub(v.pruned) > 10*time.Second {
		for s, until := range v.seen {
			if now.After(until) {
				delete(v.seen, s)
			}
		}
		v.pruned = now
	}
	key := string(got)
	if _, ok := v.seen[key]; ok {
		return ErrReplayed
	}
	if len(v.seen) >= maxRemembered {
		return errTooManyIn
	}
	// A signature is replayable while its timestamp is within the window.
	v.seen[key] = time.Unix(secs, 0).Add(MaxRequestAge)
	return nil
}
