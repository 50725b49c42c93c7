package runbooks

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Pos is a position in a runbook file, 1-based.
type Pos struct {
	Line int `json:"line"`
	Col  int `json:"col"`
}

func posOf(n *yaml.Node) Pos { return Pos{Line: n.Line, Col: n.Column} }

// problems collects the errors of one node's decoding. Returned as a *yaml.TypeError,
// they let the YAML decoder carry on and report every problem in the file at once.
type problems []string

func (p *problems) add(at Pos, format string, args ...any) {
	*p = append(*p, fmt.Sprintf("%d:%d: ", at.Line, at.Col)+fmt.Sprintf(format, args...))
}

// merge takes the errors of a nested Decode (already positioned) into p.
func (p *problems) merge(err error) {
	if err == nil {
		return
	}
	if te, ok := err.(*yaml.TypeError); ok {
		*p = append(*p, te.Errors...)
		return
	}
	*p = append(*p, err.Error())
}

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return &yaml.TypeError{Errors: p}
}

// fields checks that n is a mapping whose keys are all in allowed, reporting unknown
// and duplicate keys, and returns the value nodes by key.
func (p *problems) fields(n *yaml.Node, what string, allowed ...string) map[string]*yaml.Node {
	if n.Kind != yaml.MappingNode {
		p.add(posOf(n), "%s must be a mapping, not %s", what, kindName(n))
		return nil
	}
	out := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case !slices.Contains(allowed, k.Value):
			p.add(posOf(k), "unknown field %q in %s (allowed: %s)", k.Value, what, strings.Join(allowed, ", "))
		case out[k.Value] != nil:
			p.add(posOf(k), "field %q appears twice in %s", k.Value, what)
		default:
			out[k.Value] = v
		}
	}
	return out
}

// str decodes a scalar string, reporting a non-scalar.
func (p *problems) str(n *yaml.Node, what string) string {
	if n == nil {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		p.add(posOf(n), "%s must be a string, not %s", what, kindName(n))
		return ""
	}
	return n.Value
}

// boolean decodes true or false; quoted strings and yes/no are refused so that
// what the author wrote is what the YAML means.
func (p *problems) boolean(n *yaml.Node, what string) bool {
	if n == nil {
		return false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		p.add(posOf(n), "%s must be true or false, not %s", what, describe(n))
		return false
	}
	b, _ := strconv.ParseBool(n.Value)
	return b
}

// integer decodes an integer within [lo, hi].
func (p *problems) integer(n *yaml.Node, what string, lo, hi int) int {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		p.add(posOf(n), "%s must be a whole number, not %s", what, describe(n))
		return 0
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil || v < lo || v > hi {
		p.add(posOf(n), "%s must be between %d and %d, got %s", what, lo, hi, n.Value)
		return 0
	}
	return v
}

// duration decodes a positive Go duration such as 30s or 5m.
func (p *problems) duration(n *yaml.Node, what string) time.Duration {
	s := p.str(n, what)
	if n == nil || n.Kind != yaml.ScalarNode {
		return 0
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		p.add(posOf(n), "%s %q is not a duration (e.g. 30s, 5m)", what, s)
		return 0
	case d <= 0:
		p.add(posOf(n), "%s must be positive, got %s", what, s)
		return 0
	}
	return d
}

// list checks that n is a sequence and returns its elements.
func (p *problems) list(n *yaml.Node, what string) []*yaml.Node {
	if n.Kind != yaml.SequenceNode {
		p.add(posOf(n), "%s must be a list, not %s", what, kindName(n))
		return nil
	}
	return n.Content
}

// strList decodes a list of strings, keeping each element's position.
func (p *problems) strList(n *yaml.Node, what string) ([]string, []Pos) {
	var out []string
	var at []Pos
	for _, e := range p.list(n, what) {
		if e.Kind != yaml.ScalarNode {
			p.add(posOf(e), "each of %s must be a string, not %s", what, kindName(e))
			continue
		}
		out = append(out, e.Value)
		at = append(at, posOf(e))
	}
	return out, at
}

// pair is one key and value of a string-to-string mapping, in file order.
type pair struct {
	Key, Value       string
	KeyPos, ValuePos Pos
}

// strMap decodes a mapping of strings to scalars, in file order. Non-string
// scalars (numbers, booleans) are taken as written.
func (p *problems) strMap(n *yaml.Node, what string) []pair {
	if n.Kind != yaml.MappingNode {
		p.add(posOf(n), "%s must be a mapping, not %s", what, kindName(n))
		return nil
	}
	var out []pair
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			p.add(posOf(k), "%q appears twice in %s", k.Value, what)
			continue
		}
		seen[k.Value] = true
		if v.Kind != yaml.ScalarNode {
			p.add(posOf(v), "%s.%s must be a string, not %s", what, k.Value, kindName(v))
			continue
		}
		out = append(out, pair{Key: k.Value, Value: v.Value, KeyPos: posOf(k), ValuePos: posOf(v)})
	}
	return out
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	default:
		return "a scalar"
	}
}

// describe names a node for type errors: the scalar itself, else its kind.
func describe(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return strconv.Quote(n.Value)
	}
	return kindName(n)
}
