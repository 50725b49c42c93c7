package runbooks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/vigilops/vigil/incident"
)

// DefaultMaxOutput caps the combined output kept from one step.
const DefaultMaxOutput = 64 << 10

// Shell runs shell steps: argv is executed directly, never through a shell, in its
// own process group so a timeout kills everything the step started.
type Shell struct {
	// MaxOutput caps the captured combined stdout+stderr (default DefaultMaxOutput);
	// the rest is counted and dropped.
	MaxOutput int
	// Env is the whole environment of the step. Nil gives PATH, HOME and LANG from
	// Vigil's own environment and nothing else, so Vigil's secrets never leak into
	// steps by accident.
	Env []string
}

// Run executes one step and reports what happened. It never returns an error: a
// step that cannot start, exits non-zero or times out is a failed StepResult.
func (x Shell) Run(ctx context.Context, s incident.Step) incident.StepResult {
	res := x.run(ctx, s, time.Now())
	res.FinishedAt = time.Now().UTC()
	res.Duration = res.FinishedAt.Sub(res.StartedAt)
	return res
}

func (x Shell) run(ctx context.Context, s incident.Step, start time.Time) incident.StepResult {
	res := incident.StepResult{StepID: s.ID, Command: s.Command, StartedAt: start.UTC()}
	if len(s.Command) == 0 {
		res.Status, res.ExitCode, res.Error = incident.StepFailed, -1, "step has no command"
		return res
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultStepTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	cmd := exec.CommandContext(ctx, s.Command[0], s.Command[1:]...)
	cmd.Env = x.Env
	if cmd.Env == nil {
		cmd.Env = baseEnv()
	}
	out := &capped{max: x.MaxOutput}
	if out.max <= 0 {
		out.max = DefaultMaxOutput
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second

	err := cmd.Run()
	res.Output, res.Truncated = string(out.buf), out.dropped > 0
	var exitErr *exec.ExitError
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		res.Status, res.ExitCode = incident.StepFailed, -1
		res.Error = fmt.Sprintf("timed out after %s and was killed", timeout)
	case ctx.Err() != nil:
		res.Status, res.ExitCode = incident.StepFailed, -1
		res.Error = "cancelled"
	case errors.As(err, &exitErr):
		res.Status, res.ExitCode = incident.StepFailed, exitErr.ExitCode()
		res.Error = fmt.Sprintf("exited with status %d", res.ExitCode)
	case err != nil:
		res.Status, res.ExitCode = incident.StepFailed, -1
		res.Error = err.Error()
	default:
		res.Status = incident.StepSucceeded
	}
	return res
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

// capped keeps the first max bytes written and counts the rest.
type capped struct {
	max     int
	buf     []byte
	dropped int
}

func (c *capped) Write(p []byte) (int, error) {
	n := min(len(p), c.max-len(c.buf))
	c.buf = append(c.buf, p[:n]...)
	c.dropped += len(p) - n
	return len(p), nil
}

// Executor runs rendered steps of every type the loader accepts, dispatching on
// the step's type.
type Executor struct {
	Shell Shell
}

// Run executes one step of a run.
func (e Executor) Run(ctx context.Context, _ incident.RunRef, s incident.Step) incident.StepResult {
	switch s.Run {
	case incident.StepShell, "":
		return e.Shell.Run(ctx, s)
	default:
		now := time.Now().UTC()
		return incident.StepResult{StepID: s.ID, Status: incident.StepFailed, ExitCode: -1, StartedAt: now, FinishedAt: now,
			Error: fmt.Sprintf("step type %q cannot be executed by this version of Vigil", s.Run)}
	}
}
