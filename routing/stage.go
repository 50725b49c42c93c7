package routing

import (
	"time"

	"github.com/vigilops/vigil/analyzers/correlate"
)

// Stage takes one step in routing an item: it decides what becomes of it and
// returns true, or leaves it to the next stage.
type Stage interface {
	Route(b *Batch, it *Item) (done bool, err error)
}

// MultiStage runs its stages in order until one decides.
type MultiStage []Stage

// Route implements Stage.
func (ms MultiStage) Route(b *Batch, it *Item) (bool, error) {
	for _, s := range ms {
		if done, err := s.Route(b, it); err != nil || done {
			return done, err
		}
	}
	return false, nil
}

// Item is one alert or signal on its way through the stages, and what they
// decided for it.
type Item struct {
	Alert  *Alert  // the alert routed, or nil
	Signal *Signal // the signal routed, or nil

	Kind    correlate.Kind
	Service string    // the service it concerns, "" for none
	At      time.Time // its start
	// GroupKey, GroupLabels and Labels group and name the incident it would
	// open.
	GroupKey    string
	GroupLabels map[string]string
	Labels      map[string]string

	// Prev is what was known of an alert before it, when Known: stored, or
	// routed earlier in the batch.
	Prev  AlertState
	Known bool

	// What the stages decided.
	Incident  string // the incident it joins, "" for none
	Duplicate bool   // an unchanged resend: nothing is stored
	Delivered bool   // its event needs no delivery
	Silenced  bool   // a new firing that an active silence keeps from any incident
}
