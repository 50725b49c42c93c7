// Package incident holds Vigil's core domain model: the events that arrive, the
// incident they form, and the evidence, root-cause candidates, remediation proposals,
// decisions and step results the incident accumulates. It is pure data shared by
// ingest, workflows, activities, the store and the chat surfaces; it does no I/O.
//
// Every type here crosses the Temporal boundary as JSON, so fields are exported,
// tagged, and free of behaviour that depends on map iteration order.
package incident

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"time"
)

// Status is where an incident stands in its lifecycle.
type Status string

// Incident statuses, in roughly the order an incident passes through them.
const (
	StatusOpen             Status = "open"
	StatusAcknowledged     Status = "acknowledged"
	StatusAwaitingApproval Status = "awaiting_approval"
	StatusRemediating      Status = "remediating"
	StatusResolved         Status = "resolved"
	StatusEscalated        Status = "escalated"
)

// EventKind says what kind of signal an Event carries.
type EventKind string

// Event kinds.
const (
	KindAlert         EventKind = "alert"
	KindMetricAnomaly EventKind = "metric_anomaly"
	KindLogAnomaly    EventKind = "log_anomaly"
	KindChange        EventKind = "change"
	KindManual        EventKind = "manual"
	// KindPredicted is a forecast that a metric will cross a threshold soon.
	KindPredicted EventKind = "predicted"
	// KindMerge tells an incident that correlation found it and another open
	// incident to be one: Labels["into"] names the incident it merged into
	// (it is over), or Labels["from"] the incident that merged into it (whose
	// events follow). Summary says why.
	KindMerge EventKind = "merge"
)

// Alert statuses as Alertmanager sends them.
const (
	AlertFiring   = "firing"
	AlertResolved = "resolved"
)

