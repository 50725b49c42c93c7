// Package activities holds every Temporal activity Vigil runs: the side of an
// incident that touches the world (chat, the store, runbook steps, analysis). One
// Activities struct carries the dependencies; workflows call its methods through a
// nil pointer (var a *Activities; workflow.ExecuteActivity(ctx, a.PostMessage, in)).
//
// Every activity is idempotent by a key chosen by the workflow, so a retry after a
// timeout or crash repeats nothing a human can see.
package activities

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/runbooks"
	"github.com/vigilops/vigil/store"
)

// Store is the part of the store activities use.
type Store interface {
	SaveIncident(ctx context.Context, inc incident.Incident, version int64) error
	AppendAudit(ctx context.Context, e audit.Entry) (audit.Record, error)
	AppendAudits(ctx context.Context, es []audit.Entry) ([]audit.Record, error)
	StepRun(ctx context.Context, key string) (store.StepRun, error)
	StartStep(ctx context.Context, key, incidentID, runID, stepID string, now time.Time) error
	FinishStep(ctx context.Context, key string, res incident.StepResult) error
}

// Library is the runbook library as activities see it: the current set, which may
// be reloaded while Vigil runs.
type Library interface {
	Current() *runbooks.Library
}

// StepRunner executes one rendered step of a run.
type StepRunner interface {
	Run(ctx context.Context, run incident.RunRef, s incident.Step) incident.StepResult
}

// Activities are Vigil's activities and their dependencies.
type Activities struct {
	Store    Store
	Chat     bot.Surface
	Runbooks Library
	// Groups maps approver group names to user ids (from configuration).
	Groups map[string][]string
	// Dependencies are the services' calls as [caller, callee] pairs (from the
	// service catalogue), for root-cause ranking.
	Dependencies [][2]string
	Steps        StepRunner
	Logger       *slog.Logger
}

// PostInput is a message to post or edit.
type PostInput struct {
	IncidentID string
	Key        string // the message's identity in the thread; reposting a key edits it
	Message    bot.Message
}

// PostMessage posts (or edits, for a key posted before) a thread message.
func (a *Activities) PostMessage(ctx context.Context, in PostInput) error {
	return a.Chat.Post(ctx, in.IncidentID, in.Key, in.Message)
}

// PostMessages posts several thread messages in order. Run as an activity,
// it posts one at a time, stopping at the first that fails, and heartbeats how
// many are posted, so a retry resumes after those and a slow surface (Slack's
// rate limits) is not asked again for what it already has. Run as a local
// activity (no slow surface), it posts them all in one write where the
// surface can. Every post is idempotent by its key, so one repeated edits the
// message, changing nothing a reader sees.
func (a *Activities) PostMessages(ctx context.Context, in []PostInput) error {
	if activity.GetInfo(ctx).IsLocalActivity { // local activities cannot heartbeat
		posts := make([]bot.Post, len(in))
		for i, p := range in {
			posts[i] = bot.Post{IncidentID: p.IncidentID, Key: p.Key, Message: p.Message}
		}
		if err := bot.PostAll(ctx, a.Chat, posts); err != nil {
			return fmt.Errorf("post %d messages: %w", len(in), err)
		}
		return nil
	}
	var done int
	if activity.HasHeartbeatDetails(ctx) && activity.GetHeartbeatDetails(ctx, &done) != nil {
		done = 0 // progress unreadable: post them all again, which edits
	}
	for i := done; i < len(in); i++ {
		p := in[i]
		if err := a.Chat.Post(ctx, p.IncidentID, p.Key, p.Message); err != nil {
			return fmt.Errorf("post %s of %s: %w", p.Key, p.IncidentID, err)
		}
		activity.RecordHeartbeat(ctx, i+1)
	}
	return nil
}

// SaveInput is a projection to save.
type SaveInput struct {
	Incident incident.Incident
	Version  int64 // grows with every save of the incident
}

// SaveIncident stores the incident projection the API and console read.
func (a *Activities) SaveIncident(ctx context.Context, in SaveInput) error {
	return a.Store.SaveIncident(ctx, in.Incident, in.Version)
}

// SyncInput is one transition of an incident: its root message and its
// projection.
type SyncInput struct {
	Summary PostInput
	Save    SaveInput
}

// SyncIncident edits the thread's root message, then saves the projection:
// what PostMessage and SaveIncident do, in one activity, so a transition costs
// the workflow one local activity instead of two. Both halves are idempotent.
func (a *Activities) SyncIncident(ctx context.Context, in SyncInput) error {
	if err := a.PostMessage(ctx, in.Summary); err != nil {
		return err
	}
	return a.SaveIncident(ctx, in.Save)
}

// AuditInput is an act to record.
type AuditInput struct {
	Key        string // unique per act; a retried append records once
	IncidentID string
	At         time.Time
	Actor      string
	Action     string
	Details    map[string]any
}

// Audit appends a record to the hash-chained audit trail.
func (a *Activities) Audit(ctx context.Context, in AuditInput) error {
	_, err := a.Store.AppendAudit(ctx, in.entry())
	return err
}

// AuditMany appends records to the audit trail in order, in one commit. Each is
// idempotent by its own key, so a retried activity records each once.
func (a *Activities) AuditMany(ctx context.Context, in []AuditInput) error {
	es := make([]audit.Entry, len(in))
	for i, r := range in {
		es[i] = r.entry()
	}
	_, err := a.Store.AppendAudits(ctx, es)
	return err
}

func (in AuditInput) entry() audit.Entry {
	return audit.Entry{Key: in.Key, Incident: in.IncidentID, At: in.At, Actor: in.Actor, Action: in.Action, Details: in.Details}
}
