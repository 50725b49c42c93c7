package activities

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/store"
)

// Outcomes is the part of the store that remembers how runbooks fared. It is an
// optional capability of Activities.Store, found by type assertion: a store
// without it records nothing and proposals carry no history.
type Outcomes interface {
	RecordOutcome(ctx context.Context, o store.Outcome) error
	OutcomeStats(ctx context.Context, runbookID, service string) (store.OutcomeStats, error)
}

// OutcomeInput is how one runbook fared in one incident.
type OutcomeInput struct {
	IncidentID string
	RunbookID  string
	Service    string // the service the proposal was made for (its alert's service label)
	Outcome    string // incident.OutcomeSucceeded, incident.OutcomeFailed or incident.OutcomeRejected
	Revision   string // the proposal's runbook revision
}

// RecordOutcome stores a runbook's outcome for ranking later proposals. It is
// idempotent by incident and runbook: a retry, or a later outcome for the same
// pair, replaces the earlier record.
func (a *Activities) RecordOutcome(ctx context.Context, in OutcomeInput) error {
	o, ok := a.Store.(Outcomes)
	if !ok {
		return temporal.NewNonRetryableApplicationError("this store does not record runbook outcomes", "OutcomesUnsupported", nil)
	}
	switch in.Outcome {
	case incident.OutcomeSucceeded, incident.OutcomeFailed, incident.OutcomeRejected:
	default:
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("outcome %q of %s in %s must be succeeded, failed or rejected", in.Outcome, in.RunbookID, in.IncidentID), "BadOutcome", nil)
	}
	return o.RecordOutcome(ctx, store.Outcome{
		IncidentID: in.IncidentID, RunbookID: in.RunbookID, Service: in.Service,
		Outcome: in.Outcome, Revision: in.Revision, At: time.Now(),
	})
}

// history describes a runbook's past outcomes on a service (every service when
// service is empty) for the thread, and scores them for ranking: the Laplace
// estimate (succeeded+1)/(outcomes+2), so a runbook with no history scores 0.5,
// above one that mostly failed or was rejected and below one that mostly worked.
func (a *Activities) history(ctx context.Context, runbookID, service string) (score float64, text string, err error) {
	o, ok := a.Store.(Outcomes)
	if !ok {
		return 0.5, "", nil
	}
	st, err := o.OutcomeStats(ctx, runbookID, service)
	if err != nil {
		return 0, "", err
	}
	score = float64(st.Succeeded+1) / float64(st.Runs()+st.Rejected+2)
	on := ""
	if service != "" {
		on = " on " + service
	}
	switch {
	case st.Runs() > 0:
		text = fmt.Sprintf("%d of %d past runs%s succeeded", st.Succeeded, st.Runs(), on)
	case st.Rejected > 0:
		text = "never run" + on
	}
	if st.Rejected > 0 {
		text += fmt.Sprintf("; rejected %d %s before", st.Rejected, plural(st.Rejected, "time", "times"))
	}
	return score, text, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
