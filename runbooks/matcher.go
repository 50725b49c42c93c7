package runbooks

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// MatchType is an Alertmanager matcher operator.
type MatchType string

// Matcher operators, as in Alertmanager: =, !=, =~, !~.
const (
	MatchEqual     MatchType = "="
	MatchNotEqual  MatchType = "!="
	MatchRegexp    MatchType = "=~"
	MatchNotRegexp MatchType = "!~"
)

// Matcher tests one label. Regexps are anchored, as in Alertmanager: the whole
// value must match.
type Matcher struct {
	Name  string
	Type  MatchType
	Value string
	re    *regexp.Regexp
}

var labelNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ParseMatcher parses name="value", name!="value", name=~"regex" or name!~"regex".
// The value may be unquoted when it has no spaces or quotes.
func ParseMatcher(s string) (Matcher, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexAny(s, "=!")
	if i <= 0 {
		return Matcher{}, fmt.Errorf("matcher %q must look like name=\"value\" (operators =, !=, =~, !~)", s)
	}
	m := Matcher{Name: strings.TrimSpace(s[:i])}
	rest := s[i:]
	for _, op := range []MatchType{MatchRegexp, MatchNotRegexp, MatchNotEqual, MatchEqual} {
		if strings.HasPrefix(rest, string(op)) {
			m.Type = op
			rest = rest[len(op):]
			break
		}
	}
	if m.Type == "" {
		return Matcher{}, fmt.Errorf("matcher %q: unknown operator; use =, !=, =~ or !~", s)
	}
	if !labelNameRE.MatchString(m.Name) {
		return Matcher{}, fmt.Errorf("matcher %q: %q is not a valid label name", s, m.Name)
	}
	rest = strings.TrimSpace(rest)
	if strings.HasPrefix(rest, `"`) {
		v, err := strconv.Unquote(rest)
		if err != nil {
			return Matcher{}, fmt.Errorf("matcher %q: value is not a valid quoted string", s)
		}
		rest = v
	}
	m.Value = rest
	if m.Type == MatchRegexp || m.Type == MatchNotRegexp {
		re, err := anchored(m.Value)
		if err != nil {
			return Matcher{}, fmt.Errorf("matcher %q: bad regexp: %v", s, err)
		}
		m.re = re
	}
	return m, nil
}

// Matches reports whether the label set satisfies the matcher. A missing label
// counts as the empty string, as in Alertmanager.
func (m Matcher) Matches(labels map[string]string) bool {
	v := labels[m.Name]
	switch m.Type {
	case MatchEqual:
		return v == m.Value
	case MatchNotEqual:
		return v != m.Value
	case MatchRegexp:
		return m.re.MatchString(v)
	default:
		return !m.re.MatchString(v)
	}
}

// anchored compiles pattern to match whole values only. The pattern must be a
// regexp on its own first: wrapped as written, "a)|(b" would compile to
// ^(?:a)|(b)$, which takes any value that starts with a.
func anchored(pattern string) (*regexp.Regexp, error) {
	if _, err := regexp.Compile(pattern); err != nil {
		return nil, err
	}
	return regexp.Compile(`^(?:` + pattern + `)$`)
}

func (m Matcher) String() string { return m.Name + string(m.Type) + strconv.Quote(m.Value) }
