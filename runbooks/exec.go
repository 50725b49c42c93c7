package runbooks

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/vigilops/vigil/config"
	"github.com/vigilops/vigil/incident"
)

// Notifier posts a notify step's text. An empty channel means the incident's own
// thread; any other value is a channel name the chat surface understands.
type Notifier interface {
	Notify(ctx context.Context, ref incident.RunRef, channel, text string) error
}

// NotifyFunc adapts a function to Notifier.
type NotifyFunc func(ctx context.Context, ref incident.RunRef, channel, text string) error

// Notify calls f.
func (f NotifyFunc) Notify(ctx context.Context, ref incident.RunRef, channel, text string) error {
	return f(ctx, ref, channel, text)
}

// Executor runs rendered steps of every type the loader accepts, dispatching on
// the step's type. The zero value runs shell, http, wait and verify steps; github
// steps need GitHub and notify steps need Notifier. Approval steps are gates the
// workflow holds: the executor refuses to run one.
//
// Every step runs within its timeout (a wait step within its duration) and stops
// when ctx is cancelled. Secret values are resolved only here, given to the step,
// and redacted from everything the result carries.
type Executor struct {
	Shell Shell
	// HTTP sends http steps and http checks; nil uses http.DefaultClient. Each
	// request is bounded by its step's timeout.
	HTTP *http.Client
	// GitHub runs github steps (see NewGitHubClient).
	GitHub *github.Client
	// Notifier posts notify steps.
	Notifier Notifier
}

// Run executes one step of a run. It never returns an error: a step that cannot
// start, fails, times out or is cancelled is a failed StepResult.
func (e Executor) Run(ctx context.Context, ref incident.RunRef, s incident.Step) incident.StepResult {
	res := incident.StepResult{StepID: s.ID, Command: s.Command, StartedAt: time.Now().UTC()}
	r, err := newStepRun(s)
	var o outcome
	if err != nil {
		o = outcome{exit: -1, err: err.Error()}
	} else {
		o = e.run(ctx, ref, s, r)
	}
	res.FinishedAt = time.Now().UTC()
	res.Duration = res.FinishedAt.Sub(res.StartedAt)
	if o.out != nil {
		res.Output = r.redact(string(o.out.buf))
		res.Truncated = o.out.dropped > 0
	}
	if limit := e.Shell.maxOutput(); len(res.Output) > limit {
		res.Output, res.Truncated = res.Output[:limit], true
	}
	res.Error = r.redact(o.err)
	res.ExitCode = o.exit
	res.Status = incident.StepFailed
	if o.ok {
		res.Status = incident.StepSucceeded
	}
	return res
}

