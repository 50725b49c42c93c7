// Package contract is Vigil's wire contract with its running workflows: the
// names of their signals, updates and queries, what each carries and answers,
// and the Client that ingest and the chat surfaces use to talk to them. It is
// small on purpose: surfaces import it, not the workflows, so they do not link
// the analyzers, the model client or Temporal's workflow runtime.
//
// Everything here is part of the history of open incidents: renaming a name
// or changing a field's meaning breaks them (see CONTRIBUTING.md).
package contract

import (
	"time"

	"github.com/vigilops/vigil/incident"
)

// Workflow type names, as registered by the worker.
const (
	WorkflowIncident    = "IncidentWorkflow"
	WorkflowRemediation = "RemediationWorkflow"
)

// Names of the signals, updates and queries of IncidentWorkflow. They are part of
// Vigil's wire contract with running workflows: renaming one breaks open incidents.
const (
	// SignalAlerts delivers a batch of events (AlertsSignal); ingest sends it with
	// SignalWithStart so the first batch also starts the incident.
	SignalAlerts = "alerts"
	// UpdateDecide approves or rejects a proposal (DecideRequest → DecideResult).
	// Its validator enforces the approval policy and answers refusals to the caller.
	UpdateDecide = "decide"
	// QueryState returns the incident (incident.Incident).
	QueryState = "state"
	// UpdateInput answers input params of a proposal waiting for them
	// (InputRequest → Answer); the proposal is rendered once all are answered.
	UpdateInput = "input"
	// SignalAbort asks a RemediationWorkflow to stop and roll back (AbortSignal).
	SignalAbort = "abort"
)

// IncidentInput starts an IncidentWorkflow. The workflow id is the incident id.
type IncidentInput struct {
	ID          string
	Key         string
	GroupLabels map[string]string
	Policy      IncidentPolicy
	// State is set when the incident continues as new: everything so far.
	State *IncidentState `json:",omitempty"`
}

// IncidentPolicy is the configuration an incident runs under, fixed when it
// starts so that replays see the same values.
type IncidentPolicy struct {
	// NoAckAfter escalates when nobody has acknowledged the incident by then;
	// zero disables the timer.
	NoAckAfter time.Duration
	// EscalateTo is mentioned when the incident escalates, unless the runbook of
	// the proposal concerned names its own targets (user:NAME, group:NAME).
	EscalateTo []string
	// Autonomy lists the rules under which low-risk runbooks run without a human.
	Autonomy []AutonomyRule
	// MaxHistory is the history length past which the incident continues as new
	// (default: the workflow's own, 10,000 events); Temporal's own suggestion
	// also triggers it.
	MaxHistory int
	// ModelBriefs says the investigation assistant is on, so an incident brief
	// is a model call and runs as an activity. Off, Vigil's own brief is quick
	// and runs as a local activity.
	ModelBriefs bool
	// SlowChat says a rate-limited chat surface (Slack) mirrors the thread, so
	// a batch of posts runs as an activity that resumes where it stopped.
	// Without one, posts go to the store and a batch runs as a local activity.
	SlowChat bool
}

// AbortSignal asks a running remediation to stop.
type AbortSignal struct {
	Actor  incident.Actor
	Reason string
}

// AlertsSignal is a batch of events for one incident, in arrival order. Delivery is
// at least once: applying a batch twice changes nothing.
type AlertsSignal struct {
	Events []incident.Event
}

// DecideRequest is a human's decision on a proposal. The Actor comes from the
// authenticated surface, never from message text.
type DecideRequest struct {
	ProposalID string         `json:"proposal_id"`
	Decision   string         `json:"decision"` // approve | reject
	Actor      incident.Actor `json:"actor"`
	Comment    string         `json:"comment,omitempty"`
	// PlanHash, when set, is the plan the human saw; a different current plan
	// makes the approval stale.
	PlanHash string `json:"plan_hash,omitempty"`
	// RunID and StepID address a gate of a running remediation (a confirm: true
	// step or an approval step) instead of the proposal itself.
	RunID  string `json:"run_id,omitempty"`
	StepID string `json:"step_id,omitempty"`
}

// InputRequest answers some or all of a proposal's input params.
type InputRequest struct {
	ProposalID string            `json:"proposal_id"`
	Answers    map[string]string `json:"answers"`
	Actor      incident.Actor    `json:"actor"`
}

// Answer is what an update tells whoever sent it, shown on their surface.
type Answer struct {
	Message string `json:"message"`
}

// Human acts on an incident other than decisions. Each is an Update of the same
// name taking an ActRequest and returning an Answer; each is audited with its actor.
const (
	ActAck      = "ack"      // take the incident; stops the no-ack escalation timer
	ActAssign   = "assign"   // Assignee takes the incident
	ActEscalate = "escalate" // mention the escalation group now; Text is the reason
	ActSnooze   = "snooze"   // hold escalation timers for Duration
	ActResolve  = "resolve"  // resolve by hand; Text is the reason
	ActAbort    = "abort"    // cancel the running remediation, then roll back
	ActNote     = "note"     // add Text to the timeline
	ActStep     = "step"     // answer an interrupted step: Choice rerun | mark-done
)

// Acts lists every act, for surfaces that parse commands.
var Acts = []string{ActAck, ActAssign, ActEscalate, ActSnooze, ActResolve, ActAbort, ActNote, ActStep}

// ActRequest carries a human act. Fields other than Actor apply to some acts only.
type ActRequest struct {
	Actor    incident.Actor `json:"actor"`
	Text     string         `json:"text,omitempty"`     // note, resolve and escalate reasons
	Assignee string         `json:"assignee,omitempty"` // assign
	Duration time.Duration  `json:"duration,omitempty"` // snooze
	RunID    string         `json:"run_id,omitempty"`   // step
	StepID   string         `json:"step_id,omitempty"`  // step
	Choice   string         `json:"choice,omitempty"`   // step: rerun | mark-done
}

// Choices for an interrupted step.
const (
	ChoiceRerun    = "rerun"
	ChoiceMarkDone = "mark-done"
)

// RemediationInput starts a RemediationWorkflow.
type RemediationInput struct {
	IncidentID string
	RunID      string // also the child workflow id
	Proposal   incident.Proposal
}

// IncidentState is everything an incident carries across continue-as-new.
type IncidentState struct {
	Incident incident.Incident
	Started  time.Time // when the workflow first started; the no-ack clock runs from here
	Version  int64     // projection saves so far
	Audits   int       // audit records written so far (for idempotency keys)
	Notes    int       // status notes posted so far (for message keys)
	Pending  []int     // indexes into Incident.Decisions the main loop has yet to act on
	// AckEscalated is set once the no-ack timer has escalated.
	AckEscalated bool
	// Told lists notes about runbooks not proposed that were already posted,
	// so re-analysis does not repeat them.
	Told []string
	// Briefs counts incident briefs asked for (for their idempotency keys).
	Briefs int
	// Merges lists the merge notices already taken in, by fingerprint.
	Merges []string
}

// AutonomyRule lets low-risk runbooks run without a human for some services.
type AutonomyRule struct {
	Name     string   `json:"name" yaml:"name"`
	Runbooks []string `json:"runbooks" yaml:"runbooks"` // runbook ids; path.Match patterns
	Services []string `json:"services" yaml:"services"` // service names; path.Match patterns
}
