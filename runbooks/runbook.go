// Package runbooks loads runbooks written as code (YAML files in a repository),
// checks them with line-numbered errors, matches them against alerts, renders their
// parameters into exact argv, and executes their steps.
//
// A runbook file:
//
//	id: clean-temp-files            # unique across the library
//	title: Clean old temporary files
//	description: Deletes *.tmp files older than an age from one directory.
//	match:
//	  matchers: ['alertname="DiskFillingUp"', 'path=~"/.+"']
//	params:
//	  dir: {from: label.path, pattern: '/[A-Za-z0-9._/-]+'}
//	  age_minutes: {default: "60", pattern: '[0-9]+'}
//	risk: low                       # low | medium | high
//	approval:
//	  approvers: [group:oncall, user:alice]
//	steps:
//	  - id: delete
//	    run: shell
//	    command: [find, "{{ .params.dir }}", -name, "*.tmp", -mmin, "+{{ .params.age_minutes }}", -delete]
//	    timeout: 30s
package runbooks

import (
	"fmt"
	"regexp"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"go.yaml.in/yaml/v3"
)

// Runbook is one runbook file, decoded and checked.
type Runbook struct {
	ID          string
	Title       string
	Description string
	Match       Match
	Params      []Param // in file order
	Risk        string
	Approval    Approval
	Steps       []Step

	File     string // path it was loaded from
	Revision string // sha256 of the file's bytes, first 12 hex digits
	Pos      Pos
}

// Risk levels.
const (
	RiskLow    = "low"
	RiskMedium = "medium"
	RiskHigh   = "high"
)

// UnmarshalYAML decodes and checks a runbook, reporting every problem.
func (r *Runbook) UnmarshalYAML(n *yaml.Node) error {
	var p problems
	r.Pos = posOf(n)
	f := p.fields(n, "runbook", "id", "title", "description", "match", "params", "risk", "approval", "steps")
	if f == nil {
		return p.err()
	}
	r.ID = p.str(f["id"], "id")
	r.Title = p.str(f["title"], "title")
	r.Description = p.str(f["description"], "description")
	r.Risk = p.str(f["risk"], "risk")
	switch {
	case f["id"] == nil:
		p.add(r.Pos, "missing required field \"id\"")
	case !idRE.MatchString(r.ID):
		p.add(posOf(f["id"]), "id %q must be lowercase letters, digits and '-' (e.g. restart-service)", r.ID)
	}
	if f["title"] == nil {
		p.add(r.Pos, "missing required field \"title\"")
	}
	switch r.Risk {
	case "":
		r.Risk = RiskMedium
	case RiskLow, RiskMedium, RiskHigh:
	default:
		p.add(posOf(f["risk"]), "risk %q must be low, medium or high", r.Risk)
	}
	if m := f["match"]; m != nil {
		p.merge(m.Decode(&r.Match))
	} else {
		p.add(r.Pos, "missing required field \"match\" (a runbook that matches nothing is never proposed)")
	}
	if ps := f["params"]; ps != nil {
		r.Params = decodeParams(&p, ps)
	}
	if a := f["approval"]; a != nil {
		p.merge(a.Decode(&r.Approval))
	} else {
		p.add(r.Pos, "missing required field \"approval\" (list who may approve: approval: {approvers: [group:oncall]})")
	}
	switch s := f["steps"]; {
	case s == nil:
		p.add(r.Pos, "missing required field \"steps\"")
	case s.Kind != yaml.SequenceNode || len(s.Content) == 0:
		p.add(posOf(s), "steps must be a non-empty list")
	default:
		// Decode element by element: the YAML library drops sequence elements whose
		// decoding failed, and the cross-step checks below need every step.
		for _, e := range s.Content {
			var st Step
			p.merge(e.Decode(&st))
			r.Steps = append(r.Steps, st)
		}
	}
	r.checkSteps(&p)
	return p.err()
}

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// checkSteps reports duplicate step ids and templates that reference unknown params.
func (r *Runbook) checkSteps(p *problems) {
	seen := map[string]Pos{}
	known := map[string]bool{}
	for _, pr := range r.Params {
		known[pr.Name] = true
	}
	for _, s := range r.Steps {
		if prev, dup := seen[s.ID]; dup && s.ID != "" {
			p.add(s.Pos, "step id %q is already used at line %d; step ids must be unique", s.ID, prev.Line)
		}
		seen[s.ID] = s.Pos
		for i, t := range s.templates {
			if t == nil {
				continue
			}
			for _, name := range paramRefs(t) {
				if !known[name] {
					p.add(s.argPos[i], "template references unknown param %q (declare it under params:)", name)
				}
			}
		}
	}
}