func (e Executor) run(ctx context.Context, ref incident.RunRef, s incident.Step, r *stepRun) outcome {
	if s.Run == incident.StepWait {
		return runWait(ctx, s, r)
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	switch s.Run {
	case incident.StepShell, "":
		var spec ShellSpec
		if err := unmarshalSpec(s, &spec); err != nil {
			return outcome{exit: -1, err: err.Error()}
		}
		return e.Shell.run(ctx, s.Command, spec, r)
	case incident.StepHTTP:
		var spec HTTPSpec
		if err := unmarshalSpec(s, &spec); err != nil {
			return outcome{exit: -1, err: err.Error()}
		}
		return e.runHTTP(ctx, spec, r)
	case incident.StepVerify:
		var spec VerifySpec
		if err := unmarshalSpec(s, &spec); err != nil {
			return outcome{exit: -1, err: err.Error()}
		}
		return e.runVerify(ctx, spec, r)
	case incident.StepGitHub:
		var spec GitHubSpec
		if err := unmarshalSpec(s, &spec); err != nil {
			return outcome{exit: -1, err: err.Error()}
		}
		return e.runGitHub(ctx, spec, r)
	case incident.StepNotify:
		var spec NotifySpec
		if err := unmarshalSpec(s, &spec); err != nil {
			return outcome{exit: -1, err: err.Error()}
		}
		return e.runNotify(ctx, ref, spec, r)
	case incident.StepApproval:
		return outcome{exit: -1, err: "approval steps are gates the workflow holds until the approval policy is met; they are never executed"}
	default:
		return outcome{exit: -1, err: fmt.Sprintf("step type %q cannot be executed by this version of Vigil", s.Run)}
	}
}

func unmarshalSpec(s incident.Step, v any) error {
	if len(s.Spec) == 0 {
		return nil
	}
	if err := json.Unmarshal(s.Spec, v); err != nil {
		return fmt.Errorf("step %s: bad %s spec: %w", s.ID, s.Run, err)
	}
	return nil
}

// outcome is what one step's execution produced, before redaction.
type outcome struct {
	ok   bool
	exit int // 0 on success; a process's exit status; 1 when a check ran and failed; -1 when it could not run
	out  *output
	err  string
}

// stepRun is one execution of a step: its resolved secrets and timeout.
type stepRun struct {
	step    incident.Step
	timeout time.Duration
	secrets map[string]string // name -> value
	masks   []string          // every form of every secret value, longest first
}

func newStepRun(s incident.Step) (*stepRun, error) {
	r := &stepRun{step: s, timeout: cmp.Or(s.Timeout, DefaultStepTimeout), secrets: map[string]string{}}
	for _, name := range slices.Sorted(maps.Keys(s.Secrets)) {
		v, err := config.Secret(s.Secrets[name]).Resolve()
		if err != nil {
			return r, fmt.Errorf("secret %s: %w", name, err)
		}
		r.secrets[name] = v
		js, _ := json.Marshal(v)
		for _, m := range []string{v, url.QueryEscape(v), url.PathEscape(v), strings.Trim(string(js), `"`)} {
			if m != "" && !slices.Contains(r.masks, m) {
				r.masks = append(r.masks, m)
			}
		}
	}
	slices.SortStableFunc(r.masks, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return r, nil
}

// redact replaces every occurrence of a secret value (raw, URL-escaped or
// JSON-escaped) with a mask.
func (r *stepRun) redact(s string) string {
	if r == nil {
		return s
	}
	for _, m := range r.masks {
		s = strings.ReplaceAll(s, m, SecretMask)
	}
	return s
}

// secretEnv is NAME=value for every secret of the step, sorted by name.
func (r *stepRun) secretEnv() []string {
	var env []string
	for _, name := range slices.Sorted(maps.Keys(r.secrets)) {
		env = append(env, name+"="+r.secrets[name])
	}
	return env
}

// expand replaces ${NAME} with the value of the step's secret NAME. Other text,
// including ${X} for names the step was not given, is left alone.
func (r *stepRun) expand(s string) string {
	return secretRefRE.ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := r.secrets[m[2:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

// newOutput is a capture buffer of max bytes, plus enough to see a secret that
// starts before the cap whole, so redaction never leaves a prefix of one.
func (r *stepRun) newOutput(max int) *output {
	extra := 0
	if len(r.masks) > 0 {
		extra = len(r.masks[0])
	}
	return &output{max: max + extra}
}

func (r *stepRun) text(format string, args ...any) *output {
	o := r.newOutput(DefaultMaxOutput)
	fmt.Fprintf(o, format, args...)
	return o
}

// ctxError says why ctx ended: the step's timeout, or cancellation.
func (r *stepRun) ctxError(ctx context.Context, suffix string) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Sprintf("timed out after %s%s", r.timeout, suffix)
	}
	return "cancelled"
}

// output keeps the first max bytes written and counts the rest.
type output struct {
	max     int
	buf     []byte
	dropped int
}

func (c *output) Write(p []byte) (int, error) {
	n := min(len(p), c.max-len(c.buf))
	c.buf = append(c.buf, p[:n]...)
	c.dropped += len(p) - n
	return len(p), nil
}
