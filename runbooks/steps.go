package runbooks

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigilops/vigil/incident"
)

// Step is one step of a runbook: the fields every step has, and its type's own.
type Step struct {
	ID      string
	Run     string // one of the incident.Step* types
	Timeout time.Duration
	// Retries is how many more times a failed step is tried, Backoff the first
	// wait between tries (doubling). The workflow does the retrying.
	Retries int
	Backoff time.Duration
	// Confirm holds the step until the approval policy is satisfied once more.
	Confirm bool
	// Idempotent steps may be re-run after a crash interrupted them.
	Idempotent bool
	// Type holds the fields of the step's type.
	Type StepType
	Pos  Pos
}

// StepType is the type-specific half of a step: it decodes its own fields, lists
// its templates for the loader's reference checks, and renders itself into the
// incident.Step that is proposed and later executed.
type StepType interface {
	// options lists the common fields (beyond id and run) the type accepts.
	options() []string
	// fields lists the type's own fields.
	fields() []string
	// decode reads the type's fields from f; s.ID names the step in messages.
	decode(p *problems, f map[string]*yaml.Node, s *Step)
	// templates lists every template of the type, for reference checks.
	templates() []*Template
	// render fills the type's part of out: Command, Spec, Display, Secrets.
	render(rc *renderContext, out *incident.Step) error
}

// Validator is a step type with rules across its own fields (a verify interval
// shorter than its timeout, a GitHub action's required fields). Validate runs
// after decoding and returns positioned problems.
type Validator interface {
	Validate() error
}

// envUser is a step type that runs with an environment: its env entries must name
// declared secrets or give values.
type envUser interface {
	envEntries() []EnvEntry
}

// Common step options.
const (
	optTimeout    = "timeout"
	optRetries    = "retries"
	optBackoff    = "backoff"
	optConfirm    = "confirm"
	optIdempotent = "idempotent"
)

// execOptions are the options of steps that act on the world.
var execOptions = []string{optTimeout, optRetries, optBackoff, optConfirm, optIdempotent}

// stepTypes makes an empty StepType for each run: value.
var stepTypes = map[string]func() StepType{
	incident.StepShell:    func() StepType { return new(ShellStep) },
	incident.StepHTTP:     func() StepType { return new(HTTPStep) },
	incident.StepWait:     func() StepType { return new(WaitStep) },
	incident.StepVerify:   func() StepType { return new(VerifyStep) },
	incident.StepGitHub:   func() StepType { return new(GitHubStep) },
	incident.StepNotify:   func() StepType { return new(NotifyStep) },
	incident.StepApproval: func() StepType { return new(ApprovalStep) },
}

// stepFields lists every field a step of type run accepts.
func stepFields(t StepType) []string {
	return slices.Concat([]string{"id", "run"}, t.options(), t.fields())
}

// Defaults.
const (
	// DefaultStepTimeout applies when a step gives none.
	DefaultStepTimeout = 60 * time.Second
	// DefaultBackoff is the first wait between retries when a step gives none.
	DefaultBackoff = 5 * time.Second
)

// UnmarshalYAML decodes and checks one step: the common fields, then the type's.
func (s *Step) UnmarshalYAML(n *yaml.Node) error {
	var p problems
	s.Pos = posOf(n)
	if n.Kind != yaml.MappingNode {
		p.add(s.Pos, "step must be a mapping, not %s", kindName(n))
		return p.err()
	}
	run := valueOf(n, "run")
	s.Run = p.str(run, "run")
	known := slices.Sorted(maps.Keys(stepTypes))
	mk := stepTypes[s.Run]
	if mk == nil {
		if id := valueOf(n, "id"); id != nil {
			s.ID = id.Value
		}
		if run != nil {
			p.add(posOf(run), "step %s: run %q is not a known step type (known: %s)", s.ID, s.Run, strings.Join(known, ", "))
		} else {
			p.add(s.Pos, "step %s is missing \"run\" (one of: %s)", s.ID, strings.Join(known, ", "))
		}
		// Check the rest as the type whose fields fit best, so that other
		// mistakes in the step are reported too.
		mk = stepTypes[closestType(n)]
	}
	s.Type = mk()
	f := p.fields(n, "step", stepFields(s.Type)...)
	s.ID = p.str(f["id"], "step id")
	if f["id"] == nil {
		p.add(s.Pos, "step is missing \"id\"")
	} else if !idRE.MatchString(s.ID) {
		p.add(posOf(f["id"]), "step id %q must be lowercase letters, digits and '-'", s.ID)
	}
	s.Timeout = DefaultStepTimeout
	if t := f[optTimeout]; t != nil {
		if d := p.duration(t, "step "+s.ID+": timeout"); d > 0 {
			s.Timeout = d
		}
	}
	if r := f[optRetries]; r != nil {
		s.Retries = p.integer(r, "step "+s.ID+": retries", 0, 10)
	}
	if b := f[optBackoff]; b != nil {
		s.Backoff = p.duration(b, "step "+s.ID+": backoff")
		if f[optRetries] == nil {
			p.add(posOf(b), "step %s: backoff has no effect without retries", s.ID)
		}
	} else if s.Retries > 0 {
		s.Backoff = DefaultBackoff
	}
	s.Confirm = p.boolean(f[optConfirm], "step "+s.ID+": confirm")
	s.Idempotent = p.boolean(f[optIdempotent], "step "+s.ID+": idempotent")
	s.Type.decode(&p, f, s)
	if v, ok := s.Type.(Validator); ok {
		p.merge(v.Validate())
	}
	return p.err()
}

