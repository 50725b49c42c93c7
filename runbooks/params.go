package runbooks

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Param is a runbook parameter: its type, where its value comes from, its default,
// and what a valid value looks like. Every value is checked before any step sees
// it, so a hostile label value never reaches a command.
type Param struct {
	Name string
	// Type is string (default), int, enum, duration or bool.
	Type string
	// From is label.NAME, annotation.NAME, input (asked from a human in chat before
	// approval), or empty when the default is the value.
	From       string
	Default    string
	HasDefault bool
	// Pattern applies to string params: the whole value must match (anchored).
	Pattern *regexp.Regexp
	// Values lists the allowed values of an enum param.
	Values []string
	// Description explains the param; for input params it is the question asked.
	Description string
	Pos         Pos

	pattern string // as written, for prompts
}

// Param types.
const (
	TypeString   = "string"
	TypeInt      = "int"
	TypeEnum     = "enum"
	TypeDuration = "duration"
	TypeBool     = "bool"
)

var paramTypes = []string{TypeString, TypeInt, TypeEnum, TypeDuration, TypeBool}

// FromInput is the source of params asked from a human.
const FromInput = "input"

var (
	paramNameRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
	paramFields = []string{"type", "from", "default", "pattern", "values", "description"}
)

func decodeParams(p *problems, n *yaml.Node) []Param {
	if n.Kind != yaml.MappingNode {
		p.add(posOf(n), "params must be a mapping of name to {type, from, default, pattern, values, description}")
		return nil
	}
	var out []Param
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if slices.ContainsFunc(out, func(q Param) bool { return q.Name == k.Value }) {
			p.add(posOf(k), "param %s is declared twice", k.Value)
			continue
		}
		if pr, ok := decodeParam(p, k, v); ok {
			out = append(out, pr)
		}
	}
	return out
}

func decodeParam(p *problems, k, v *yaml.Node) (Param, bool) {
	pr := Param{Name: k.Value, Pos: posOf(k), Type: TypeString}
	if !paramNameRE.MatchString(pr.Name) {
		p.add(posOf(k), "param name %q must be lowercase letters, digits and '_' (it is used as {{ .params.%s }})", pr.Name, pr.Name)
	}
	f := p.fields(v, "param "+pr.Name, paramFields...)
	if f == nil {
		return pr, false
	}
	if t := f["type"]; t != nil {
		pr.Type = p.str(t, "type")
		if !slices.Contains(paramTypes, pr.Type) {
			p.add(posOf(t), "param %s: type %q must be one of %s", pr.Name, pr.Type, strings.Join(paramTypes, ", "))
			return pr, false
		}
	}
	pr.From = p.str(f["from"], "from")
	pr.Default = p.str(f["default"], "default")
	pr.HasDefault = f["default"] != nil
	pr.Description = p.str(f["description"], "description")
	switch src, name, _ := strings.Cut(pr.From, "."); {
	case pr.From == FromInput:
		if pr.Description == "" {
			p.add(posOf(k), "param %s: from: input needs a description; it is the question asked in chat", pr.Name)
		}
	case pr.From != "":
		if name == "" || (src != "label" && src != "annotation") {
			p.add(posOf(f["from"]), "param %s: from %q must be label.NAME or annotation.NAME (or input, asked in chat)", pr.Name, pr.From)
		}
	case !pr.HasDefault:
		p.add(posOf(k), "param %s needs a source (from: label.NAME) or a default", pr.Name)
	}

	if pat := f["pattern"]; pat != nil {
		pr.pattern = p.str(pat, "pattern")
		if pr.Type != TypeString {
			p.add(posOf(pat), "param %s: pattern applies to string params; a %s param is checked by its type", pr.Name, pr.Type)
		} else if re, err := anchored(pr.pattern); err != nil {
			p.add(posOf(pat), "param %s: bad pattern: %v", pr.Name, err)
		} else {
			pr.Pattern = re
		}
	} else if pr.Type == TypeString {
		p.add(posOf(k), "param %s needs a pattern: values come from alerts and are passed to commands, so say what a valid one looks like", pr.Name)
	}

	if vs := f["values"]; vs != nil {
		if pr.Type != TypeEnum {
			p.add(posOf(vs), "param %s: values applies to enum params (type: enum)", pr.Name)
		}
		var at []Pos
		pr.Values, at = p.strList(vs, "param "+pr.Name+" values")
		for i, v := range pr.Values {
			if slices.Index(pr.Values, v) != i {
				p.add(at[i], "param %s: value %q is listed twice", pr.Name, v)
			}
		}
	}
	if pr.Type == TypeEnum && len(pr.Values) == 0 {
		p.add(posOf(k), "param %s: an enum param needs values: [a, b, ...]", pr.Name)
	}
	checkable := !(pr.Type == TypeString && pr.Pattern == nil) && !(pr.Type == TypeEnum && len(pr.Values) == 0)
	if pr.HasDefault && checkable {
		if _, err := pr.check(pr.Default); err != nil {
			p.add(posOf(f["default"]), "param %s: default: %v", pr.Name, err)
		}
	}
	return pr, true
}

