package workflows

import (
	"cmp"
	"time"

	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/workflows/contract"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/vigilops/vigil/activities"
	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/incident"
)

// a is the nil receiver through which workflows name activities.
var a *activities.Activities

// Actors of system acts in the audit trail.
const (
	actorVigil     = "system:vigil"
	actorIngest    = "system:ingest"
	actorTimer     = "system:timer"
	actorAutonomy  = "system:autonomy"
	actorCorrelate = "system:correlate"
)

// DefaultMaxHistory is the history length past which an incident continues as new
// even if Temporal has not suggested it yet.
const DefaultMaxHistory = 10000

// incidentRun is one IncidentWorkflow run's state.
type incidentRun struct {
	st        contract.IncidentState
	policy    contract.IncidentPolicy
	active    *incident.Proposal // the proposal whose remediation is running
	runID     string
	wake      bool             // a handler changed a deadline; recompute
	reanalyze bool             // input answers arrived; render proposals again
	merges    []incident.Event // merge notices received and not yet acted on
}

func (r *incidentRun) inc() *incident.Incident { return &r.st.Incident }

// IncidentWorkflow is one incident from detection to resolution. It posts the
// thread (summary, evidence, candidates, proposals), waits for decisions and acts
// through updates, escalates when nobody acks or decides in time, runs approved
// runbooks as child RemediationWorkflows, and resolves when a remediation succeeds,
// every alert has resolved, or a human resolves it. Every transition is audited
// before it takes effect and saved to the store's projection.
func IncidentWorkflow(ctx workflow.Context, in contract.IncidentInput) (incident.Incident, error) {
	fresh := in.State == nil
	var r *incidentRun
	if fresh {
		r = newIncidentRun(in, workflow.Now(ctx))
	} else {
		r = &incidentRun{policy: in.Policy, st: *in.State}
	}
	ctx = withActivityDefaults(ctx)
	if err := r.register(ctx); err != nil {
		return *r.inc(), err
	}
	alerts := workflow.GetSignalChannel(ctx, contract.SignalAlerts)

	if fresh {
		// SignalWithStart delivers the first batch before the first workflow task.
		changed := r.receive(alerts)
		r.inc().DateFromAlerts()
		if err := r.post(ctx, "summary", bot.Summary(r.inc())); err != nil {
			return *r.inc(), err
		}
		opened := auditRecord{actorIngest, audit.Opened{Title: r.inc().Title, Group: r.inc().GroupLabels, Alerts: len(r.inc().Alerts)}}
		if err := r.afterAlerts(ctx, changed, opened); err != nil {
			return *r.inc(), err
		}
	}

	for {
		if r.continueAsNew(ctx) && alerts.Len() == 0 && len(r.st.Pending) == 0 && workflow.AllHandlersFinished(ctx) {
			in.State = &r.st
			return *r.inc(), workflow.NewContinueAsNewError(ctx, IncidentWorkflow, in)
		}
		ready := func() bool {
			return alerts.Len() > 0 || len(r.st.Pending) > 0 || r.wake || r.reanalyze ||
				(r.continueAsNew(ctx) && workflow.AllHandlersFinished(ctx))
		}
		if deadline, ok := r.nextDeadline(); ok {
			if wait := deadline.Sub(workflow.Now(ctx)); wait > 0 {
				if _, err := workflow.AwaitWithTimeout(ctx, wait, ready); err != nil {
					return *r.inc(), err
				}
			}
		} else if err := workflow.Await(ctx, ready); err != nil {
			return *r.inc(), err
		}
		r.wake = false
		if alerts.Len() > 0 {
			if err := r.afterAlerts(ctx, r.receive(alerts)); err != nil {
				return *r.inc(), err
			}
		}
		if r.reanalyze {
			r.reanalyze = false
			if err := r.analyze(ctx); err != nil {
				return *r.inc(), err
			}
			if err := r.sync(ctx); err != nil {
				return *r.inc(), err
			}
		}
		if err := r.fireDeadlines(ctx); err != nil {
			return *r.inc(), err
		}
		if err := r.actOnDecisions(ctx); err != nil {
			return *r.inc(), err
		}
		// Finish only when nothing is left to handle; a signal arriving now fails
		// the completion and replays into the loop, which may reopen the incident.
		if r.inc().Status == incident.StatusResolved && alerts.Len() == 0 && len(r.st.Pending) == 0 {
			break
		}
	}
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return *r.inc(), err
	}
	r.seal(ctx)
	return *r.inc(), nil
}

// newIncidentRun is the state of a new incident's first run, started now.
func newIncidentRun(in contract.IncidentInput, now time.Time) *incidentRun {
	return &incidentRun{policy: in.Policy, st: contract.IncidentState{Started: now, Incident: incident.Open(in.ID, in.Key, in.GroupLabels, now)}}
}

func (r *incidentRun) register(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, contract.QueryState, func() (incident.Incident, error) { return *r.inc(), nil }); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, contract.UpdateDecide, r.decide,
		workflow.UpdateHandlerOptions{Validator: r.validateDecide}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, contract.UpdateInput, r.input,
		workflow.UpdateHandlerOptions{Validator: r.validateInput}); err != nil {
		return err
	}
	for _, act := range contract.Acts {
		err := workflow.SetUpdateHandlerWithOptions(ctx, act,
			func(ctx workflow.Context, req contract.ActRequest) (contract.Answer, error) {
				return r.act(ctx, act, req)
			},
			workflow.UpdateHandlerOptions{Validator: func(req contract.ActRequest) error { return r.validateAct(act, req) }})
		if err != nil {
			return err
		}
	}
	return nil
}

// continueAsNew reports whether history has grown enough to start afresh.
func (r *incidentRun) continueAsNew(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	limit := cmp.Or(r.policy.MaxHistory, DefaultMaxHistory)
	return info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() >= limit
}

// withActivityDefaults sets the options of activities and of local
// activities. Short, idempotent acts on Vigil's own store and the thread
// (audit records, saves, single posts, ranking, proposing) run as local
// activities: in the worker, inside the workflow task, with their results
// recorded in its completion. That spares Temporal a task dispatch and three
// history writes each, which during a storm of hundreds of incidents is what
// kept a new incident's first post waiting behind every other incident's
// bookkeeping. Runbook steps, model calls and batches of posts stay activities.
func withActivityDefaults(ctx workflow.Context) workflow.Context {
	retry := &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute}
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second, RetryPolicy: retry,
	})
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second, RetryPolicy: retry})
}
