// Package workflows holds Vigil's Temporal workflows: IncidentWorkflow (one per
// incident; posts the thread, ranks causes, proposes runbooks, waits for decisions)
// and RemediationWorkflow (a child that runs one approved runbook), with the pure
// approval policy they enforce. Code here is deterministic: time comes from
// workflow.Now, nothing iterates a map, and all I/O happens in activities.
package workflows

import (
	"github.com/vigilops/vigil/incident"
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
)

// IncidentInput starts an IncidentWorkflow. The workflow id is the incident id.
type IncidentInput struct {
	ID          string
	Key         string
	GroupLabels map[string]string
}

// AlertsSignal is a batch of events for one incident, in arrival order. Delivery is
// at least once: applying a batch twice changes nothing.
type AlertsSignal struct {
	Events []incident.Event
}

// DecideRequest is a human's decision on a proposal. User, DisplayName, Surface and
// Verification come from the authenticated surface, never from message text.
type DecideRequest struct {
	ProposalID   string `json:"proposal_id"`
	Decision     string `json:"decision"` // approve | reject
	User         string `json:"user"`
	DisplayName  string `json:"display_name,omitempty"`
	Surface      string `json:"surface"`
	Verification string `json:"verification"`
	Comment      string `json:"comment,omitempty"`
}

// DecideResult is the answer shown to whoever decided.
type DecideResult struct {
	Message string `json:"message"`
}

// RemediationInput starts a RemediationWorkflow.
type RemediationInput struct {
	IncidentID string
	RunID      string // also the child workflow id
	Proposal   incident.Proposal
}
