// Package audit is Vigil's tamper-evident audit trail without its storage:
// the acts Vigil records and their typed details (written by the workflows,
// read back by review), the hash chain's records, signed checkpoints and
// keys, the verification walk over a trail, and exported bundles with their
// offline verification. The store keeps the rows and feeds them through here.
//
// A record's details are its struct as a JSON object. Field names are part of
// the trail: records already written keep them forever, so a field may be
// added but never renamed or given another meaning.
package audit

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/vigilops/vigil/incident"
)

// Actions Vigil records, by what they are about.
const (
	IncidentOpened    = "incident.opened"
	IncidentReopened  = "incident.reopened"
	IncidentMerged    = "incident.merged"
	IncidentEscalated = "incident.escalated"
	IncidentResolved  = "incident.resolved"
	IncidentAcked     = "incident." + ActAcked
	IncidentAssigned  = "incident." + ActAssigned
	IncidentSnoozed   = "incident." + ActSnoozed
	IncidentNote      = "incident." + ActNote

	AlertFiring   = "alert.firing"
	AlertResolved = "alert.resolved"
	EvidenceAdded = "evidence.added"

	CandidatesRanked = "candidates.ranked"

	ProposalOffered         = "proposal.offered"
	ProposalNeedsInput      = "proposal.needs_input"
	ProposalInput           = "proposal.input"
	ProposalReplanned       = "proposal.replanned"
	ProposalExpiryEscalated = "proposal.expiry_escalated"
	ProposalExpired         = "proposal.expired"

	DecisionApprove  = "decision." + incident.Approve
	DecisionReject   = "decision." + incident.Reject
	DecisionAutonomy = "decision." + ByAutonomy

	RunStarted        = "run.started"
	RunFinished       = "run.finished"
	RunAbortRequested = "run.abort_requested"
	StepFinished      = "step.finished"
	StepInterrupted   = "step.interrupted"
	StepChoice        = "step.choice"
	GateOpened        = "gate.opened"
	GateApprove       = "gate.approve"
	GateReject        = "gate.reject"
	RollbackStarted   = "rollback.started"
	RollbackStep      = "rollback.step"

	PostmortemPosted = "postmortem.posted"
)

// ByAutonomy is Decision.Decision for a proposal an autonomy rule approved
// (beside incident.Approve and incident.Reject, a human's).
const ByAutonomy = "autonomy"

// Kinds of Act.Act: the human acts other than decisions.
const (
	ActAcked    = "acked"
	ActAssigned = "assigned"
	ActSnoozed  = "snoozed"
	ActNote     = "note"
)

// Details is the typed body of one audit record.
type Details interface {
	// Action is the record's action, one of the constants above.
	Action() string
}

// Opened: a new incident, with its first alerts.
type Opened struct {
	Title  string            `json:"title"`
	Group  map[string]string `json:"group"`
	Alerts int               `json:"alerts"`
}

// Alert: an alert of the incident started firing, fired again or resolved.
type Alert struct {
	Status      string            `json:"-"` // incident.AlertFiring or incident.AlertResolved: in the action
	Evidence    string            `json:"evidence"`
	Fingerprint string            `json:"fingerprint"`
	Labels      map[string]string `json:"labels"`
}

// Evidence: a signal other than an alert joined the incident.
type Evidence struct {
	Evidence    string             `json:"evidence"`
	Kind        incident.EventKind `json:"kind"`
	Fingerprint string             `json:"fingerprint"`
	Summary     string             `json:"summary"`
	Labels      map[string]string  `json:"labels"`
}

// Reopened: an alert fired again after the incident resolved.
type Reopened struct{}

// Merged: correlation merged one incident into another.
type Merged struct {
	Into string `json:"into"`
	From string `json:"from"`
	Why  string `json:"why"`
}

// Ranked: root-cause candidates were ranked; Top is the first.
type Ranked struct {
	Top    string  `json:"top"`
	Score  float64 `json:"score"`
	Reason string  `json:"reason"`
	Count  int     `json:"count"`
}

// Offered: a rendered runbook was put up for decision.
type Offered struct {
	Proposal     string   `json:"proposal"`
	Runbook      string   `json:"runbook"`
	Revision     string   `json:"revision"`
	Risk         string   `json:"risk"`
	Plan         []string `json:"plan"`
	PlanHash     string   `json:"plan_hash"`
	Why          string   `json:"why"`
	Approvers    []string `json:"approvers"`
	MinApprovals int      `json:"min_approvals"`
	Autonomy     string   `json:"autonomy"`
	RequestedBy  string   `json:"requested_by"`
}

// NeedsInput: a proposal waits for a human to answer its input params.
type NeedsInput struct {
	Proposal    string   `json:"proposal"`
	Runbook     string   `json:"runbook"`
	Revision    string   `json:"revision"`
	Inputs      []string `json:"inputs"`
	Why         string   `json:"why"`
	RequestedBy string   `json:"requested_by"`
}

// Input: a human answered input params of a proposal.
type Input struct {
	Proposal string            `json:"proposal"`
	Runbook  string            `json:"runbook"`
	Answers  map[string]string `json:"answers"`
	Actor    incident.Actor    `json:"actor"`
}

