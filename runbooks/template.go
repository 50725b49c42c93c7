package runbooks

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"

	"go.yaml.in/yaml/v3"
)

// Template is one templated field of a step: a Go text/template over
// {params, labels, incident} with missing keys as errors. Secrets are never
// template data, so no rendered field can hold a secret value.
type Template struct {
	Raw string
	Pos Pos
	t   *template.Template
}

// incidentFields are the keys of .incident in templates.
var incidentFields = []string{"id", "key", "title", "severity"}

// template decodes a scalar into a parsed template; a parse error is a problem and
// leaves the template nil.
func (p *problems) template(n *yaml.Node, what string) *Template {
	if n == nil {
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		p.add(posOf(n), "%s must be a string, not %s", what, kindName(n))
		return nil
	}
	t, err := template.New(what).Option("missingkey=error").Parse(n.Value)
	if err != nil {
		p.add(posOf(n), "%s: bad template: %v", what, err)
		return nil
	}
	return &Template{Raw: n.Value, Pos: posOf(n), t: t}
}

// templates decodes a list of template strings.
func (p *problems) templates(n *yaml.Node, what string) []*Template {
	var out []*Template
	for _, e := range p.list(n, what) {
		out = append(out, p.template(e, what))
	}
	return out
}

// render executes the template; a nil template renders empty.
func (t *Template) render(data map[string]any) (string, error) {
	if t == nil {
		return "", nil
	}
	var b strings.Builder
	if err := t.t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("%q: %w", t.Raw, err)
	}
	return b.String(), nil
}

// check reports references that can never resolve: a top-level name other than
// params, labels and incident, an undeclared param, an unknown incident field.
func (t *Template) check(p *problems, what string, params map[string]bool) {
	if t == nil {
		return
	}
	for _, ref := range fieldRefs(t.t) {
		switch {
		case ref[0] == "params" && len(ref) >= 2:
			if !params[ref[1]] {
				p.add(t.Pos, "template references unknown param %q in %s (declare it under params:; declared: %s)", ref[1], what, orNone(slices.Sorted(maps.Keys(params))))
			}
		case ref[0] == "incident" && len(ref) >= 2:
			if !slices.Contains(incidentFields, ref[1]) {
				p.add(t.Pos, "template references unknown incident field %q in %s (known: %s)", ref[1], what, strings.Join(incidentFields, ", "))
			}
		case ref[0] != "params" && ref[0] != "labels" && ref[0] != "incident":
			p.add(t.Pos, "template references .%s in %s; templates see only .params, .labels and .incident", ref[0], what)
		}
	}
}

// fieldRefs lists the field chains a template reads from its data (.params.x is
// [params x]; $.labels.y is [labels y]). Chains inside range and with blocks are
// relative to a changed dot and are skipped.
func fieldRefs(t *template.Template) [][]string {
	var out [][]string
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c)
				}
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n != nil {
				for _, c := range n.Cmds {
					walk(c)
				}
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.FieldNode:
			out = append(out, n.Ident)
		case *parse.VariableNode:
			if len(n.Ident) >= 2 && n.Ident[0] == "$" {
				out = append(out, n.Ident[1:])
			}
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
		case *parse.WithNode:
			walk(n.Pipe)
		}
	}
	if t.Tree != nil {
		walk(t.Tree.Root)
	}
	return out
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
