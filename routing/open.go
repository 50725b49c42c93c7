package routing

// OpenStage opens a new incident for an item's group, numbered after the
// highest number stored and those the batch opened before, and named by
// incident.NewID. Later items of the group join it.
type OpenStage struct{}

// NewOpenStage returns the stage.
func NewOpenStage() *OpenStage { return &OpenStage{} }

// Route implements Stage.
func (*OpenStage) Route(b *Batch, it *Item) (bool, error) {
	id, err := b.openIncident(it.GroupKey, it.GroupLabels, it.Labels)
	if err != nil {
		return false, err
	}
	it.Incident = id
	return true, nil
}

var _ Stage = (*OpenStage)(nil)