// check validates v against the param's type, pattern or values and returns its
// canonical form (ints and bools normalised).
func (pr Param) check(v string) (string, error) {
	switch pr.Type {
	case TypeInt:
		n, err := strconv.Atoi(v)
		if err != nil {
			return "", fmt.Errorf("value %q is not a whole number", v)
		}
		return strconv.Itoa(n), nil
	case TypeBool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return "", fmt.Errorf("value %q is not true or false", v)
		}
		return strconv.FormatBool(b), nil
	case TypeDuration:
		if _, err := time.ParseDuration(v); err != nil {
			return "", fmt.Errorf("value %q is not a duration (e.g. 30s, 5m)", v)
		}
		return v, nil
	case TypeEnum:
		if !slices.Contains(pr.Values, v) {
			return "", fmt.Errorf("value %q is not one of %s", v, strings.Join(pr.Values, ", "))
		}
		return v, nil
	default:
		if pr.Pattern != nil && !pr.Pattern.MatchString(v) {
			return "", fmt.Errorf("value %q does not match its pattern %s", v, pr.Pattern)
		}
		return v, nil
	}
}

// resolve finds the param's value in ctx and checks it. An input param that has
// no input and no default returns ok=false: a human must be asked.
func (pr Param) resolve(ctx Context) (v string, ok bool, err error) {
	src, name, _ := strings.Cut(pr.From, ".")
	switch {
	case pr.From == FromInput:
		v = ctx.Inputs[pr.Name]
	case src == "label":
		v = ctx.Labels[name]
	case src == "annotation":
		v = ctx.Annotations[name]
	}
	if v == "" && pr.HasDefault {
		v = pr.Default
	} else if v == "" {
		if pr.From == FromInput {
			return "", false, nil
		}
		return "", false, fmt.Errorf("param %s: %s is not set on the alert and there is no default", pr.Name, pr.From)
	}
	v, err = pr.check(v)
	if err != nil {
		return "", false, fmt.Errorf("param %s: %w", pr.Name, err)
	}
	return v, true, nil
}

// InputParam describes a param a human must supply before a runbook can be
// proposed: enough for a chat surface to ask and check the answer.
type InputParam struct {
	Name    string   `json:"name"`
	Type    string   `json:"type"`
	Pattern string   `json:"pattern,omitempty"` // anchored: the whole answer must match
	Values  []string `json:"values,omitempty"`  // the choices of an enum
	Prompt  string   `json:"prompt"`
}

// NeedsInputError is returned by Render when input params have no value yet.
// Render again with Context.Inputs holding the answers.
type NeedsInputError struct {
	RunbookID string
	Params    []InputParam
}

func (e *NeedsInputError) Error() string {
	names := make([]string, len(e.Params))
	for i, p := range e.Params {
		names[i] = p.Name
	}
	return fmt.Sprintf("runbook %s needs input before it can be proposed: %s", e.RunbookID, strings.Join(names, ", "))
}

func (pr Param) input() InputParam {
	return InputParam{Name: pr.Name, Type: pr.Type, Pattern: pr.pattern, Values: pr.Values, Prompt: pr.Description}
}
