package main

import (
	"fmt"
	"slices"
	"time"

	"github.com/vigilops/vigil/analyzers/correlate"
)

// correlateOffline groups the storm's firings the way analyzers/correlate
// would if it routed them, to show what it would score before it is wired
// into ingest: in time order, each firing joins the open incident it is
// connected to in time and through the dependency graph, or opens one; after
// an incident opens or gains a service, incidents that turn out to be one
// merge. It returns each alert's incident (that of its first firing, after
// merges) and how many incidents remain.
func correlateOffline(s *Storm, cfg correlate.Config) (map[string]string, int, error) {
	c, err := correlate.NewCorrelator(cfg, correlate.NewGraph(s.Edges), nil)
	if err != nil {
		return nil, 0, err
	}
	type inc struct {
		open    correlate.Open
		members []string
	}
	incs := map[string]*inc{}
	owner := map[string]string{}
	var order []string // incident ids in opening order, for determinism
	active := func(f Firing) []correlate.Open {
		var out []correlate.Open
		for _, id := range order {
			if i := incs[id]; i != nil && !f.At.After(i.open.Last.Add(cfg.Window)) {
				out = append(out, i.open)
			}
		}
		return out
	}
	for _, f := range s.Firings {
		if id, seen := owner[f.Fingerprint]; seen && !f.At.After(incs[id].open.Last.Add(cfg.Window)) {
			incs[id].open.Last = f.At // a refiring keeps its incident alive
			continue
		}
		sig := correlate.Signal{Kind: correlate.KindAlert, Service: f.Service, At: f.At}
		var target *inc
		if l, ok := c.Join(sig, active(f)); ok {
			target = incs[l.Incident]
		} else {
			id := fmt.Sprintf("offline-%d", len(order)+1)
			target = &inc{open: correlate.Open{ID: id, Start: f.At, Last: f.At}}
			incs[id] = target
			order = append(order, id)
		}
		if _, seen := owner[f.Fingerprint]; !seen {
			owner[f.Fingerprint] = target.open.ID
			target.members = append(target.members, f.Fingerprint)
		}
		target.open.Last = later(target.open.Last, f.At)
		if slices.Contains(target.open.Services, f.Service) {
			continue // merges change only when an incident opens or gains a service
		}
		target.open.Services = append(target.open.Services, f.Service)
		for _, m := range c.Merges(active(f)) {
			from, into := incs[m.From], incs[m.Into]
			for _, fp := range from.members {
				owner[fp] = into.open.ID
			}
			into.members = append(into.members, from.members...)
			for _, svc := range from.open.Services {
				if !slices.Contains(into.open.Services, svc) {
					into.open.Services = append(into.open.Services, svc)
				}
			}
			into.open.Last = later(into.open.Last, from.open.Last)
			delete(incs, m.From)
		}
	}
	return owner, len(incs), nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
