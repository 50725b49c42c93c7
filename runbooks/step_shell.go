package runbooks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigilops/vigil/incident"
)

// ShellStep runs a program: command is an argv list, never passed through a shell
// (write [sh, -c, 'script "$1"', sh, "{{ .params.x }}"] when you need one, and pass
// values as arguments, not inside the script).
//
//	steps:
//	  - id: restart
//	    run: shell
//	    command: [systemctl, restart, "{{ .params.unit }}"]
//	    dir: /var/lib/app          # working directory (optional)
//	    env: [DB_PASSWORD, "MODE={{ .params.mode }}"]
type ShellStep struct {
	Command []*Template
	Dir     *Template
	Env     []EnvEntry

	commandPos  Pos
	commandList bool // command was given as a list (possibly empty)
}

// ShellSpec is a shell step's rendered fields beyond its argv.
type ShellSpec struct {
	Dir string   `json:"dir,omitempty"`
	Env []string `json:"env,omitempty"` // NAME=VALUE, plain values only
}

var (
	_ StepType  = (*ShellStep)(nil)
	_ Validator = (*ShellStep)(nil)
	_ envUser   = (*ShellStep)(nil)
)

func (*ShellStep) options() []string { return execOptions }
func (*ShellStep) fields() []string  { return []string{"command", "dir", "env"} }

func (t *ShellStep) decode(p *problems, f map[string]*yaml.Node, s *Step) {
	t.commandPos = s.Pos
	if c := f["command"]; c != nil {
		t.commandPos = posOf(c)
		if c.Kind == yaml.SequenceNode {
			t.Command, t.commandList = p.templates(c, "step "+s.ID), true
		} else {
			p.add(posOf(c), "step %s: command must be a non-empty argv list, e.g. [systemctl, restart, nginx]; it is never run through a shell", s.ID)
		}
	} else {
		p.add(s.Pos, "step %s is missing \"command\" (an argv list, e.g. [systemctl, restart, nginx])", s.ID)
	}
	t.Dir = p.template(f["dir"], "step "+s.ID+" dir")
	if e := f["env"]; e != nil {
		t.Env = decodeEnv(p, e, s.ID)
	}
}

// Validate checks that the argv is not empty and its program is not a template,
// so the plan always says which program runs.
func (t *ShellStep) Validate() error {
	var p problems
	if t.commandList && len(t.Command) == 0 {
		p.add(t.commandPos, "command must be a non-empty argv list, e.g. [systemctl, restart, nginx]; it is never run through a shell")
	} else if c := first(t.Command); c != nil && strings.Contains(c.Raw, "{{") {
		p.add(c.Pos, "the program (first element of command) must be written out, not templated, so a plan always says what runs")
	}
	return p.err()
}

func (t *ShellStep) templates() []*Template {
	return append(append([]*Template{t.Dir}, t.Command...), envTemplates(t.Env)...)
}

func (t *ShellStep) envEntries() []EnvEntry { return t.Env }

func (t *ShellStep) render(rc *renderContext, out *incident.Step) error {
	argv, spec, display, err := renderShell(rc, t.Command, t.Dir, t.Env, out)
	if err != nil {
		return err
	}
	out.Command = argv
	if spec.Dir != "" || len(spec.Env) > 0 {
		out.Spec = marshalSpec(spec)
	}
	out.Display = display
	return nil
}

// renderShell renders an argv with its working directory and environment; shell
// steps and shell checks share it.
func renderShell(rc *renderContext, command []*Template, dir *Template, env []EnvEntry, out *incident.Step) ([]string, ShellSpec, string, error) {
	argv := make([]string, len(command))
	for i, a := range command {
		v, err := a.render(rc.data)
		if err != nil {
			return nil, ShellSpec{}, "", fmt.Errorf("argument %d: %w", i+1, err)
		}
		argv[i] = v
	}
	var spec ShellSpec
	var err error
	if spec.Dir, err = dir.render(rc.data); err != nil {
		return nil, ShellSpec{}, "", fmt.Errorf("dir: %w", err)
	}
	plain, shown, err := renderEnv(rc, env, out)
	if err != nil {
		return nil, ShellSpec{}, "", err
	}
	spec.Env = plain
	display := incident.ShellQuote(argv)
	if len(shown) > 0 {
		display = "env " + strings.Join(shown, " ") + " " + display
	}
	if spec.Dir != "" {
		display += "  (in " + spec.Dir + ")"
	}
	return argv, spec, display, nil
}

// Shell runs shell steps and shell checks: argv is executed directly, never
// through a shell, in its own process group so a timeout kills everything the
// step started.
type Shell struct {
	// MaxOutput caps the captured combined stdout+stderr (default DefaultMaxOutput);
	// the rest is counted and dropped.
	MaxOutput int
	// Env is the base environment of every step. Nil gives PATH, HOME and LANG from
	// Vigil's own environment and nothing else, so Vigil's secrets never leak into
	// steps by accident. A step's env entries and secrets are added to it.
	Env []string
}

// DefaultMaxOutput caps the combined output kept from one step.
const DefaultMaxOutput = 64 << 10

func (x Shell) maxOutput() int {
	if x.MaxOutput > 0 {
		return x.MaxOutput
	}
	return DefaultMaxOutput
}

// run executes argv until it exits or ctx is done. ctx carries the step's deadline.
func (x Shell) run(ctx context.Context, argv []string, spec ShellSpec, r *stepRun) outcome {
	if len(argv) == 0 {
		return outcome{exit: -1, err: "step has no command"}
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = spec.Dir
	cmd.Env = x.Env
	if cmd.Env == nil {
		cmd.Env = baseEnv()
	}
	cmd.Env = append(append(cmd.Env, spec.Env...), r.secretEnv()...)
	out := r.newOutput(x.maxOutput())
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second

	err := cmd.Run()
	o := outcome{out: out}
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		o.exit, o.err = -1, r.ctxError(ctx, " and was killed")
	case errors.As(err, &exitErr):
		o.exit = exitErr.ExitCode()
		o.err = fmt.Sprintf("exited with status %d", o.exit)
	case err != nil:
		o.exit, o.err = -1, err.Error()
	default:
		o.ok = true
	}
	return o
}

func baseEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "LANG"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func first[T any](s []*T) *T {
	if len(s) == 0 {
		return nil
	}
	return s[0]
}
