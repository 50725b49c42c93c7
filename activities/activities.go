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
	"log/slog"
	"time"

	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/runbooks"
	"github.com/vigilops/vigil/store"
)

// Store is the part of the store activities use.
type Store interface {
	SaveIncident(ctx context.Context, inc incident.Incident, version int64) error
	AppendAudit(ctx context.Context, e store.AuditEntry) (store.AuditRecord, error)
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

// SaveInput is a projection to save.
type SaveInput struct {
	Incident incident.Incident
	Version  int64 // grows with every save of the incident
}

// SaveIncident stores the incident projection the API and console read.
func (a *Activities) SaveIncident(ctx context.Context, in SaveInput) error {
	return a.Store.SaveIncident(ctx, in.Incident, in.Version)
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
	_, err := a.Store.AppendAudit(ctx, store.AuditEntry{
		Key: in.Key, Incident: in.IncidentID, At: in.At, Actor: in.Actor, Action: in.Action, Details: in.Details,
	})
	return err
}