// Event is one normalised signal change accepted by ingest and stored before it is
// acknowledged. An alert produces a new Event when it first fires and when its
// status changes; resends of an unchanged alert are duplicates and produce none.
// Metric and log anomalies, changes and manual events are point-in-time events:
// they carry a Summary and, where there is one, the Series window or Examples that
// show what was seen.
type Event struct {
	ID           int64             `json:"id"`
	Source       string            `json:"source"`
	Kind         EventKind         `json:"kind"`
	Fingerprint  string            `json:"fingerprint"`
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"starts_at"`
	EndsAt       time.Time         `json:"ends_at,omitzero"`
	GeneratorURL string            `json:"generator_url,omitempty"`
	ReceivedAt   time.Time         `json:"received_at"`

	Summary  string   `json:"summary,omitempty"`  // one line, e.g. "p99 latency 3.2x its baseline"
	Value    float64  `json:"value,omitempty"`    // e.g. the anomaly score or observed value
	Series   *Series  `json:"series,omitempty"`   // the window of the metric around the event
	Examples []string `json:"examples,omitempty"` // up to 5 redacted log lines
}

// Series is a window of one metric, for evidence and charts. Times are unix
// seconds; Values has the same length.
type Series struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	Times  []int64           `json:"times"`
	Values []float64         `json:"values"`
}

// Incident is the state of one incident: the workflow's state and, saved after every
// transition, the store's projection that the API and console read.
type Incident struct {
	ID          string            `json:"id"`
	Key         string            `json:"key"`
	Title       string            `json:"title"`
	Severity    string            `json:"severity"`
	Status      Status            `json:"status"`
	Reason      string            `json:"reason,omitempty"` // why it was resolved or escalated
	Services    []string          `json:"services"`
	GroupLabels map[string]string `json:"group_labels"`
	Alerts      []Alert           `json:"alerts"`
	Evidence    []Evidence        `json:"evidence"`
	Candidates  []Candidate       `json:"candidates"`
	Proposals   []Proposal        `json:"proposals"`
	Decisions   []Decision        `json:"decisions"`
	Runs        []Run             `json:"runs"`
	Notes       []Note            `json:"notes,omitempty"`
	// Assignee is who owns the incident (set by ack or assign).
	Assignee string `json:"assignee,omitempty"`
	// Escalated is set when the incident needs a human beyond the current
	// responders (no ack in time, a failed remediation, a manual escalate) and
	// cleared by the next ack.
	Escalated    bool      `json:"escalated,omitempty"`
	SnoozedUntil time.Time `json:"snoozed_until,omitzero"`
	DetectedAt   time.Time `json:"detected_at"`
	AckedAt      time.Time `json:"acked_at,omitzero"`
	ApprovedAt   time.Time `json:"approved_at,omitzero"`
	MitigatedAt  time.Time `json:"mitigated_at,omitzero"`
	ResolvedAt   time.Time `json:"resolved_at,omitzero"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Alert is the current state of one alert (by fingerprint) within an incident.
type Alert struct {
	Fingerprint  string            `json:"fingerprint"`
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"starts_at"`
	EndsAt       time.Time         `json:"ends_at,omitzero"`
	GeneratorURL string            `json:"generator_url,omitempty"`
	EvidenceID   string            `json:"evidence_id"`
}

// Note is a human's timeline note.
type Note struct {
	Actor Actor     `json:"actor"`
	Text  string    `json:"text"`
	At    time.Time `json:"at"`
}

// Firing reports whether any alert of the incident is still firing.
func (inc *Incident) Firing() bool {
	return slices.ContainsFunc(inc.Alerts, func(a Alert) bool { return a.Status == AlertFiring })
}

// Proposal returns the proposal with the given id, or nil.
func (inc *Incident) Proposal(id string) *Proposal {
	for i := range inc.Proposals {
		if inc.Proposals[i].ID == id {
			return &inc.Proposals[i]
		}
	}
	return nil
}

// Evidence is one piece of evidence posted to the thread. IDs (E1, E2, …) are
// assigned in arrival order and stay stable for the incident's life, so candidates,
// proposals and humans can cite them.
type Evidence struct {
	ID   string    `json:"id"`
	Kind EventKind `json:"kind"`
	// Fingerprint identifies the signal the evidence came from; with Start it
	// makes applying the same event twice a no-op.
	Fingerprint string            `json:"fingerprint,omitempty"`
	Summary     string            `json:"summary"`
	Start       time.Time         `json:"start"`
	End         time.Time         `json:"end,omitzero"`
	Data        map[string]string `json:"data,omitempty"`
	Value       float64           `json:"value,omitempty"` // the signal's score, for anomalies and predictions
	Series      *Series           `json:"series,omitempty"`
	Examples    []string          `json:"examples,omitempty"`
}

// Candidate is a ranked root-cause candidate with the factors behind its score.
type Candidate struct {
	Component string   `json:"component"`
	Score     float64  `json:"score"`
	Reason    string   `json:"reason"`
	Factors   []Factor `json:"factors"`
}

// Factor is one explained contribution to a candidate's score.
type Factor struct {
	Name     string   `json:"name"`
	Weight   float64  `json:"weight"`
	Value    float64  `json:"value"`
	Evidence []string `json:"evidence,omitempty"`
}

// ProposalStatus tracks a proposal from offer to outcome.
type ProposalStatus string

// Proposal statuses.
const (
	ProposalPending   ProposalStatus = "pending"
	ProposalApproved  ProposalStatus = "approved"
	ProposalRejected  ProposalStatus = "rejected"
	ProposalRunning   ProposalStatus = "running"
	ProposalSucceeded ProposalStatus = "succeeded"
	ProposalFailed    ProposalStatus = "failed"
	ProposalAborted   ProposalStatus = "aborted"
	ProposalExpired   ProposalStatus = "expired"
	// ProposalNeedsInput waits for a human to answer the runbook's input
	// params; it is rendered, and can be approved, once they are answered.
	ProposalNeedsInput ProposalStatus = "needs_input"
)

// Proposal is a runbook offered as a remediation, fully rendered: the steps hold
// exactly what will run, so what a human approves is what executes.
type Proposal struct {
	ID        string  `json:"id"` // P1, P2, … stable within the incident
	RunbookID string  `json:"runbook_id"`
	Revision  string  `json:"revision"` // content hash of the runbook file, or commit SHA
	Title     string  `json:"title"`
	Risk      string  `json:"risk"`
	Params    []Param `json:"params"`
	Steps     []Step  `json:"steps"`
	// Rollback runs in reverse order when a step or verification fails.
	Rollback []Step `json:"rollback,omitempty"`
	Why      string `json:"why"`
	// Service is the service the proposal was made for (its alert's service).
	Service string `json:"service,omitempty"`
	// Inputs are the runbook's input params a human answers before approval.
	Inputs []Input `json:"inputs,omitempty"`
	// Request is the evidence id of the manual run request this proposal
	// answers; empty for proposals matched against alerts or signals.
	Request string `json:"request,omitempty"`
	// History summarises past outcomes of this runbook for similar incidents.
	History string `json:"history,omitempty"`

	// Approval policy, resolved when the proposal was made.
	Approvers    []string      `json:"approvers"`     // the runbook's spec: user:NAME, group:NAME, oncall:SCHEDULE
	Allowed      []string      `json:"allowed_users"` // users the spec resolved to
	MinApprovals int           `json:"min_approvals"` // distinct approvers needed
	SelfApproval bool          `json:"self_approval"` // may RequestedBy approve?
	Expires      time.Duration `json:"expires,omitempty"`
	OnExpiry     string        `json:"on_expiry,omitempty"` // escalate | abort
	EscalateTo   []string      `json:"escalate_to,omitempty"`
	// Autonomy names the configuration rule that lets this proposal run without a
	// human; empty when a human must approve.
	Autonomy string `json:"autonomy,omitempty"`
	// RequestedBy is who asked for the run (a user for manual runs; empty when an
	// alert triggered it).
	RequestedBy string `json:"requested_by,omitempty"`

	Status    ProposalStatus `json:"status"`
	Approvals []Actor        `json:"approvals,omitempty"` // distinct approvers so far
	Outcome   string         `json:"outcome,omitempty"`
	// PlanHash identifies the exact plan; an approval given for another plan is
	// stale. Set by the workflow with SetPlanHash.
	PlanHash    string    `json:"plan_hash"`
	OfferedAt   time.Time `json:"offered_at"`
	ExpiresAt   time.Time `json:"expires_at,omitzero"`
	Escalations int       `json:"escalations,omitempty"` // expiry escalations so far
}

// SetPlanHash computes PlanHash from everything that decides what would run: the
// runbook revision, parameters, steps and rollback.
func (p *Proposal) SetPlanHash() {
	h := sha256.New()
	enc := json.NewEncoder(h)
	_ = enc.Encode([]any{p.RunbookID, p.Revision, p.Params, p.Steps, p.Rollback})
	p.PlanHash = hex.EncodeToString(h.Sum(nil))[:16]
}

// Plan is the exact list of what the proposal would run, one line per step,
// followed by the rollback steps. Secret values never appear in it.
func (p *Proposal) Plan() []string {
	lines := make([]string, 0, len(p.Steps)+len(p.Rollback))
	for _, s := range p.Steps {
		lines = append(lines, s.ID+": "+s.Describe())
	}
	for _, s := range p.Rollback {
		lines = append(lines, "rollback "+s.ID+": "+s.Describe())
	}
	return lines
}

// Input is a runbook input param: a question for a human, and its answer.
type Input struct {
	Name    string   `json:"name"`
	Type    string   `json:"type"`
	Pattern string   `json:"pattern,omitempty"` // the whole answer must match
	Values  []string `json:"values,omitempty"`  // the choices of an enum
	Prompt  string   `json:"prompt"`
	Answer  string   `json:"answer,omitempty"`
}

// Param is one rendered runbook parameter.
type Param struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Step types. Every type but approval runs as an activity; approval is a gate the
// workflow holds until the proposal's policy is satisfied again.
const (
	StepShell    = "shell"
	StepHTTP     = "http"
	StepWait     = "wait"
	StepVerify   = "verify"
	StepGitHub   = "github"
	StepNotify   = "notify"
	StepApproval = "approval"
)

// Step is one rendered runbook step.
type Step struct {
	ID      string `json:"id"`
	Run     string `json:"run"` // one of the Step* types
	Display string `json:"display,omitempty"`
	// Command is a shell step's argv; it is never passed through a shell.
	Command []string `json:"command,omitempty"`
	// Spec holds the type-specific fields of the other step types, as decoded and
	// rendered by package runbooks, which also executes them.
	Spec    json.RawMessage `json:"spec,omitempty"`
	Timeout time.Duration   `json:"timeout"`
	// Retries is how many more times a failed step is tried, Backoff the first
	// wait between tries (doubling).
	Retries int           `json:"retries,omitempty"`
	Backoff time.Duration `json:"backoff,omitempty"`
	// Confirm holds the step until the proposal's approval policy is satisfied
	// once more for this step.
	Confirm bool `json:"confirm,omitempty"`
	// Idempotent steps may be re-run after a crash interrupted them; others are
	// never re-run without a human's say.
	Idempotent bool `json:"idempotent,omitempty"`
	// Secrets maps environment variable names to secret references (env:NAME,
	// file:PATH). Values are resolved only when the step runs and redacted from
	// its output.
	Secrets map[string]string `json:"secrets,omitempty"`
}

// Describe is the step's one-line plan: the argv for shell steps, else Display.
func (s Step) Describe() string {
	if s.Run == StepShell || (s.Run == "" && len(s.Command) > 0) {
		return ShellQuote(s.Command)
	}
	if s.Display != "" {
		return s.Display
	}
	return s.Run
}

// CommandLine renders a shell step's argv for display.
func (s Step) CommandLine() string {
	return ShellQuote(s.Command)
}

// Actor is who did something, as established by the surface that carried the act:
// never taken from message text.
type Actor struct {
	User        string `json:"user"` // stable id: Slack user id, console login, system:NAME
	DisplayName string `json:"display_name,omitempty"`
	Surface     string `json:"surface"` // console, api, slack, system
	// Verification says how the identity was established, e.g. "slack request
	// signature", "console session", "dev-mode console (no login)".
	Verification string `json:"verification"`
	// Groups are the Vigil groups the surface verified the user belongs to (e.g.
	// mapped from Slack user groups), in addition to configured membership.
	Groups []string `json:"groups,omitempty"`
}

// Name is the display name, else the user id.
func (a Actor) Name() string {
	if a.DisplayName != "" {
		return a.DisplayName
	}
	return a.User
}

// Decision is a human's approve or reject of a proposal.
type Decision struct {
	ProposalID string    `json:"proposal_id"`
	Decision   string    `json:"decision"` // approve | reject
	Actor      Actor     `json:"actor"`
	Comment    string    `json:"comment,omitempty"`
	At         time.Time `json:"at"`
}

// Decision values.
const (
	Approve = "approve"
	Reject  = "reject"
)

// RunRef says which incident and remediation run a step belongs to.
type RunRef struct {
	IncidentID string `json:"incident_id"`
	RunID      string `json:"run_id"`
}

// Run is one execution of an approved proposal.
type Run struct {
	ID         string         `json:"id"`
	ProposalID string         `json:"proposal_id"`
	RunbookID  string         `json:"runbook_id"`
	Status     ProposalStatus `json:"status"`
	Steps      []StepResult   `json:"steps"`
	Rollback   []StepResult   `json:"rollback,omitempty"`
	Reason     string         `json:"reason,omitempty"`
	StartedAt  time.Time      `json:"started_at"`
	FinishedAt time.Time      `json:"finished_at,omitzero"`
}

// Step result statuses.
const (
	StepSucceeded   = "succeeded"
	StepFailed      = "failed"
	StepInterrupted = "interrupted"
	StepSkipped     = "skipped"
)

// StepResult is what one step did.
type StepResult struct {
	StepID     string        `json:"step_id"`
	Command    []string      `json:"command"`
	Status     string        `json:"status"`
	ExitCode   int           `json:"exit_code"`
	Duration   time.Duration `json:"duration"`
	Output     string        `json:"output"` // combined stdout+stderr, truncated
	Truncated  bool          `json:"truncated,omitempty"`
	Error      string        `json:"error,omitempty"`
	StartedAt  time.Time     `json:"started_at"`
	FinishedAt time.Time     `json:"finished_at"`
}

// Runbook outcomes, as the store's outcome history counts them: a run that
// succeeded or failed, or a proposal a human rejected.
const (
	OutcomeSucceeded = "succeeded"
	OutcomeFailed    = "failed"
	OutcomeRejected  = "rejected"
)
