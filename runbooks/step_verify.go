package runbooks

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigilops/vigil/incident"
)

// VerifyStep polls a check until it passes or the step's timeout runs out: the
// step that proves a remediation worked.
//
//	steps:
//	  - id: healthy
//	    run: verify
//	    interval: 10s                 # default 10s between attempts
//	    timeout: 5m                   # default 5m: how long to keep trying
//	    check:
//	      http: {url: "http://{{ .labels.instance }}/healthz", expect: {status: 200}}
//	      # or shell: {command: [systemctl, is-active, --quiet, nginx]}
//
// Checks only read, so a verify step is always safe to repeat after a crash.
type VerifyStep struct {
	Interval time.Duration
	Check    check

	timeout     time.Duration
	intervalPos Pos
}

// check is one kind of probe a verify step can poll. To add a kind (metric
// queries are next): add its key and decoder to checkKinds, a field to
// VerifySpec, and a case to VerifySpec.probe.
type check interface {
	templates() []*Template
	envEntries() []EnvEntry
	render(rc *renderContext, out *incident.Step, spec *VerifySpec) error
}

var checkKinds = map[string]func(p *problems, n *yaml.Node, what string) check{
	"http": func(p *problems, n *yaml.Node, what string) check {
		f := p.fields(n, what, httpFields...)
		if f == nil {
			return nil
		}
		c := &httpCheck{decodeHTTPRequest(p, f, what, posOf(n))}
		p.merge(c.validate())
		return c
	},
	"shell": func(p *problems, n *yaml.Node, what string) check {
		f := p.fields(n, what, (*ShellStep)(nil).fields()...)
		if f == nil {
			return nil
		}
		var c shellCheck
		step := &Step{ID: strings.TrimPrefix(what, "step "), Pos: posOf(n)}
		c.decode(p, f, step)
		p.merge(c.Validate())
		return &c
	},
}

// VerifySpec is a rendered verify step: exactly one check is set.
type VerifySpec struct {
	Interval time.Duration `json:"interval"`
	HTTP     *HTTPSpec     `json:"http,omitempty"`
	Shell    *ShellCheck   `json:"shell,omitempty"`
}

// ShellCheck is a rendered shell check: it passes when the program exits 0.
type ShellCheck struct {
	Command []string `json:"command"`
	ShellSpec
}

// Defaults of verify steps.
const (
	DefaultVerifyInterval = 10 * time.Second
	DefaultVerifyTimeout  = 5 * time.Minute
	// minAttemptTimeout bounds one attempt of a check; an attempt may take up
	// to the larger of this and the interval.
	minAttemptTimeout = 10 * time.Second
)

var (
	_ StepType  = (*VerifyStep)(nil)
	_ Validator = (*VerifyStep)(nil)
	_ envUser   = (*VerifyStep)(nil)
)

func (*VerifyStep) options() []string { return []string{optTimeout, optConfirm} }
func (*VerifyStep) fields() []string  { return []string{"check", "interval"} }

func (t *VerifyStep) decode(p *problems, f map[string]*yaml.Node, s *Step) {
	if f[optTimeout] == nil {
		s.Timeout = DefaultVerifyTimeout
	}
	s.Idempotent = true
	t.timeout = s.Timeout
	t.Interval, t.intervalPos = DefaultVerifyInterval, s.Pos
	if i := f["interval"]; i != nil {
		t.intervalPos = posOf(i)
		if d := p.duration(i, "step "+s.ID+": interval"); d > 0 {
			t.Interval = d
		}
	}
	kinds := slices.Sorted(maps.Keys(checkKinds))
	c := f["check"]
	if c == nil {
		p.add(s.Pos, "step %s is missing \"check\" (one of: %s)", s.ID, strings.Join(kinds, ", "))
		return
	}
	cf := p.fields(c, "step "+s.ID+": check", kinds...)
	if cf == nil {
		return
	}
	if len(cf) != 1 {
		p.add(posOf(c), "step %s: check must have exactly one of %s", s.ID, strings.Join(kinds, ", "))
	}
	for _, k := range kinds {
		if n := cf[k]; n != nil && t.Check == nil {
			t.Check = checkKinds[k](p, n, "step "+s.ID+" check."+k)
		}
	}
}