// Replanned: the evidence changed a pending proposal's plan, voiding its approvals.
type Replanned struct {
	Proposal        string   `json:"proposal"`
	OldPlan         []string `json:"old_plan"`
	NewPlan         []string `json:"new_plan"`
	PlanHash        string   `json:"plan_hash"`
	VoidedApprovals int      `json:"voided_approvals"`
}

// ExpiryEscalated: a proposal was not decided in time; its clock restarted once.
type ExpiryEscalated struct {
	Proposal    string    `json:"proposal"`
	ExpiredAt   time.Time `json:"expired_at"`
	NewDeadline time.Time `json:"new_deadline"`
}

// Expired: a proposal expired without a decision and will not run.
type Expired struct {
	Proposal  string    `json:"proposal"`
	ExpiredAt time.Time `json:"expired_at"`
	OnExpiry  string    `json:"on_expiry"`
}

// Decision: a human approved or rejected a proposal, or an autonomy rule
// approved it.
type Decision struct {
	Decision     string         `json:"-"` // approve | reject | autonomy: in the action
	Proposal     string         `json:"proposal"`
	Runbook      string         `json:"runbook"`
	Revision     string         `json:"revision"`
	Plan         []string       `json:"plan"`
	PlanHash     string         `json:"plan_hash"`
	Actor        incident.Actor `json:"actor"`
	Comment      string         `json:"comment"`
	Approvers    []string       `json:"approvers"`
	Approvals    int            `json:"approvals"`
	MinApprovals int            `json:"min_approvals"`
	Autonomy     string         `json:"autonomy"`
}

// Act: a human act on the incident other than a decision. Fields other than
// Actor belong to some acts only.
type Act struct {
	Act      string         `json:"-"` // acked | assigned | snoozed | note: in the action
	Actor    incident.Actor `json:"actor"`
	Assignee string         `json:"assignee,omitempty"`
	Until    *time.Time     `json:"until,omitempty"`
	Duration string         `json:"duration,omitempty"`
	Text     string         `json:"text,omitempty"`
}

// Escalated: the incident needs more people; Mentioned were paged.
type Escalated struct {
	Reason    string   `json:"reason"`
	Mentioned []string `json:"mentioned"`
}

// Resolved: the incident resolved, and why.
type Resolved struct {
	Reason string `json:"reason"`
}

// RunStart: an approved proposal's runbook started running.
type RunStart struct {
	Run      string   `json:"run"`
	Proposal string   `json:"proposal"`
	Runbook  string   `json:"runbook"`
	Revision string   `json:"revision"`
	Plan     []string `json:"plan"`
}

// RunEnd: a run finished (succeeded, failed or was aborted).
type RunEnd struct {
	Run    string `json:"run"`
	Status string `json:"status"`
	Reason string `json:"reason"`
}

// AbortRequested: a human asked a running remediation to stop and roll back.
type AbortRequested struct {
	Run      string         `json:"run"`
	Proposal string         `json:"proposal"`
	Reason   string         `json:"reason"`
	Actor    incident.Actor `json:"actor"`
}

// Step: a step (or, with Rollback, a rollback step) finished.
type Step struct {
	Rollback   bool   `json:"-"` // in the action
	Run        string `json:"run"`
	Step       string `json:"step"`
	Type       string `json:"type"`
	Plan       string `json:"plan"`
	Attempt    int    `json:"attempt"`
	Status     string `json:"status"`
	ExitCode   int    `json:"exit_code"`
	DurationMS int64  `json:"duration_ms"`
	Error      string `json:"error"`
	Output     string `json:"output"`
	// Command is the argv that records of releases before plans were
	// described carried instead of Plan; only read.
	Command []string `json:"command,omitempty"`
}

// Interrupted: a step was found started but not finished after a crash; it
// is not re-run without a human.
type Interrupted struct {
	Run       string    `json:"run"`
	Step      string    `json:"step"`
	StartedAt time.Time `json:"started_at"`
	Error     string    `json:"error"`
}

// Choice: a human chose what to do with an interrupted step.
type Choice struct {
	Run    string         `json:"run"`
	Step   string         `json:"step"`
	Choice string         `json:"choice"`
	Actor  incident.Actor `json:"actor"`
}

// GateOpen: a step waits for the proposal's approval policy once more.
type GateOpen struct {
	Run          string `json:"run"`
	Step         string `json:"step"`
	MinApprovals int    `json:"min_approvals"`
}

// Gate: a gate was approved or rejected, by whom.
type Gate struct {
	Decision string           `json:"-"` // approve | reject: in the action
	Run      string           `json:"run"`
	Step     string           `json:"step"`
	By       []incident.Actor `json:"by"`
}

// Rollback: a failed or aborted run started rolling back Steps steps.
type Rollback struct {
	Run    string `json:"run"`
	Reason string `json:"reason"`
	Steps  int    `json:"steps"`
}

