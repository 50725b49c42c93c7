package routing

// ServiceStage sends a signal to the newest open incident that concerns its
// service.
type ServiceStage struct{}

// NewServiceStage returns the stage.
func NewServiceStage() *ServiceStage { return &ServiceStage{} }

// Route implements Stage.
func (*ServiceStage) Route(b *Batch, it *Item) (bool, error) {
	if it.Service == "" {
		return false, nil
	}
	id, err := b.serviceIncident(it.Service)
	if err != nil || id == "" {
		return false, err
	}
	it.Incident = id
	return true, nil
}

var _ Stage = (*ServiceStage)(nil)
