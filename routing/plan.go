package routing

import (
	"time"

	"github.com/vigilops/vigil/analyzers/correlate"
	"github.com/vigilops/vigil/incident"
)

// Plan is what routing a batch decided. Outcomes are for the caller; the store
// applies the rest in the transaction whose View the plan was made on, in
// field order: the new incidents first, since everything else may refer to
// them; the merges last, since they move what the rest stored.
type Plan struct {
	// Outcomes says what became of each alert or signal, in input order.
	Outcomes []Outcome
	// Opened are the incidents to create, in number order.
	Opened []NewIncident
	// Links are group keys that from now on route to an incident they
	// joined through correlation.
	Links []GroupLink
	// States are the alert states to store, by fingerprint.
	States map[string]AlertState
	// Alerts and Signals are the events to store, in input order.
	Alerts  []AlertEvent
	Signals []SignalEvent
	// Touched are the incidents the batch routed signals to: each with the
	// span of those signals' starts and their services.
	Touched []Touch
	// Merges are the open incidents that became one, in the order
	// correlate.Correlator.Merges gives.
	Merges []Merge
}

// NewIncident is an incident to open.
type NewIncident struct {
	ID       string
	Num      int64
	GroupKey string
	Group    map[string]string // the group labels
	Title    string
	Severity string
	// Service is the service the incident concerns from the start, "" when
	// none: known at once, so signals about it join the incident before its
	// workflow has saved anything.
	Service string
}

// GroupLink says that alerts of GroupKey go to Incident.
type GroupLink struct {
	GroupKey string
	Incident string
}

// AlertEvent is an alert's event to store.
type AlertEvent struct {
	Alert    *Alert
	Incident string // "" for none
	// Delivered says the event needs no delivery: a resolve for an incident
	// already over.
	Delivered bool
}

// SignalEvent is a signal's event to store.
type SignalEvent struct {
	Signal   *Signal
	Incident string // "" for none
}

// Touch is what a batch added to an incident: the span of the starts of the
// signals it routed there (zero when none had a start), and their services.
type Touch struct {
	Incident    string
	First, Last time.Time
	Services    []string
}

// Merge is an open incident merging into another: the later one is resolved,
// its events, alerts, groups and services move to the earlier one, and both
// threads get a notice saying why.
type Merge struct {
	correlate.Merge
	Notices []Notice
}

// Notice is an event, queued for an incident's thread, that is not a signal.
type Notice struct {
	Incident string
	Event    incident.Event
}
