package routing

import "github.com/vigilops/vigil/incident"

// DedupStage drops unchanged resends. An alert is one when its status and
// start are what is known of it, unless it fires unrouted because a silence
// held it and that silence is over: then it is routed now. A signal is one
// when an event of its kind, fingerprint and start is stored.
type DedupStage struct{ mute Muter }

// NewDedupStage returns a stage that asks mute whether a held alert is still
// held (nil mutes nothing).
func NewDedupStage(mute Muter) *DedupStage { return &DedupStage{mute: mute} }

// Route implements Stage.
func (s *DedupStage) Route(b *Batch, it *Item) (bool, error) {
	if it.Signal != nil {
		stored, err := b.signalStored(&it.Signal.Event)
		it.Duplicate = stored
		return stored, err
	}
	a := it.Alert
	if a == nil || !it.Known || it.Prev.Status != a.Status || !it.Prev.Start.Equal(a.StartsAt) {
		return false, nil
	}
	if a.Status == incident.AlertFiring && it.Prev.Incident == "" && !mutes(s.mute, b, it) {
		return false, nil // held by a silence that is over
	}
	it.Duplicate = true
	return true, nil
}

var _ Stage = (*DedupStage)(nil)
