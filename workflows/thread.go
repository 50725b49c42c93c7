package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/vigilops/vigil/activities"
	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/bot"
)

// The thread and the record: posts, the projection and the audit trail.

// sync derives the status, edits the thread's root message and saves the
// projection: since v0.2.0 in one local activity, before that in two.
func (r *incidentRun) sync(ctx workflow.Context) error {
	r.inc().RefreshStatus(r.active != nil)
	inc := r.inc()
	inc.UpdatedAt = workflow.Now(ctx)
	summary := r.message("summary", bot.Summary(inc))
	if workflow.GetVersion(ctx, changeSyncOneActivity, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		if err := workflow.ExecuteLocalActivity(ctx, a.PostMessage, summary).Get(ctx, nil); err != nil {
			return err
		}
		r.st.Version++
		return workflow.ExecuteLocalActivity(ctx, a.SaveIncident, activities.SaveInput{Incident: *inc, Version: r.st.Version}).Get(ctx, nil)
	}
	r.st.Version++
	in := activities.SyncInput{Summary: summary, Save: activities.SaveInput{Incident: *inc, Version: r.st.Version}}
	return workflow.ExecuteLocalActivity(ctx, a.SyncIncident, in).Get(ctx, nil)
}

func (r *incidentRun) post(ctx workflow.Context, key string, m bot.Message) error {
	return workflow.ExecuteLocalActivity(ctx, a.PostMessage, r.message(key, m)).Get(ctx, nil)
}

func (r *incidentRun) message(key string, m bot.Message) activities.PostInput {
	return activities.PostInput{IncidentID: r.inc().ID, Key: key, Message: m}
}

// maxBatch bounds the items one batched activity carries, so its input stays
// well under Temporal's payload size limit however many alerts arrive at once.
const maxBatch = 100

// postAll posts messages in order with one PostMessages activity per maxBatch.
// Each post keeps the time it would have had as an activity of its own: the
// activity may run that long per message, and must heartbeat after each.
func (r *incidentRun) postAll(ctx workflow.Context, posts []activities.PostInput) error {
	for batch := range slices.Chunk(posts, maxBatch) {
		if !r.policy.SlowChat {
			if err := workflow.ExecuteLocalActivity(ctx, a.PostMessages, batch).Get(ctx, nil); err != nil {
				return err
			}
			continue
		}
		opts := workflow.GetActivityOptions(ctx)
		opts.HeartbeatTimeout = opts.StartToCloseTimeout
		opts.StartToCloseTimeout *= time.Duration(len(batch))
		if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), a.PostMessages, batch).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

func (r *incidentRun) note(ctx workflow.Context, title, text string) error {
	r.st.Notes++
	return r.post(ctx, fmt.Sprintf("note-%d", r.st.Notes), bot.Status(title, text))
}

func (r *incidentRun) audit(ctx workflow.Context, actor string, d audit.Details) error {
	in, err := r.auditInput(workflow.Now(ctx), auditRecord{actor, d})
	if err != nil {
		return err
	}
	return workflow.ExecuteLocalActivity(ctx, a.Audit, in).Get(ctx, nil)
}

// auditRecord is an act to audit, before it is numbered.
type auditRecord struct {
	actor   string
	details audit.Details
}

// auditAll audits records in order with one AuditMany activity per maxBatch.
// Each record is numbered (its idempotency key) as audit would number it.
func (r *incidentRun) auditAll(ctx workflow.Context, recs []auditRecord) error {
	now := workflow.Now(ctx)
	for batch := range slices.Chunk(recs, maxBatch) {
		in := make([]activities.AuditInput, len(batch))
		for i, rec := range batch {
			var err error
			if in[i], err = r.auditInput(now, rec); err != nil {
				return err
			}
		}
		if err := workflow.ExecuteLocalActivity(ctx, a.AuditMany, in).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// auditInput numbers the incident's next audit record.
func (r *incidentRun) auditInput(at time.Time, rec auditRecord) (activities.AuditInput, error) {
	details, err := audit.Fields(rec.details)
	if err != nil {
		return activities.AuditInput{}, err
	}
	r.st.Audits++
	return activities.AuditInput{
		Key: fmt.Sprintf("%s/%d", r.inc().ID, r.st.Audits), IncidentID: r.inc().ID, At: at,
		Actor: rec.actor, Action: rec.details.Action(), Details: details,
	}, nil
}
