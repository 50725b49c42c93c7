package signals

import (
	"regexp"
	"unicode/utf8"
)

// maxExampleBytes caps an example line; longer lines are cut at a rune
// boundary and end in "…".
const maxExampleBytes = 1024

// redactions replace credentials that log lines commonly leak. They aim to
// over-redact rather than miss: a value after any key that looks like a
// credential name is hidden.
var redactions = []struct {
	re   *regexp.Regexp
	repl string
}{
	// URL user info: scheme://user:secret@host
	{regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]+):[^\s/@]+@`), "${1}:[REDACTED]@"},
	// Authorization schemes: "Bearer abc…", "Basic dXNl…"
	{regexp.MustCompile(`(?i)\b(bearer|basic|token)(\s+)[a-z0-9._~+/=-]{8,}`), "${1}${2}[REDACTED]"},
	// key=value, key: value, "key": "value" for credential-like keys; a
	// value that is an authorization scheme was handled above.
	{regexp.MustCompile(`(?i)([a-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential|session[_-]?id|cookie|auth)[a-z0-9_.-]*["']?\s*[:=]\s*["']?)((?:bearer|basic|token)\s+\[REDACTED\]|[^\s"'&,;]+)`), "${1}[REDACTED]"},
	// JSON Web Tokens
	{regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}`), "[REDACTED]"},
	// AWS access key ids
	{regexp.MustCompile(`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`), "[REDACTED]"},
}

// Redact hides credentials in a log line before it is kept as an example:
// the password of a URL, bearer and basic credentials, values of keys named
// like password, secret, token, api_key, credential, session_id, cookie or
// auth, JSON Web Tokens and AWS access key ids. It also cuts the line to
// maxExampleBytes.
func Redact(line string) string {
	for _, r := range redactions {
		line = r.re.ReplaceAllString(line, r.repl)
	}
	if len(line) > maxExampleBytes {
		cut := maxExampleBytes
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		line = line[:cut] + "…"
	}
	return line
}
