package store

import (
	"github.com/vigilops/vigil/analyzers/correlate"
	"github.com/vigilops/vigil/routing"
)

// Correlate makes ingest route through c; learner, which may be nil, is told
// of every firing alert so it learns which services alert together (c should
// have been built over it). Call it before the store is used concurrently;
// without it, alerts group by group key alone and signals by service alone.
func (s *Store) Correlate(c *correlate.Correlator, learner *correlate.Learner) {
	var l routing.Learner
	if learner != nil {
		l = learner
	}
	s.corr = routing.NewCorrelation(c, l)
	s.route()
}

// route builds the router over the store's muters and correlation.
func (s *Store) route() { s.router = routing.NewRouter(routing.Muters(s.mute), s.corr) }
