package workflows

import (
	"slices"
	"time"

	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/workflows/contract"

	"go.temporal.io/sdk/workflow"

	"github.com/vigilops/vigil/activities"
	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/incident"
)

// Evidence: folding signalled events into the incident, auditing and posting
// what changed, and acting on merge notices.

// receive applies every signal already queued and returns the ids of evidence
// that is new or changed.
func (r *incidentRun) receive(ch workflow.ReceiveChannel) []string {
	var changed []string
	for {
		var s contract.AlertsSignal
		if !ch.ReceiveAsync(&s) {
			return changed
		}
		for _, e := range s.Events {
			if e.Kind == incident.KindMerge {
				r.takeMerge(e)
				continue
			}
			if id, ok := r.inc().Apply(e); ok && !slices.Contains(changed, id) {
				changed = append(changed, id)
			}
		}
	}
}

// takeMerge queues a merge notice from correlation, once per fingerprint.
func (r *incidentRun) takeMerge(e incident.Event) {
	if !slices.Contains(r.st.Merges, e.Fingerprint) {
		r.st.Merges = append(r.st.Merges, e.Fingerprint)
		r.merges = append(r.merges, e)
	}
}

// afterAlerts records and posts what changed, re-ranks and re-proposes, and
// resolves an incident of alerts when every alert has resolved. The records in
// first are audited ahead of the evidence's. However many alerts changed, one
// activity audits them all and then one posts them all (per maxBatch), so a
// storm's batch does not cost two round trips per alert.
func (r *incidentRun) afterAlerts(ctx workflow.Context, changed []string, first ...auditRecord) error {
	inc := r.inc()
	recs := first
	var posts []activities.PostInput
	newFiring := false
	for _, id := range changed {
		if i := slices.IndexFunc(inc.Alerts, func(al incident.Alert) bool { return al.EvidenceID == id }); i >= 0 {
			al := &inc.Alerts[i]
			recs = append(recs, auditRecord{actorIngest, audit.Alert{Status: al.Status, Evidence: al.EvidenceID, Fingerprint: al.Fingerprint, Labels: al.Labels}})
			posts = append(posts, r.message("evidence-"+al.EvidenceID, bot.Evidence(al)))
			newFiring = newFiring || al.Status == incident.AlertFiring
			continue
		}
		ev := &inc.Evidence[slices.IndexFunc(inc.Evidence, func(e incident.Evidence) bool { return e.ID == id })]
		recs = append(recs, auditRecord{actorIngest, audit.Evidence{Evidence: ev.ID, Kind: ev.Kind, Fingerprint: ev.Fingerprint, Summary: ev.Summary, Labels: ev.Data}})
		posts = append(posts, r.message("evidence-"+ev.ID, bot.SignalEvidence(ev)))
	}
	if err := r.auditAll(ctx, recs); err != nil {
		return err
	}
	if err := r.postAll(ctx, posts); err != nil {
		return err
	}
	if err := r.afterMerges(ctx); err != nil {
		return err
	}
	if len(changed) == 0 {
		return nil
	}
	if inc.Status == incident.StatusResolved && newFiring {
		if err := r.audit(ctx, actorIngest, audit.Reopened{}); err != nil {
			return err
		}
		inc.ResolvedAt, inc.Reason = time.Time{}, ""
		if err := r.note(ctx, "Reopened", "An alert of this incident is firing again."); err != nil {
			return err
		}
	}
	// Any change of the evidence while the incident is live can change the
	// ranking and the rendered plans (a resolved alert no longer renders them).
	// An incident of alerts is live while one fires; one opened by other signals
	// (an anomaly, a prediction) until someone or something resolves it.
	live := inc.Firing() || (len(inc.Alerts) == 0 && inc.ResolvedAt.IsZero())
	if live {
		if err := r.analyze(ctx); err != nil {
			return err
		}
	}
	if len(inc.Alerts) > 0 && !inc.Firing() && inc.Status != incident.StatusResolved && r.active == nil {
		return r.resolve(ctx, actorIngest, "Every alert of this incident has resolved.")
	}
	return r.sync(ctx)
}

// afterMerges acts on merge notices from correlation. An incident merged into
// another resolves, saying into which and why (unless a remediation is
// running; it then only says so); the incident it merged into notes it. The
// merged incident's evidence arrives at the survivor as events of its own.
func (r *incidentRun) afterMerges(ctx workflow.Context) error {
	for len(r.merges) > 0 {
		m := r.merges[0]
		r.merges = r.merges[1:]
		into, from := m.Labels["into"], m.Labels["from"]
		if err := r.audit(ctx, actorCorrelate, audit.Merged{Into: into, From: from, Why: m.Summary}); err != nil {
			return err
		}
		if into != "" && r.inc().Status != incident.StatusResolved && r.active == nil {
			if err := r.resolve(ctx, actorCorrelate, m.Summary); err != nil {
				return err
			}
			continue
		}
		if err := r.note(ctx, "Merged", m.Summary); err != nil {
			return err
		}
	}
	return nil
}
