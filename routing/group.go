package routing

// GroupStage sends an item to the open incident of its group key: the group's
// own, or the one the group joined through correlation.
type GroupStage struct{}

// NewGroupStage returns the stage.
func NewGroupStage() *GroupStage { return &GroupStage{} }

// Route implements Stage.
func (*GroupStage) Route(b *Batch, it *Item) (bool, error) {
	id, err := b.groupIncident(it.GroupKey)
	if err != nil || id == "" {
		return false, err
	}
	it.Incident = id
	return true, nil
}

var _ Stage = (*GroupStage)(nil)
