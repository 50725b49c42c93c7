package activities

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/store"
)

// RunStepInput is one attempt of one step of a remediation run.
type RunStepInput struct {
	IncidentID string
	RunID      string
	// Key identifies this attempt durably (run/step, run/step#2, run/rollback/step).
	Key  string
	Step incident.Step
	// Rerun says a human chose to run an interrupted step again.
	Rerun bool
}

// HeartbeatInterval is how often a running step heartbeats; workflows set the
// heartbeat timeout to a few intervals so a dead worker is noticed quickly.
const HeartbeatInterval = 2 * time.Second

// RunStep runs a step attempt at most once. It durably records "started" before
// the process starts and the result after it ends. A retry that finds a result
// returns it without running again; a retry that finds "started" without a result
// means the worker died mid-step: the step is reported interrupted and not re-run,
// because re-running a command with side effects is a human's call, unless the
// step is marked idempotent or a human chose to re-run it (Rerun).
func (a *Activities) RunStep(ctx context.Context, in RunStepInput) (incident.StepResult, error) {
	key := cmp.Or(in.Key, in.RunID+"/"+in.Step.ID)
	prev, err := a.Store.StepRun(ctx, key)
	switch {
	case err == nil && prev.Result != nil && !in.Rerun:
		return *prev.Result, nil
	case err == nil && !in.Rerun && !in.Step.Idempotent:
		return incident.StepResult{
			StepID: in.Step.ID, Command: in.Step.Command, Status: incident.StepInterrupted, ExitCode: -1,
			Error:     fmt.Sprintf("interrupted: the step started at %s but Vigil stopped before it finished; it was not re-run", prev.StartedAt.UTC().Format(time.RFC3339)),
			StartedAt: prev.StartedAt, FinishedAt: time.Now().UTC(),
		}, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return incident.StepResult{}, err
	}
	if err := a.Store.StartStep(ctx, key, in.IncidentID, in.RunID, in.Step.ID, time.Now()); err != nil {
		return incident.StepResult{}, err
	}

	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTicker(HeartbeatInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	res := a.Steps.Run(ctx, incident.RunRef{IncidentID: in.IncidentID, RunID: in.RunID}, in.Step)
	if err := a.Store.FinishStep(context.WithoutCancel(ctx), key, res); err != nil {
		// The step ran but its result is not recorded; a retry would see it as
		// interrupted, which is the truth as far as anyone can prove.
		return incident.StepResult{}, temporal.NewApplicationErrorWithCause("record step result", "StepResultNotRecorded", err)
	}
	return res, nil
}