// closestType is the step type that knows the most of the node's fields.
func closestType(n *yaml.Node) string {
	best, score := incident.StepShell, -1
	for _, run := range slices.Sorted(maps.Keys(stepTypes)) {
		fields := stepFields(stepTypes[run]())
		k := 0
		for i := 0; i+1 < len(n.Content); i += 2 {
			if slices.Contains(fields, n.Content[i].Value) {
				k++
			}
		}
		if k > score {
			best, score = run, k
		}
	}
	return best
}

// valueOf returns the value node of key in mapping n, or nil.
func valueOf(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// EnvEntry is one entry of a step's env list: NAME gives the step the declared
// secret NAME; NAME=VALUE gives it a plain (templated) value.
type EnvEntry struct {
	Name  string
	Value *Template // nil for a secret
	Pos   Pos
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func decodeEnv(p *problems, n *yaml.Node, stepID string) []EnvEntry {
	var out []EnvEntry
	for _, e := range p.list(n, "step "+stepID+": env") {
		s := p.str(e, "env entry")
		name, val, hasVal := strings.Cut(s, "=")
		if !envNameRE.MatchString(name) {
			p.add(posOf(e), "step %s: env entry %q must be NAME (a declared secret) or NAME=VALUE", stepID, s)
			continue
		}
		if slices.ContainsFunc(out, func(x EnvEntry) bool { return x.Name == name }) {
			p.add(posOf(e), "step %s: env %s is set twice", stepID, name)
			continue
		}
		ent := EnvEntry{Name: name, Pos: posOf(e)}
		if hasVal {
			valNode := *e
			valNode.Value = val
			ent.Value = p.template(&valNode, "step "+stepID+" env "+name)
			if ent.Value == nil {
				continue
			}
		}
		out = append(out, ent)
	}
	return out
}

// renderEnv renders env entries into plain NAME=VALUE strings and the secrets the
// step may use (name to reference), and a display form, shell-quoted except for
// the masks that stand for secrets.
func renderEnv(rc *renderContext, env []EnvEntry, out *incident.Step) (plain, display []string, err error) {
	for _, e := range env {
		if e.Value == nil {
			if out.Secrets == nil {
				out.Secrets = map[string]string{}
			}
			out.Secrets[e.Name] = rc.secrets[e.Name]
			display = append(display, e.Name+"="+SecretMask)
			continue
		}
		v, err := e.Value.render(rc.data)
		if err != nil {
			return nil, nil, fmt.Errorf("env %s: %w", e.Name, err)
		}
		plain = append(plain, e.Name+"="+v)
		display = append(display, incident.ShellQuote([]string{e.Name + "=" + v}))
	}
	return plain, display, nil
}

// SecretMask stands for a secret's value wherever a step is shown.
const SecretMask = "<secret>"

// secretRefRE finds ${NAME} references to secrets in http fields.
var secretRefRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

func envTemplates(env []EnvEntry) []*Template {
	var out []*Template
	for _, e := range env {
		if e.Value != nil {
			out = append(out, e.Value)
		}
	}
	return out
}

// renderContext is what step types render against.
type renderContext struct {
	data    map[string]any    // template data: params, labels, incident
	secrets map[string]string // declared secret name -> reference
}

func marshalSpec(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		// Specs are plain structs of strings, numbers and durations.
		panic(fmt.Sprintf("runbooks: marshal step spec: %v", err))
	}
	return b
}
