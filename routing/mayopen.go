package routing

// MayOpenStage keeps a signal that may not open an incident (a change, say)
// from any, once no open incident took it: it is stored alone, for
// correlation and timelines.
type MayOpenStage struct{}

// NewMayOpenStage returns the stage.
func NewMayOpenStage() *MayOpenStage { return &MayOpenStage{} }

// Route implements Stage.
func (*MayOpenStage) Route(_ *Batch, it *Item) (bool, error) {
	return it.Signal != nil && !it.Signal.MayOpen, nil
}

var _ Stage = (*MayOpenStage)(nil)
