// Package runbooks loads runbooks written as code (YAML files in a directory or a
// GitHub repository), checks them with line-numbered errors, matches them against
// alerts, renders their parameters into exact plans, executes their steps, and
// runs the tests runbook authors write next to them.
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
//	  age_minutes: {type: int, default: "60"}
//	risk: low                       # low | medium | high
//	approval:
//	  approvers: [group:oncall, user:alice]
//	steps:
//	  - id: delete
//	    run: shell
//	    command: [find, "{{ .params.dir }}", -name, "*.tmp", -mmin, "+{{ .params.age_minutes }}", -delete]
//	    timeout: 30s
//
// README.md ("Runbooks") documents every field; runbook.schema.json describes
// the same schema for editors.
package runbooks

import (
	"fmt"
	"regexp"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/vigilops/vigil/config"
	"github.com/vigilops/vigil/incident"
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
	Secrets     []Secret // in file order
	Steps       []Step
	// Rollback undoes the steps; it runs, last step first, when a step fails.
	Rollback []Step
	Tests    []TestCase

	File string // where it was loaded from
	// Revision identifies the version: the commit SHA for a GitHub source, else
	// the first 12 hex digits of the sha256 of the file's bytes.
	Revision string
	Pos      Pos
}

// Secret is a secret the runbook's steps may use: a reference (env:NAME or
// file:PATH) resolved only when a step that lists it in env runs.
type Secret struct {
	Name string
	Ref  string
	Pos  Pos
}

// Risk levels.
const (
	RiskLow    = "low"
	RiskMedium = "medium"
	RiskHigh   = "high"
)

var (
	matchFields   = []string{"matchers"}
	runbookFields = []string{"id", "title", "description", "match", "params", "risk", "approval", "secrets", "steps", "rollback", "tests"}
	idRE          = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	secretNameRE  = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)
)

// UnmarshalYAML decodes and checks a runbook, reporting every problem.
func (r *Runbook) UnmarshalYAML(n *yaml.Node) error {
	var p problems
	r.Pos = posOf(n)
	f := p.fields(n, "runbook", runbookFields...)
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
		if !r.Approval.minSet {
			r.Approval.MinApprovals = 1
			if r.Risk == RiskHigh {
				r.Approval.MinApprovals = 2
			}
		}
	} else {
		p.add(r.Pos, "missing required field \"approval\" (list who may approve: approval: {approvers: [group:oncall]})")
	}
	if s := f["secrets"]; s != nil {
		r.Secrets = decodeSecrets(&p, s)
	}
	switch s := f["steps"]; {
	case s == nil:
		p.add(r.Pos, "missing required field \"steps\"")
	case s.Kind != yaml.SequenceNode || len(s.Content) == 0:
		p.add(posOf(s), "steps must be a non-empty list")
	default:
		r.Steps = decodeSteps(&p, s)
	}
	if rb := f["rollback"]; rb != nil {
		if rb.Kind != yaml.SequenceNode || len(rb.Content) == 0 {
			p.add(posOf(rb), "rollback must be a non-empty list of steps")
		} else {
			r.Rollback = decodeSteps(&p, rb)
		}
	} else if r.Risk == RiskHigh {
		p.add(posOf(f["risk"]), "risk: high needs rollback: steps that undo the change, run if a step fails")
	}
	r.checkSteps(&p)
	if t := f["tests"]; t != nil {
		for _, e := range p.list(t, "tests") {
			var tc TestCase
			p.merge(e.Decode(&tc))
			r.Tests = append(r.Tests, tc)
		}
		r.checkTests(&p)
	}
	return p.err()
}

// decodeSteps decodes element by element: the YAML library drops sequence
// elements whose decoding failed, and the cross-step checks need every step.
func decodeSteps(p *problems, n *yaml.Node) []Step {
	var out []Step
	for _, e := range n.Content {
		var st Step
		p.merge(e.Decode(&st))
		out = append(out, st)
	}
	return out
}

func decodeSecrets(p *problems, n *yaml.Node) []Secret {
	var out []Secret
	for _, kv := range p.strMap(n, "secrets") {
		if !secretNameRE.MatchString(kv.Key) {
			p.add(kv.KeyPos, "secret name %q must be upper-case letters, digits and '_' (it becomes an environment variable)", kv.Key)
			continue
		}
		if err := config.Secret(kv.Value).Validate(); err != nil {
			p.add(kv.ValuePos, "secret %s: %v", kv.Key, err)
			continue
		}
		out = append(out, Secret{Name: kv.Key, Ref: kv.Value, Pos: kv.KeyPos})
	}
	return out
}

// checkSteps reports what no single step can see: duplicate step ids (rollback
// steps included: runs key their records by step id), templates that reference
// unknown params, env entries naming undeclared secrets, gates in the rollback,
// and secrets that no step is given.
func (r *Runbook) checkSteps(p *problems) {
	seen := map[string]Pos{}
	params := map[string]bool{}
	for _, pr := range r.Params {
		params[pr.Name] = true
	}
	secrets := map[string]bool{}
	for _, s := range r.Secrets {
		secrets[s.Name] = true
	}
	for i, s := range slices.Concat(r.Steps, r.Rollback) {
		if s.Type == nil {
			continue
		}
		if prev, dup := seen[s.ID]; dup && s.ID != "" {
			p.add(s.Pos, "step id %q is already used at line %d; step ids must be unique (rollback steps included)", s.ID, prev.Line)
		}
		seen[s.ID] = s.Pos
		for _, t := range s.Type.templates() {
			if t == nil {
				continue
			}
			t.check(p, "step "+s.ID, params)
		}
		if eu, ok := s.Type.(envUser); ok {
			for _, e := range eu.envEntries() {
				if e.Value == nil && !secrets[e.Name] {
					p.add(e.Pos, "step %s: env %s is not a declared secret; declare it under secrets: (%s: env:VAR) or give a value (%s=VALUE)", s.ID, e.Name, e.Name, e.Name)
				}
			}
		}
		if i >= len(r.Steps) && (s.Run == incident.StepApproval || s.Confirm) {
			p.add(s.Pos, "rollback step %s: rollback runs unattended after a failure, so it cannot wait for approval; put the gate before the risky step", s.ID)
		}
	}
	for _, s := range r.Secrets {
		if !slices.ContainsFunc(slices.Concat(r.Steps, r.Rollback), func(st Step) bool { return usesSecret(st, s.Name) }) {
			p.add(s.Pos, "secret %s is not given to any step; list it in a step's env", s.Name)
		}
	}
}

func usesSecret(s Step, name string) bool {
	eu, ok := s.Type.(envUser)
	return ok && slices.ContainsFunc(eu.envEntries(), func(e EnvEntry) bool { return e.Name == name && e.Value == nil })
}

// Match selects the alerts a runbook applies to: every matcher must match.
type Match struct {
	Matchers []Matcher
}

// UnmarshalYAML decodes match.matchers.
func (m *Match) UnmarshalYAML(n *yaml.Node) error {
	var p problems
	f := p.fields(n, "match", matchFields...)
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

// String names the runbook for messages.
func (r *Runbook) String() string { return fmt.Sprintf("%s (%s)", r.ID, r.File) }
