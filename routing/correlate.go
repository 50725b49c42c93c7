package routing

// CorrelateStage sends an item to an open incident it is connected to in time
// and through the service graph (see correlate.Correlator.Join), when the
// batch correlates. An alert's group key then routes there too.
type CorrelateStage struct{}

// NewCorrelateStage returns the stage; it correlates through the router's
// Correlation.
func NewCorrelateStage() *CorrelateStage { return &CorrelateStage{} }

// Route implements Stage.
func (*CorrelateStage) Route(b *Batch, it *Item) (bool, error) {
	id, err := b.join(it.Kind, it.Service, it.At)
	if err != nil || id == "" {
		return false, err
	}
	it.Incident = id
	if it.Alert != nil {
		b.link(it.GroupKey, id)
	}
	return true, nil
}

var _ Stage = (*CorrelateStage)(nil)
