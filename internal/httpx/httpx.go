// Package httpx holds the small HTTP helpers Vigil's handlers share: JSON bodies
// in and out, client-facing errors that say what to fix, and bearer-token checks.
package httpx

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// WriteJSON writes v as a JSON response.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteError writes err as JSON; an *Error keeps its status, anything else is a 500.
func WriteError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Status: http.StatusInternalServerError, Message: err.Error()}
	}
	WriteJSON(w, e.Status, e)
}

// Error is a client-facing error, written as {"error": ..., "problems": [...]}.
type Error struct {
	Status   int      `json:"-"`
	Message  string   `json:"error"`
	Problems []string `json:"problems,omitempty"`
}

func (e *Error) Error() string { return e.Message }

// DecodeJSON reads a JSON body into v, turning every way it can go wrong into an
// *Error that says what to fix. The body size is limited by the server's
// MaxBytesReader.
func DecodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("unexpected data after the JSON value")
	}
	var tooBig *http.MaxBytesError
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &tooBig):
		return &Error{Status: http.StatusRequestEntityTooLarge, Message: "request body exceeds " + strconv.FormatInt(tooBig.Limit, 10) + " bytes; nothing was accepted (send fewer alerts per request)"}
	case errors.Is(err, io.EOF):
		return &Error{Status: http.StatusBadRequest, Message: "request body is empty; send a JSON document"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &Error{Status: http.StatusBadRequest, Message: "malformed JSON: the body ends before the JSON value does; nothing was accepted"}
	case errors.As(err, &syntax):
		return &Error{Status: http.StatusBadRequest, Message: fmt.Sprintf("malformed JSON at byte %d: %v; nothing was accepted", syntax.Offset, err)}
	case errors.As(err, &typ):
		return &Error{Status: http.StatusBadRequest, Message: fmt.Sprintf("field %s: expected %s, got JSON %s; nothing was accepted", typ.Field, typ.Type, typ.Value)}
	default:
		return &Error{Status: http.StatusBadRequest, Message: "cannot read JSON body: " + err.Error() + "; nothing was accepted"}
	}
}

// RequireBearer wraps h so that requests must carry "Authorization: Bearer T" for
// one of tokens. With no tokens it returns h unchanged (development mode).
// Tokens are compared as SHA-256 digests in constant time.
func RequireBearer(tokens []string, h http.Handler) http.Handler {
	if len(tokens) == 0 {
		return h
	}
	digests := make([][32]byte, len(tokens))
	for i, t := range tokens {
		digests[i] = sha256.Sum256([]byte(t))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		d := sha256.Sum256([]byte(got))
		match := 0
		for _, want := range digests {
			match |= subtle.ConstantTimeCompare(d[:], want[:])
		}
		if !ok || match != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="vigil-ingest"`)
			WriteError(w, &Error{Status: http.StatusUnauthorized, Message: "missing or invalid bearer token; set Authorization: Bearer <token> (ingest.tokens in vigil.yaml)"})
			return
		}
		h.ServeHTTP(w, r)
	})
}
