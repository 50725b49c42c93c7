package routing

import (
	"time"

	"github.com/vigilops/vigil/incident"
)

// View is what routing reads of the store: everything stored as the batch
// begins, and nothing of the batch itself (the Batch keeps that). The store's
// View reads the routing transaction the batch's Plan is then applied in, so
// no other writer changes what it shows meanwhile.
type View interface {
	// AlertStates returns the stored state of the alerts with these
	// fingerprints (which may repeat); alerts never stored are missing. The
	// batch takes the map over and changes it.
	AlertStates(fingerprints []string) (map[string]AlertState, error)
	// GroupIncident returns the open incident that alerts of a group key
	// join: the group's own, or the one it joined through correlation (the
	// newest, should there be several); "" when there is none.
	GroupIncident(key string) (string, error)
	// OpenIncidents returns the open incidents, by number.
	OpenIncidents() ([]OpenIncident, error)
	// ServiceIncident returns the newest open incident that concerns
	// service, or "".
	ServiceIncident(service string) (string, error)
	// SignalStored reports whether an event of kind with this fingerprint
	// and start is stored.
	SignalStored(kind incident.EventKind, fingerprint string, startsAt time.Time) (bool, error)
	// MaxNumber returns the highest incident number given so far, 0 before
	// the first incident.
	MaxNumber() (int64, error)
}

// AlertState is what the store knows of an alert: its latest status and
// start, the incident it went to and whether that incident is still open.
type AlertState struct {
	Status       string
	Start        time.Time
	Incident     string
	IncidentOpen bool
	changed      bool // routed in this batch: to be stored
}

// OpenIncident is an open incident as correlation needs it: the services it
// concerns, the span of its signals' starts (zero when none are stored: an
// incident from before they were) and when it opened.
type OpenIncident struct {
	ID          string
	Services    []string
	First, Last time.Time
	Created     time.Time
}