// Match selects the alerts a runbook applies to: every matcher must match.
type Match struct {
	Matchers []Matcher
}

// UnmarshalYAML decodes match.matchers.
func (m *Match) UnmarshalYAML(n *yaml.Node) error {
	var p problems
	f := p.fields(n, "match", "matchers")
	ms := f["matchers"]
	switch {
	case f == nil:
	case ms == nil || ms.Kind != yaml.SequenceNode || len(ms.Content) == 0:
		p.add(posOf(n), "match.matchers must list at least one matcher, e.g. ['alertname=\"HighLatency\"']")
	default:
		for _, e := range ms.Content {
			s := p.str(e, "matcher")
			if s == "" {
				continue
			}
			mt, err := ParseMatcher(s)
			if err != nil {
				p.add(posOf(e), "%v", err)
				continue
			}
			m.Matchers = append(m.Matchers, mt)
		}
	}
	return p.err()
}

// Param is a runbook parameter: where its value comes from, its default, and the
// pattern the value must match (anchored: the whole value must match).
type Param struct {
	Name    string
	From    string // label.X or annotation.X; empty means default only
	Default string
	Pattern *regexp.Regexp
	Pos     Pos
}

var paramNameRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

func decodeParams(p *problems, n *yaml.Node) []Param {
	if n.Kind != yaml.MappingNode {
		p.add(posOf(n), "params must be a mapping of name to {from, default, pattern}")
		return nil
	}
	var out []Param
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		pr := Param{Name: k.Value, Pos: posOf(k)}
		if !paramNameRE.MatchString(pr.Name) {
			p.add(posOf(k), "param name %q must be lowercase letters, digits and '_' (it is used as {{ .params.%s }})", pr.Name, pr.Name)
		}
		f := p.fields(v, "param "+pr.Name, "from", "default", "pattern")
		if f == nil {
			continue
		}
		pr.From = p.str(f["from"], "from")
		pr.Default = p.str(f["default"], "default")
		if pr.From != "" {
			src, name, ok := strings.Cut(pr.From, ".")
			if !ok || name == "" || (src != "label" && src != "annotation") {
				p.add(posOf(f["from"]), "param %s: from %q must be label.NAME or annotation.NAME", pr.Name, pr.From)
			}
		} else if f["default"] == nil {
			p.add(posOf(k), "param %s needs a source (from: label.NAME) or a default", pr.Name)
		}
		if pat := p.str(f["pattern"], "pattern"); pat != "" {
			re, err := regexp.Compile(`^(?:` + pat + `)$`)
			if err != nil {
				p.add(posOf(f["pattern"]), "param %s: bad pattern: %v", pr.Name, err)
			}
			pr.Pattern = re
		} else {
			p.add(posOf(k), "param %s needs a pattern: values come from alerts and are passed to commands, so say what a valid one looks like", pr.Name)
		}
		out = append(out, pr)
	}
	return out
}

// Approval says who may approve a run.
type Approval struct {
	Approvers []Approver
}

// Approver is one entry of approval.approvers: user:NAME or group:NAME.
type Approver struct {
	Kind string // user | group
	Name string
	Pos  Pos
}

func (a Approver) String() string { return a.Kind + ":" + a.Name }

