package runbooks

import (
	"context"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigilops/vigil/incident"
)

// WaitStep pauses the run, e.g. to let a restarted service settle before a check.
//
//	steps:
//	  - id: settle
//	    run: wait
//	    duration: 30s
//
// A wait lasts exactly its duration (it has no timeout), is cancelled by an abort,
// and is safe to repeat after a crash.
type WaitStep struct {
	Duration time.Duration
}

// WaitSpec is a rendered wait step.
type WaitSpec struct {
	Duration time.Duration `json:"duration"`
}

var _ StepType = (*WaitStep)(nil)

func (*WaitStep) options() []string { return nil }
func (*WaitStep) fields() []string  { return []string{"duration"} }

// maxWait bounds a wait step: a longer pause belongs in the workflow, not a step.
const maxWait = time.Hour

func (t *WaitStep) decode(p *problems, f map[string]*yaml.Node, s *Step) {
	d := f["duration"]
	if d == nil {
		p.add(s.Pos, "step %s is missing \"duration\" (e.g. 30s)", s.ID)
		return
	}
	t.Duration = p.duration(d, "step "+s.ID+": duration")
	if t.Duration > maxWait {
		p.add(posOf(d), "step %s: duration %s is longer than %s; split the runbook instead", s.ID, t.Duration, maxWait)
	}
	s.Timeout, s.Idempotent = t.Duration, true
}

func (t *WaitStep) templates() []*Template { return nil }

func (t *WaitStep) render(_ *renderContext, out *incident.Step) error {
	out.Spec = marshalSpec(WaitSpec{Duration: t.Duration})
	out.Display = "wait " + incident.FormatDuration(t.Duration)
	return nil
}

func runWait(ctx context.Context, s incident.Step, r *stepRun) outcome {
	var spec WaitSpec
	if err := unmarshalSpec(s, &spec); err != nil {
		return outcome{exit: -1, err: err.Error()}
	}
	t := time.NewTimer(spec.Duration)
	defer t.Stop()
	select {
	case <-t.C:
		return outcome{ok: true, out: r.text("waited %s\n", spec.Duration)}
	case <-ctx.Done():
		return outcome{exit: -1, err: "cancelled"}
	}
}
