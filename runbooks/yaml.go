package runbooks

import (
	"fmt"
	"slices"
	"strings"

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