// UnmarshalYAML decodes approval.approvers.
func (a *Approval) UnmarshalYAML(n *yaml.Node) error {
	var p problems
	f := p.fields(n, "approval", "approvers")
	as := f["approvers"]
	switch {
	case f == nil:
	case as == nil || as.Kind != yaml.SequenceNode || len(as.Content) == 0:
		p.add(posOf(n), "approval.approvers must list at least one approver (user:NAME or group:NAME)")
	default:
		for _, e := range as.Content {
			s := p.str(e, "approver")
			kind, name, ok := strings.Cut(s, ":")
			if !ok || name == "" || (kind != "user" && kind != "group") {
				p.add(posOf(e), "approver %q must be user:NAME or group:NAME", s)
				continue
			}
			a.Approvers = append(a.Approvers, Approver{Kind: kind, Name: name, Pos: posOf(e)})
		}
	}
	return p.err()
}

// Step is one step of a runbook.
type Step struct {
	ID      string
	Run     string   // step type; only "shell" so far
	Command []string // argv; each element may be a text/template
	Timeout time.Duration
	Pos     Pos

	templates []*template.Template // parsed Command elements
	argPos    []Pos
}

// DefaultStepTimeout applies when a step gives none.
const DefaultStepTimeout = 60 * time.Second

// UnmarshalYAML decodes and checks one step.
func (s *Step) UnmarshalYAML(n *yaml.Node) error {
	var p problems
	s.Pos = posOf(n)
	f := p.fields(n, "step", "id", "run", "command", "timeout")
	if f == nil {
		return p.err()
	}
	s.ID = p.str(f["id"], "step id")
	if f["id"] == nil {
		p.add(s.Pos, "step is missing \"id\"")
	} else if !idRE.MatchString(s.ID) {
		p.add(posOf(f["id"]), "step id %q must be lowercase letters, digits and '-'", s.ID)
	}
	s.Run = p.str(f["run"], "run")
	if s.Run != "shell" {
		at := s.Pos
		if f["run"] != nil {
			at = posOf(f["run"])
		}
		p.add(at, "step %s: run %q is not a known step type (known: shell)", s.ID, s.Run)
	}
	s.Timeout = DefaultStepTimeout
	if t := f["timeout"]; t != nil {
		d, err := time.ParseDuration(p.str(t, "timeout"))
		switch {
		case err != nil:
			p.add(posOf(t), "step %s: timeout %q is not a duration (e.g. 30s, 5m)", s.ID, t.Value)
		case d <= 0:
			p.add(posOf(t), "step %s: timeout must be positive", s.ID)
		default:
			s.Timeout = d
		}
	}
	c := f["command"]
	switch {
	case c == nil:
		p.add(s.Pos, "step %s is missing \"command\" (an argv list, e.g. [systemctl, restart, nginx])", s.ID)
	case c.Kind != yaml.SequenceNode || len(c.Content) == 0:
		p.add(posOf(c), "step %s: command must be a non-empty argv list, e.g. [systemctl, restart, nginx]; it is never run through a shell", s.ID)
	default:
		for _, e := range c.Content {
			arg := p.str(e, "command argument")
			t, err := template.New(s.ID).Option("missingkey=error").Parse(arg)
			if err != nil {
				p.add(posOf(e), "step %s: bad template: %v", s.ID, err)
			}
			s.Command = append(s.Command, arg)
			s.templates = append(s.templates, t)
			s.argPos = append(s.argPos, posOf(e))
		}
	}
	return p.err()
}

// paramRefs lists the NAMEs in {{ .params.NAME }} references of a template.
func paramRefs(t *template.Template) []string {
	var out []string
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
			if len(n.Ident) >= 2 && n.Ident[0] == "params" {
				out = append(out, n.Ident[1])
			}
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		}
	}
	if t.Tree != nil {
		walk(t.Tree.Root)
	}
	return out
}

// String names the runbook for messages.
func (r *Runbook) String() string { return fmt.Sprintf("%s (%s)", r.ID, r.File) }
