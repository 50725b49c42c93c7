package correlate

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Graph is the service dependency graph from configuration: an edge from a
// caller to a service it calls. Correlation follows edges both ways: a failing
// callee makes its callers fail, and a caller's retries can swamp its callees.
type Graph struct {
	calls map[string]map[string]bool // caller -> callees
	adj   map[string][]string        // service -> callers and callees, sorted
}

// NewGraph returns the graph of edges, each [caller, callee]. Self-edges and
// repeats are ignored.
func NewGraph(edges [][2]string) *Graph {
	g := &Graph{calls: map[string]map[string]bool{}, adj: map[string][]string{}}
	adj := map[string]map[string]bool{}
	link := func(a, b string) {
		if adj[a] == nil {
			adj[a] = map[string]bool{}
		}
		adj[a][b] = true
	}
	for _, e := range edges {
		caller, callee := e[0], e[1]
		if caller == "" || callee == "" || caller == callee {
			continue
		}
		if g.calls[caller] == nil {
			g.calls[caller] = map[string]bool{}
		}
		g.calls[caller][callee] = true
		link(caller, callee)
		link(callee, caller)
	}
	for s, ns := range adj {
		g.adj[s] = slices.Sorted(maps.Keys(ns))
	}
	return g
}

// Calls reports whether caller calls callee.
func (g *Graph) Calls(caller, callee string) bool { return g != nil && g.calls[caller][callee] }

func (g *Graph) neighbors(s string) []string {
	if g == nil {
		return nil
	}
	return g.adj[s]
}

// How an edge of a path is known.
const (
	ViaCalls    = "calls"     // From calls To (configured dependency)
	ViaCalledBy = "called by" // To calls From (configured dependency)
	ViaLearned  = "learned"   // From and To alert together (Learner)
)

// Hop is one edge of a path between services.
type Hop struct {
	From, To string
	Via      string // ViaCalls, ViaCalledBy or ViaLearned
	// Learned holds the co-occurrence statistics behind a learned edge.
	Learned EdgeStats
}

func (h Hop) String() string {
	switch h.Via {
	case ViaCalls:
		return fmt.Sprintf("%s calls %s", h.From, h.To)
	case ViaCalledBy:
		return fmt.Sprintf("%s is called by %s", h.From, h.To)
	default:
		s := h.Learned
		return fmt.Sprintf("%s and %s often alert together (learned: %.1f windows together, confidence %.2f, lift %.1f)", h.From, h.To, s.Support, s.Confidence, s.Lift)
	}
}

// Path is a chain of hops; empty when both ends are the same service.
type Path []Hop

func (p Path) String() string {
	parts := make([]string, len(p))
	for i, h := range p {
		parts[i] = h.String()
	}
	return strings.Join(parts, "; ")
}

// Reverse is the same path walked the other way.
func (p Path) Reverse() Path {
	if len(p) == 0 {
		return nil
	}
	out := make(Path, len(p))
	for i, h := range p {
		r := Hop{From: h.To, To: h.From, Via: h.Via, Learned: h.Learned}
		switch h.Via {
		case ViaCalls:
			r.Via = ViaCalledBy
		case ViaCalledBy:
			r.Via = ViaCalls
		}
		out[len(p)-1-i] = r
	}
	return out
}

// topology is the configured graph and the learned one, walked together.
type topology struct {
	deps    *Graph
	learned *Learner
}

// hop says how a and b are adjacent, preferring configured dependencies.
func (t topology) hop(a, b string) (Hop, bool) {
	switch {
	case t.deps.Calls(a, b):
		return Hop{From: a, To: b, Via: ViaCalls}, true
	case t.deps.Calls(b, a):
		return Hop{From: a, To: b, Via: ViaCalledBy}, true
	}
	if st, ok := t.learned.Edge(a, b); ok {
		return Hop{From: a, To: b, Via: ViaLearned, Learned: st}, true
	}
	return Hop{}, false
}

// reach walks breadth-first from src up to maxHops and returns, for every
// service reached, the shortest path to it. Neighbours are visited in name
// order, so among equally short paths the one through smaller names wins.
func (t topology) reach(src string, maxHops int) map[string]Path {
	paths := map[string]Path{src: nil}
	frontier := []string{src}
	for range maxHops {
		var next []string
		for _, s := range frontier {
			for _, n := range t.neighbors(s) {
				if _, seen := paths[n]; seen {
					continue
				}
				h, _ := t.hop(s, n)
				paths[n] = append(slices.Clip(paths[s]), h)
				next = append(next, n)
			}
		}
		if len(next) == 0 {
			break
		}
		frontier = next
	}
	return paths
}

func (t topology) neighbors(s string) []string {
	ns := t.deps.neighbors(s)
	learned := t.learned.neighbors(s)
	if len(learned) == 0 {
		return ns
	}
	all := append(slices.Clone(ns), learned...)
	slices.Sort(all)
	return slices.Compact(all)
}
