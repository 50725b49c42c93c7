package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/vigilops/vigil/activities"
	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/incident"
)

// rv is the nil receiver through which workflows name the review activities.
var rv *activities.Review

// bounded runs activities that are worth a few tries but must never hold the
// incident hostage: filing a postmortem, sealing, recording outcomes.
func bounded(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second, MaximumAttempts: 5,
		},
	})
}

// recordOutcome stores how a proposal ended, for ranking later proposals of its
// runbook on its service. A failure to record is logged, not fatal: ranking is
// advice, the incident is what matters.
func (r *incidentRun) recordOutcome(ctx workflow.Context, p *incident.Proposal, outcome string) {
	err := workflow.ExecuteActivity(bounded(ctx), a.RecordOutcome, activities.OutcomeInput{
		IncidentID: r.inc().ID, RunbookID: p.RunbookID, Service: p.Service, Outcome: outcome, Revision: p.Revision,
	}).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Warn("runbook outcome not recorded", "proposal", p.ID, "error", err)
	}
}

// outcomeOf maps a finished run to the outcome kept for ranking.
func outcomeOf(s incident.ProposalStatus) string {
	if s == incident.ProposalSucceeded {
		return incident.OutcomeSucceeded
	}
	return incident.OutcomeFailed
}

// postmortem posts the postmortem draft to the thread (sealing the incident's
// audit records so far) and files it as a GitHub issue where configured. A
// failure to file is said in the thread; it never keeps the incident open.
func (r *incidentRun) postmortem(ctx workflow.Context) error {
	var res activities.PostmortemResult
	err := workflow.ExecuteActivity(bounded(ctx), rv.Postmortem, activities.PostmortemInput{Incident: *r.inc()}).Get(ctx, &res)
	if err != nil {
		return r.note(ctx, "Postmortem draft not filed", fmt.Sprintf("The postmortem draft could not be filed: %v. It can be written with `vigil timeline %s`.", err, r.inc().ID))
	}
	return r.audit(ctx, actorVigil, audit.Postmortem{IssueURL: res.IssueURL, Signed: res.Checkpoint.Signed, Checkpoint: res.Checkpoint.Checkpoint.N})
}

// seal signs an incident checkpoint over every audit record of the incident as
// it closes, so a later change to them is caught by verification.
func (r *incidentRun) seal(ctx workflow.Context) {
	ctx = withActivityDefaults(ctx)
	if err := workflow.ExecuteActivity(bounded(ctx), rv.Checkpoint, activities.CheckpointInput{IncidentID: r.inc().ID}).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("incident audit records not sealed at close", "error", err)
	}
}

// as is the nil receiver through which workflows name the assistant's activities.
var as *activities.Assist

// brief asks for the incident's brief after each analysis: a model-written
// summary when the assistant is on and its answer checks out, Vigil's own
// otherwise, saying why. The thread shows the latest under one key. The brief
// is advice: a failure to get one is logged, never fatal, and nothing in it can
// approve or run anything.
func (r *incidentRun) brief(ctx workflow.Context) error {
	r.st.Briefs++
	bctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 3},
	})
	in := activities.BriefInput{Key: fmt.Sprintf("%s/brief/%d", r.inc().ID, r.st.Briefs), Incident: *r.inc()}
	var res activities.BriefResult
	var err error
	if r.policy.ModelBriefs {
		err = workflow.ExecuteActivity(bctx, as.BriefIncident, in).Get(ctx, &res)
	} else {
		err = workflow.ExecuteLocalActivity(ctx, as.BriefIncident, in).Get(ctx, &res)
	}
	if err != nil {
		workflow.GetLogger(ctx).Warn("incident brief failed", "error", err)
		return nil
	}
	return r.post(ctx, "brief", res.Message)
}