// Postmortem: the postmortem was posted (and filed as an issue at IssueURL).
type Postmortem struct {
	IssueURL   string `json:"issue_url"`
	Signed     bool   `json:"signed"`
	Checkpoint int64  `json:"checkpoint"`
}

func (Opened) Action() string          { return IncidentOpened }
func (d Alert) Action() string         { return "alert." + d.Status }
func (Evidence) Action() string        { return EvidenceAdded }
func (Reopened) Action() string        { return IncidentReopened }
func (Merged) Action() string          { return IncidentMerged }
func (Ranked) Action() string          { return CandidatesRanked }
func (Offered) Action() string         { return ProposalOffered }
func (NeedsInput) Action() string      { return ProposalNeedsInput }
func (Input) Action() string           { return ProposalInput }
func (Replanned) Action() string       { return ProposalReplanned }
func (ExpiryEscalated) Action() string { return ProposalExpiryEscalated }
func (Expired) Action() string         { return ProposalExpired }
func (d Decision) Action() string      { return "decision." + d.Decision }
func (d Act) Action() string           { return "incident." + d.Act }
func (Escalated) Action() string       { return IncidentEscalated }
func (Resolved) Action() string        { return IncidentResolved }
func (RunStart) Action() string        { return RunStarted }
func (RunEnd) Action() string          { return RunFinished }
func (AbortRequested) Action() string  { return RunAbortRequested }
func (Interrupted) Action() string     { return StepInterrupted }
func (Choice) Action() string          { return StepChoice }
func (GateOpen) Action() string        { return GateOpened }
func (d Gate) Action() string          { return "gate." + d.Decision }
func (Rollback) Action() string        { return RollbackStarted }
func (Postmortem) Action() string      { return PostmortemPosted }

func (d Step) Action() string {
	if d.Rollback {
		return RollbackStep
	}
	return StepFinished
}

// decoders make the empty details of each action, with the part of the
// action that is not in the JSON filled in.
var decoders = map[string]func() Details{
	IncidentOpened:          func() Details { return &Opened{} },
	AlertFiring:             func() Details { return &Alert{Status: incident.AlertFiring} },
	AlertResolved:           func() Details { return &Alert{Status: incident.AlertResolved} },
	EvidenceAdded:           func() Details { return &Evidence{} },
	IncidentReopened:        func() Details { return &Reopened{} },
	IncidentMerged:          func() Details { return &Merged{} },
	CandidatesRanked:        func() Details { return &Ranked{} },
	ProposalOffered:         func() Details { return &Offered{} },
	ProposalNeedsInput:      func() Details { return &NeedsInput{} },
	ProposalInput:           func() Details { return &Input{} },
	ProposalReplanned:       func() Details { return &Replanned{} },
	ProposalExpiryEscalated: func() Details { return &ExpiryEscalated{} },
	ProposalExpired:         func() Details { return &Expired{} },
	DecisionApprove:         func() Details { return &Decision{Decision: incident.Approve} },
	DecisionReject:          func() Details { return &Decision{Decision: incident.Reject} },
	DecisionAutonomy:        func() Details { return &Decision{Decision: ByAutonomy} },
	IncidentAcked:           func() Details { return &Act{Act: ActAcked} },
	IncidentAssigned:        func() Details { return &Act{Act: ActAssigned} },
	IncidentSnoozed:         func() Details { return &Act{Act: ActSnoozed} },
	IncidentNote:            func() Details { return &Act{Act: ActNote} },
	IncidentEscalated:       func() Details { return &Escalated{} },
	IncidentResolved:        func() Details { return &Resolved{} },
	RunStarted:              func() Details { return &RunStart{} },
	RunFinished:             func() Details { return &RunEnd{} },
	RunAbortRequested:       func() Details { return &AbortRequested{} },
	StepFinished:            func() Details { return &Step{} },
	RollbackStep:            func() Details { return &Step{Rollback: true} },
	StepInterrupted:         func() Details { return &Interrupted{} },
	StepChoice:              func() Details { return &Choice{} },
	GateOpened:              func() Details { return &GateOpen{} },
	GateApprove:             func() Details { return &Gate{Decision: incident.Approve} },
	GateReject:              func() Details { return &Gate{Decision: incident.Reject} },
	RollbackStarted:         func() Details { return &Rollback{} },
	PostmortemPosted:        func() Details { return &Postmortem{} },
}

// Decode reads the details of a record of action. An action this version
// does not know (a newer release's, or another writer's) returns ok false and
// no error; details that do not fit the action's type return an error.
func Decode(action string, details []byte) (d Details, ok bool, err error) {
	mk, known := decoders[action]
	if !known {
		return nil, false, nil
	}
	d = mk()
	if len(details) == 0 || string(details) == "null" {
		return d, true, nil
	}
	if err := json.Unmarshal(details, d); err != nil {
		return d, true, fmt.Errorf("audit: details of %s: %w", action, err)
	}
	return d, true, nil
}

// Fields is d as the trail records it: its JSON object. It is deterministic,
// so workflows may call it.
func Fields(d Details) (map[string]any, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("audit: %s: %w", d.Action(), err)
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("audit: %s: %w", d.Action(), err)
	}
	return out, nil
}
