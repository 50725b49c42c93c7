package contract

import (
	"context"
	"errors"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/vigilops/vigil/incident"
)

// Refusal types. Validators reject with a temporal ApplicationError of one of
// these types; surfaces map them to their own answers (HTTP status codes).
const (
	RefusedBadRequest = "BadRequest"
	RefusedForbidden  = "Forbidden"
	RefusedNotFound   = "NotFound"
	RefusedConflict   = "Conflict"
)

// ErrIncidentClosed means the incident's workflow has finished, so it takes no more
// events or decisions.
var ErrIncidentClosed = errors.New("incident workflow has finished")

// Client is the part of Vigil that talks to Temporal on behalf of ingest and the
// chat surfaces.
type Client struct {
	Temporal  client.Client
	TaskQueue string
}

// Deliver signals a batch of events to an incident, starting its workflow if it is
// not running. It never starts a second run of a finished incident: that returns
// ErrIncidentClosed and the caller opens a new incident instead.
func (c Client) Deliver(ctx context.Context, in IncidentInput, events []incident.Event) error {
	_, err := c.Temporal.SignalWithStartWorkflow(ctx, in.ID, SignalAlerts, AlertsSignal{Events: events},
		client.StartWorkflowOptions{
			ID:                    in.ID,
			TaskQueue:             c.TaskQueue,
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		}, WorkflowIncident, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return fmt.Errorf("deliver to %s: %w", in.ID, ErrIncidentClosed)
	}
	if err != nil {
		return fmt.Errorf("deliver to %s: %w", in.ID, err)
	}
	return nil
}

// Refusal is a decision the incident's policy refused, with the reason to show.
type Refusal struct {
	Kind    string // one of the Refused* constants
	Message string
}

func (r *Refusal) Error() string { return r.Message }

// Decide sends a decision to an incident and waits for the answer. A refusal by
// the approval policy is returned as a *Refusal; a finished incident as
// ErrIncidentClosed.
//
// A request with a RunID decides a gate of that remediation run instead; the run
// must belong to the incident.
func (c Client) Decide(ctx context.Context, incidentID string, req DecideRequest) (Answer, error) {
	target, err := target(incidentID, req.RunID)
	if err != nil {
		return Answer{}, err
	}
	return c.update(ctx, target, UpdateDecide, req)
}

// target is the workflow a request goes to: the incident, or one of its runs.
func target(incidentID, runID string) (string, error) {
	if runID == "" {
		return incidentID, nil
	}
	n, ok := strings.CutPrefix(runID, incidentID+"-run-")
	if !ok || n == "" || strings.Trim(n, "0123456789") != "" {
		return "", &Refusal{Kind: RefusedBadRequest, Message: fmt.Sprintf("run %q is not a run of incident %s", runID, incidentID)}
	}
	return runID, nil
}

// Input answers input params of a proposal waiting for them.
func (c Client) Input(ctx context.Context, incidentID string, req InputRequest) (Answer, error) {
	return c.update(ctx, incidentID, UpdateInput, req)
}

// update sends one update and waits for its answer, mapping policy refusals to
// *Refusal and a finished incident to ErrIncidentClosed.
func (c Client) update(ctx context.Context, incidentID, name string, arg any) (Answer, error) {
	h, err := c.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   incidentID,
		UpdateName:   name,
		Args:         []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var res Answer
	if err == nil {
		err = h.Get(ctx, &res)
	}
	var appErr *temporal.ApplicationError
	var notFound *serviceerror.NotFound
	switch {
	case err == nil:
		return res, nil
	case errors.As(err, &appErr):
		return res, &Refusal{Kind: appErr.Type(), Message: appErr.Message()}
	case errors.As(err, &notFound):
		return res, fmt.Errorf("%s on %s: %w", name, incidentID, ErrIncidentClosed)
	default:
		return res, fmt.Errorf("%s on %s: %w", name, incidentID, err)
	}
}

// Act sends a human act (one of the Act* names) to an incident and waits for the
// answer; refusals and closed incidents are reported as for Decide.
//
// ActStep answers an interrupted step of a run (req.RunID), not the incident.
func (c Client) Act(ctx context.Context, incidentID, act string, req ActRequest) (Answer, error) {
	to := incidentID
	if act == ActStep {
		if req.RunID == "" {
			return Answer{}, &Refusal{Kind: RefusedBadRequest, Message: "step needs the run_id of the interrupted step"}
		}
		var err error
		if to, err = target(incidentID, req.RunID); err != nil {
			return Answer{}, err
		}
	}
	return c.update(ctx, to, act, req)
}
