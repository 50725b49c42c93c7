package routing

import (
	"time"

	"github.com/vigilops/vigil/incident"
)

// Muter says what mutes an alert's labels at a time (silences, inhibition):
// the silences or rules that do, none when nothing does.
type Muter interface {
	Silencing(labels map[string]string, at time.Time) []string
}

// MuteFunc adapts a function to Muter.
type MuteFunc func(labels map[string]string, at time.Time) []string

// Silencing calls f.
func (f MuteFunc) Silencing(labels map[string]string, at time.Time) []string { return f(labels, at) }

// Muters mute what any of them mutes, asking in order.
type Muters []Muter

// Silencing returns what the first muter that mutes labels at at says.
func (ms Muters) Silencing(labels map[string]string, at time.Time) []string {
	for _, m := range ms {
		if why := m.Silencing(labels, at); len(why) > 0 {
			return why
		}
	}
	return nil
}

var (
	_ Muter = MuteFunc(nil)
	_ Muter = Muters(nil)
)

// mutes reports whether m mutes a firing alert at the batch's time. It is
// asked only of firing alerts with no open incident of their own, so the
// common cases (resends, alerts of open incidents) never consult silences.
func mutes(m Muter, b *Batch, it *Item) bool {
	return m != nil && it.firing() && len(m.Silencing(it.Alert.Labels, b.now)) > 0
}

// MuteStage keeps a new firing alert that a silence or an inhibition mutes
// from any incident: it is stored, silenced, and joins and opens none.
type MuteStage struct{ mute Muter }

// NewMuteStage returns a stage that asks mute (nil mutes nothing).
func NewMuteStage(mute Muter) *MuteStage { return &MuteStage{mute: mute} }

// Route implements Stage.
func (s *MuteStage) Route(b *Batch, it *Item) (bool, error) {
	if !mutes(s.mute, b, it) {
		return false, nil
	}
	it.Silenced = true
	return true, nil
}

var _ Stage = (*MuteStage)(nil)

// firing reports whether the item is a firing alert.
func (it *Item) firing() bool {
	return it.Alert != nil && it.Alert.Status == incident.AlertFiring
}