// Validate checks that the step polls at least twice.
func (t *VerifyStep) Validate() error {
	var p problems
	if t.Interval >= t.timeout {
		p.add(t.intervalPos, "interval %s must be shorter than the step's timeout %s, or the check is tried only once", incident.FormatDuration(t.Interval), incident.FormatDuration(t.timeout))
	}
	return p.err()
}

func (t *VerifyStep) templates() []*Template {
	if t.Check == nil {
		return nil
	}
	return t.Check.templates()
}

func (t *VerifyStep) envEntries() []EnvEntry {
	if t.Check == nil {
		return nil
	}
	return t.Check.envEntries()
}

func (t *VerifyStep) render(rc *renderContext, out *incident.Step) error {
	spec := VerifySpec{Interval: t.Interval}
	if err := t.Check.render(rc, out, &spec); err != nil {
		return err
	}
	out.Spec = marshalSpec(spec)
	out.Display = fmt.Sprintf("verify every %s for up to %s: %s", incident.FormatDuration(t.Interval), incident.FormatDuration(out.Timeout), out.Display)
	return nil
}

type httpCheck struct{ httpRequest }

func (c *httpCheck) templates() []*Template { return c.httpRequest.templates() }
func (c *httpCheck) envEntries() []EnvEntry { return c.Env }
func (c *httpCheck) render(rc *renderContext, out *incident.Step, spec *VerifySpec) error {
	h, err := c.httpRequest.render(rc, out)
	if err != nil {
		return err
	}
	spec.HTTP, out.Display = &h, h.display()
	return nil
}

type shellCheck struct{ ShellStep }

func (c *shellCheck) render(rc *renderContext, out *incident.Step, spec *VerifySpec) error {
	argv, sh, display, err := renderShell(rc, c.Command, c.Dir, c.Env, out)
	if err != nil {
		return err
	}
	spec.Shell, out.Display = &ShellCheck{Command: argv, ShellSpec: sh}, display+" exits 0"
	return nil
}

// probe runs the spec's check once.
func (s VerifySpec) probe(ctx context.Context, e Executor, r *stepRun) outcome {
	switch {
	case s.HTTP != nil:
		return e.probeHTTP(ctx, *s.HTTP, r)
	case s.Shell != nil:
		return e.Shell.run(ctx, s.Shell.Command, s.Shell.ShellSpec, r)
	default:
		panic("runbooks: VerifySpec.probe without a check")
	}
}

// runVerify polls the check every interval until it passes or ctx (which carries
// the step's timeout) ends. A failure reports the last attempt that completed: an
// attempt cut short by the deadline says less than the one before it.
func (e Executor) runVerify(ctx context.Context, spec VerifySpec, r *stepRun) outcome {
	if spec.HTTP == nil && spec.Shell == nil {
		return outcome{exit: -1, err: "verify step has no check this version of Vigil knows"}
	}
	start := time.Now()
	var last outcome
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, max(spec.Interval, minAttemptTimeout))
		o := spec.probe(actx, e, r)
		cancel()
		if o.ok {
			o.out = r.prepend(o.out, fmt.Sprintf("passed on attempt %d after %s\n", attempt, time.Since(start).Round(time.Millisecond)))
			return o
		}
		if ctx.Err() == nil || attempt == 1 {
			last = o
		}
		t := time.NewTimer(spec.Interval)
		select {
		case <-ctx.Done():
			t.Stop()
			if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return outcome{exit: -1, out: last.out, err: "cancelled"}
			}
			return outcome{exit: 1, out: last.out, err: fmt.Sprintf("did not pass within %s (%d attempts); last attempt: %s", incident.FormatDuration(r.timeout), attempt, last.err)}
		case <-t.C:
		}
	}
}

// prepend puts a line before captured output.
func (r *stepRun) prepend(o *output, line string) *output {
	n := r.text("%s", line)
	if o != nil {
		_, _ = n.Write(o.buf)
		n.dropped += o.dropped
	}
	return n
}
