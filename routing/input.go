package routing

import (
	"time"

	"github.com/vigilops/vigil/incident"
)

// Alert is one normalised alert to route.
type Alert struct {
	Fingerprint  string
	Status       string // firing | resolved
	Labels       map[string]string
	Annotations  map[string]string
	StartsAt     time.Time
	EndsAt       time.Time
	GeneratorURL string
	// GroupKey identifies the incident group (the values of the group_by labels);
	// GroupLabels are those labels.
	GroupKey    string
	GroupLabels map[string]string
}

// Signal is a non-alert event (metric or log anomaly, prediction, change) to
// route.
type Signal struct {
	Event incident.Event
	// MayOpen lets the event open an incident of its own when no open incident
	// concerns its service. Changes never should; predictions usually do.
	MayOpen bool
	// GroupKey and GroupLabels group the incident the event would open.
	GroupKey    string
	GroupLabels map[string]string
}

// Outcome is what became of one alert or signal.
type Outcome struct {
	Duplicate bool   // an unchanged resend: nothing is stored
	Silenced  bool   // stored, but an active silence kept it from any incident
	Incident  string // the incident its event joins, if any
}
