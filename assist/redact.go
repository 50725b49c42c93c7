package assist

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Mask replaces whatever the Redactor hides.
const Mask = "[REDACTED]"

// minSecretLen is the shortest known secret value the Redactor masks: masking
// every "abc" in a prompt would hide more than it protects, and a secret that
// short is no secret.
const minSecretLen = 4

// builtinRedactions hide credentials that alert text and log lines commonly
// carry, whether or not the configuration knows them. They over-redact rather
// than miss: any value after a key that looks like a credential name is hidden.
// Each pattern runs only on text that holds one of its needs (lower-cased
// substrings), which keeps redaction of a busy incident's prompt cheap: most
// log lines need none of the patterns.
var builtinRedactions = []struct {
	re    *regexp.Regexp
	repl  string
	needs []string
}{
	// URL user info: scheme://user:secret@host
	{regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]+):[^\s/@]+@`), "${1}:" + Mask + "@", []string{"://"}},
	// Authorization schemes: "Bearer abc…", "Basic dXNl…"
	{regexp.MustCompile(`(?i)\b(bearer|basic|token)(\s+)[a-z0-9._~+/=-]{8,}`), "${1}${2}" + Mask, []string{"bearer", "basic", "token"}},
	// key=value, key: value, "key": "value" for credential-like keys. The
	// match starts at the credential word, not at the start of the key
	// ("db_password"): the output is the same, and a leading character class
	// would make every position of the text a match attempt.
	{regexp.MustCompile(`(?i)((?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential|session[_-]?id|cookie|auth)[a-z0-9_.-]*["']?\s*[:=]\s*["']?)((?:bearer|basic|token)\s+\[REDACTED\]|[^\s"'&,;]+)`), "${1}" + Mask,
		[]string{"pass", "pwd", "secret", "token", "key", "credential", "session", "cookie", "auth"}},
	// JSON Web Tokens
	{regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}`), Mask, []string{"eyj"}},
	// AWS access key ids
	{regexp.MustCompile(`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`), Mask, []string{"akia", "asia"}},
	// Slack, GitHub and OpenAI-style API tokens
	{regexp.MustCompile(`\b(?:xox[abposr]-[A-Za-z0-9-]{10,}|xapp-[A-Za-z0-9-]{10,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|sk-[A-Za-z0-9_-]{20,})`), Mask,
		[]string{"xox", "xapp-", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "sk-"}},
	// PEM private keys
	{regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----`), Mask, []string{"private key"}},
}

// Redactor hides secrets in text before it leaves the process: known secret
// values (Vigil's own tokens and keys, resolved from the configuration), the
// configured sensitive patterns, and the built-in credential patterns. It is
// safe for concurrent use.
type Redactor struct {
	// values are the literal forms of the known secrets, longest first, so a
	// secret that contains another is masked whole.
	values   []string
	patterns []*regexp.Regexp
}

// NewRedactor returns a Redactor for the given patterns (Go regular
// expressions; every match is masked) and secret values. Each value is masked
// raw, URL-escaped and JSON-escaped, so it is caught however the evidence
// quoted it. Values shorter than 4 bytes are ignored.
func NewRedactor(patterns []string, secrets []string) (*Redactor, error) {
	r := &Redactor{}
	for i, p := range patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("redact pattern %d %q: %w", i, p, err)
		}
		r.patterns = append(r.patterns, re)
	}
	seen := map[string]bool{}
	for _, s := range secrets {
		if len(s) < minSecretLen {
			continue
		}
		js, _ := json.Marshal(s) // a string always marshals
		for _, form := range []string{s, url.QueryEscape(s), url.PathEscape(s), string(js[1 : len(js)-1])} {
			if !seen[form] {
				seen[form] = true
				r.values = append(r.values, form)
			}
		}
	}
	slices.SortFunc(r.values, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return r, nil
}

// String returns s with every secret masked. A nil Redactor still applies the
// built-in patterns.
func (r *Redactor) String(s string) string {
	if s == "" {
		return s
	}
	if r != nil {
		for _, v := range r.values {
			s = strings.ReplaceAll(s, v, Mask)
		}
		for _, re := range r.patterns {
			s = re.ReplaceAllLiteralString(s, Mask)
		}
	}
	// Replacements only remove text and add Mask, which holds no need, so
	// the needs of the original text decide for every pattern.
	lower := strings.ToLower(s)
	for _, b := range builtinRedactions {
		if slices.ContainsFunc(b.needs, func(n string) bool { return strings.Contains(lower, n) }) {
			s = b.re.ReplaceAllString(s, b.repl)
		}
	}
	return s
}

// Strings redacts each string of ss into a new slice.
func (r *Redactor) Strings(ss []string) []string {
	if ss == nil {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = r.String(s)
	}
	return out
}

// Map redacts the keys and values of m into a new map.
func (r *Redactor) Map(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[r.String(k)] = r.String(v)
	}
	return out
}
