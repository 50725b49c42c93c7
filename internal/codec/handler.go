package codec

import (
	"errors"
	"net/http"
	"slices"

	"go.temporal.io/sdk/converter"

	"github.com/vigilops/vigil/internal/httpx"
)

// HandlerOptions configure the codec server's handler.
type HandlerOptions struct {
	// Tokens are the bearer tokens that may decode; at least one is
	// required (a codec server open to anyone would undo the encryption).
	Tokens []string
	// Origins are the Temporal UI origins (https://temporal.example.com)
	// whose pages may call the handler from the browser.
	Origins []string
	// Encode also serves POST /encode (tctl and the CLI use it to send
	// encrypted input); off by default, the UI only decodes.
	Encode bool
}

// Handler serves POST /decode (and /encode when asked) in the remote codec
// protocol the Temporal UI and CLI speak, for authorised callers only. The
// UI sends the user's access token when its codec setting passAccessToken
// is on, and X-Namespace; preflight requests from Origins are answered.
func Handler(c *Codec, o HandlerOptions) (http.Handler, error) {
	if len(o.Tokens) == 0 {
		return nil, errors.New("codec server: no tokens; anyone could decode (set temporal.encryption.codec_tokens)")
	}
	inner := httpx.RequireBearer(o.Tokens, converter.NewPayloadCodecHTTPHandler(c))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" && slices.Contains(o.Origins, origin) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Namespace")
			h.Set("Access-Control-Allow-Methods", "POST")
			h.Add("Vary", "Origin")
		}
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		switch r.URL.Path {
		case "/decode":
		case "/encode":
			if !o.Encode {
				http.NotFound(w, r)
				return
			}
		default:
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "use POST", http.StatusMethodNotAllowed)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 4<<20)
		inner.ServeHTTP(w, r)
	}), nil
}
