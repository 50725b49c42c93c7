package routing

import "github.com/vigilops/vigil/incident"

// OwnStage sends an alert to the incident it went to before: a resolved alert
// to the incident it fired in (its event needs no delivery when that incident
// is over), or to none if it never fired here; a firing alert to its incident
// while that is open. A silence never holds an alert of an open incident.
type OwnStage struct{}

// NewOwnStage returns the stage.
func NewOwnStage() *OwnStage { return &OwnStage{} }

// Route implements Stage.
func (*OwnStage) Route(_ *Batch, it *Item) (bool, error) {
	a := it.Alert
	switch {
	case a == nil:
		return false, nil
	case a.Status == incident.AlertResolved && it.Known && it.Prev.Incident != "":
		it.Incident, it.Delivered = it.Prev.Incident, !it.Prev.IncidentOpen
		return true, nil
	case a.Status == incident.AlertResolved:
		// Resolved without ever firing here: keep the record, open nothing.
		return true, nil
	case it.Known && it.Prev.IncidentOpen:
		it.Incident = it.Prev.Incident
		return true, nil
	}
	return false, nil
}

var _ Stage = (*OwnStage)(nil)
