package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/vigilops/vigil/analyzers/rca"
)

// A synthetic incident is a small microservice system observed twice: a
// normal period (the baseline) recorded one to five days before, and an
// incident window in which one component has a fault. Every component has
// the metrics cpu, mem, load (requests/s it serves) and latency p50/p90/p99;
// datastores and queues of some topologies have cpu and mem only, as
// exporters of off-the-shelf databases often give.
//
// What makes it hard, on purpose, is what the field shows:
//
//   - datastores and queues drift: their memory grows (or, after a restart,
//     shrinks) between the baseline and the incident, by as much as a fault;
//   - traffic is seasonal and the baseline was recorded at another time of
//     day, so load, cpu and latency of every component differ from it;
//   - users wait on a slow system, so load falls under a fault;
//   - samples are noisy, with occasional spikes in the latency tail;
//   - some windows start at the fault, others lead in with normal samples,
//     and the onset is not given (as with `vigil rca --baseline`);
//   - component names are random, so no order of names carries the answer.

// Fault kinds.
const (
	faultCPU   = "cpu"
	faultMem   = "mem"
	faultDelay = "delay"
	faultLoss  = "loss"
)

var faultKinds = []string{faultCPU, faultMem, faultDelay, faultLoss}

// role is what a component is.
type role int

const (
	roleGateway role = iota
	roleService
	roleStore // a database or cache
	roleQueue
)

// topology is a call graph: edges are [caller, callee] node indices.
type topology struct {
	roles []role
	edges [][2]int
	// lean stores and queues export cpu and mem only.
	lean bool
}

// topologies, by name. Each builder may vary the size with rng.
var topologies = map[string]func(rng *rand.Rand) topology{
	"chain":     chainTopology,
	"fanout":    fanoutTopology,
	"shared-db": sharedDBTopology,
	"queue":     queueTopology,
	"shop":      shopTopology,
	"mesh":      meshTopology,
}

// tuningTopologies are the ones whose tuning cases the method was tuned on;
// the others are held out entirely.
var tuningTopologies = []string{"chain", "fanout", "shared-db", "queue"}

// heldOutTopologies never took part in tuning.
var heldOutTopologies = []string{"shop", "mesh"}

// chainTopology: gateway → s1 → … → sk → store.
func chainTopology(rng *rand.Rand) topology {
	k := 4 + rng.IntN(3)
	t := topology{roles: []role{roleGateway}}
	for i := 1; i <= k; i++ {
		t.roles = append(t.roles, roleService)
		t.edges = append(t.edges, [2]int{i - 1, i})
	}
	t.roles = append(t.roles, roleStore)
	t.edges = append(t.edges, [2]int{k, k + 1})
	return t
}

// fanoutTopology: a gateway calling 5–8 services, half of them with a store
// of their own.
func fanoutTopology(rng *rand.Rand) topology {
	k := 5 + rng.IntN(4)
	t := topology{roles: []role{roleGateway}}
	for range k {
		s := len(t.roles)
		t.roles = append(t.roles, roleService)
		t.edges = append(t.edges, [2]int{0, s})
		if rng.IntN(2) == 0 {
			t.roles = append(t.roles, roleStore)
			t.edges = append(t.edges, [2]int{s, len(t.roles) - 1})
		}
	}
	return t
}

// sharedDBTopology: a gateway calling 4–6 services that all use one
// database; two of them also use a cache, and one calls another.
func sharedDBTopology(rng *rand.Rand) topology {
	k := 4 + rng.IntN(3)
	t := topology{roles: []role{roleGateway}}
	for i := 1; i <= k; i++ {
		t.roles = append(t.roles, roleService)
		t.edges = append(t.edges, [2]int{0, i})
	}
	db, cache := k+1, k+2
	t.roles = append(t.roles, roleStore, roleStore)
	for i := 1; i <= k; i++ {
		t.edges = append(t.edges, [2]int{i, db})
	}
	t.edges = append(t.edges, [2]int{1, cache}, [2]int{2, cache}, [2]int{1, k})
	t.lean = rng.IntN(2) == 0
	return t
}

// queueTopology: gateway → api → producers → queue ← consumers → store, and
// the api reads a store of its own.
func queueTopology(rng *rand.Rand) topology {
	t := topology{roles: []role{roleGateway, roleService, roleQueue, roleStore, roleStore}}
	const gw, api, queue, db, apiDB = 0, 1, 2, 3, 4
	t.edges = [][2]int{{gw, api}, {api, apiDB}}
	for range 1 + rng.IntN(2) {
		p := len(t.roles)
		t.roles = append(t.roles, roleService)
		t.edges = append(t.edges, [2]int{api, p}, [2]int{p, queue})
	}
	for range 1 + rng.IntN(2) {
		c := len(t.roles)
		t.roles = append(t.roles, roleService)
		t.edges = append(t.edges, [2]int{c, queue}, [2]int{c, db})
	}
	return t
}

// shopTopology is shaped like a web shop of 14 components: a front end
// calling catalogue, carts, orders and user, each with its own database;
// orders calls carts, user, payment and shipping; shipping and a queue
// worker use a message queue; the front end keeps sessions in a store.
func shopTopology(rng *rand.Rand) topology {
	const (
		front = iota
		catalogue
		catalogueDB
		carts
		cartsDB
		orders
		ordersDB
		user
		userDB
		payment
		shipping
		queue
		worker
		sessions
	)
	t := topology{roles: []role{
		roleGateway, roleService, roleStore, roleService, roleStore, roleService, roleStore,
		roleService, roleStore, roleService, roleService, roleQueue, roleService, roleStore,
	}}
	t.edges = [][2]int{
		{front, catalogue}, {front, carts}, {front, orders}, {front, user}, {front, sessions},
		{catalogue, catalogueDB}, {carts, cartsDB}, {user, userDB}, {orders, ordersDB},
		{orders, carts}, {orders, user}, {orders, payment}, {orders, shipping},
		{shipping, queue}, {worker, queue},
	}
	t.lean = rng.IntN(2) == 0
	return t
}

// meshTopology is a random layered graph: 3–4 layers of 2–4 services, each
// calling one to three of the next layer, over a bottom layer of stores.
func meshTopology(rng *rand.Rand) topology {
	t := topology{roles: []role{roleGateway}}
	prev := []int{0}
	layers := 3 + rng.IntN(2)
	for l := 0; l <= layers; l++ {
		width, r := 2+rng.IntN(3), roleService
		if l == layers {
			r = roleStore
		}
		var cur []int
		for range width {
			cur = append(cur, len(t.roles))
			t.roles = append(t.roles, r)
		}
		// Every node of this layer gets a caller; callers fan out further.
		for _, c := range cur {
			t.edges = append(t.edges, [2]int{prev[rng.IntN(len(prev))], c})
		}
		for _, p := range prev {
			for range rng.IntN(3) {
				t.edges = append(t.edges, [2]int{p, cur[rng.IntN(len(cur))]})
			}
		}
		prev = cur
	}
	slices.SortFunc(t.edges, func(a, b [2]int) int {
		if a[0] != b[0] {
			return a[0] - b[0]
		}
		return a[1] - b[1]
	})
	t.edges = slices.Compact(t.edges)
	return t
}

// incident is one generated case.
type incident struct {
	ID        string
	Topology  string
	Fault     string
	RootCause string
	Input     rca.Input // Series, Baseline and Edges; no onset, no symptom
	// Onset is when the fault began; only the "with onset" mode passes it.
	Onset int64
	// Symptom is the gateway's p90 latency, what an alert would fire on.
	Symptom rca.Symptom
}

// sampleStep is the sample interval, in seconds.
const sampleStep = 15

// node is one component's parameters.
type node struct {
	role     role
	name     string
	cpuBase  float64 // cores at zero load
	cpuPerRq float64 // cores per request/s
	memBase  float64 // MiB
	procMs   float64 // own processing time, ms
	p90, p99 float64 // latency percentiles as multiples of the median
	callW    []float64
	callees  []int
	drift    float64 // fraction of memBase gained between baseline and incident
}

// generate builds incident number i of a topology, deterministically from
// its seed.
func generate(topo string, i int, seed uint64) incident {
	rng := rand.New(rand.NewPCG(seed, uint64(i)*0x9e3779b97f4a7c15+hashString(topo)))
	t := topologies[topo](rng)
	n := len(t.roles)
	names := randomNames(rng, n)
	nodes := make([]node, n)
	for j, r := range t.roles {
		nd := node{role: r, name: names[j], p90: 1.6 + 0.6*rng.Float64(), p99: 2.5 + 1.5*rng.Float64()}
		switch r {
		case roleGateway, roleService:
			nd.cpuBase = 0.02 + 0.08*rng.Float64()
			nd.cpuPerRq = (0.5 + 1.5*rng.Float64()) * 1e-3
			nd.memBase = 150 + 600*rng.Float64()
			nd.procMs = 3 + 20*rng.Float64()
			if rng.Float64() < 0.25 {
				nd.drift = 0.1 * (rng.Float64() - 0.3) // services leak or shrink a little
			}
		case roleStore, roleQueue:
			nd.cpuBase = 0.01 + 0.05*rng.Float64()
			nd.cpuPerRq = (0.2 + 0.8*rng.Float64()) * 1e-3
			nd.memBase = 300 + 1500*rng.Float64()
			nd.procMs = 0.5 + 5*rng.Float64()
			// Stores and queues drift by up to a sixth of their memory, one
			// in ten by twice as much; one in five was restarted in
			// between and shrank.
			nd.drift = 0.01 + 0.15*rng.Float64()
			if rng.Float64() < 0.1 {
				nd.drift *= 2
			}
			if rng.Float64() < 0.2 {
				nd.drift = -nd.drift
			}
		}
		nodes[j] = nd
	}
	for _, e := range t.edges {
		nodes[e[0]].callees = append(nodes[e[0]].callees, e[1])
		nodes[e[0]].callW = append(nodes[e[0]].callW, 0.3+0.9*rng.Float64())
	}

	// The root cause is any component but the gateway; services four times
	// as often as stores and queues.
	var services, others []int
	for j, r := range t.roles {
		switch r {
		case roleService:
			services = append(services, j)
		case roleStore, roleQueue:
			others = append(others, j)
		}
	}
	root := services[rng.IntN(len(services))]
	if len(others) > 0 && rng.Float64() < 0.2 {
		root = others[rng.IntN(len(others))]
	}
	fault := faultKinds[i%len(faultKinds)]

	// Time: the incident starts at a random time of day; the baseline was
	// recorded 1–5 days and some hours earlier.
	const day = 86400
	incStart := int64(1_780_000_000 + rng.IntN(day))
	baseStart := incStart - int64(day*(1+rng.IntN(5))) - int64(rng.IntN(day))
	winLen := 40 + rng.IntN(81)
	baseLen := 120 + rng.IntN(241)
	lead := 0
	if rng.IntN(2) == 0 {
		lead = winLen/10 + rng.IntN(winLen*2/5)
	}
	traffic := 30 + 200*rng.Float64()
	amp := 0.1 + 0.3*rng.Float64()
	phase := 2 * math.Pi * rng.Float64()
	season := func(ts int64) float64 {
		return 1 + amp*math.Sin(2*math.Pi*float64(ts%day)/day+phase)
	}

	f := faultParams(rng)
	order := bottomUp(n, nodes)
	callerLoad := loadShares(n, nodes, order)
	// Drift accumulates over days, so a window of minutes sees at most a few
	// percent of it happen: the share still to come in the window.
	driftWithin := 0.03 * rng.Float64()

	// latNormal is the gateway's latency without the fault at average
	// traffic, the yardstick of how much slower users find the system.
	latNormal := 0.0
	{
		lat := make([]float64, n)
		for _, j := range order {
			nd := nodes[j]
			l := nd.procMs * (1 + 0.5*(nd.cpuBase+nd.cpuPerRq*traffic*callerLoad[j]))
			for c, callee := range nd.callees {
				l += nd.callW[c] * lat[callee]
			}
			lat[j] = l
		}
		latNormal = lat[0]
	}

	var in rca.Input
	simulate := func(start int64, samples int, inc bool) []rca.Series {
		out := make([]rca.Series, 0, n*6)
		vals := make([][6][]float64, n)
		times := make([]int64, samples)
		var latPrev float64 // gateway latency of the previous sample (users wait)
		for k := range samples {
			ts := start + int64(k*sampleStep)
			times[k] = ts
			active := inc && k >= lead
			since := 0.0
			if active {
				since = float64(k-lead+1) / float64(samples-lead)
			}
			userRate := traffic * season(ts) * (1 + 0.04*rng.NormFloat64())
			if inc && latPrev > 0 {
				// Closed-loop users: a slower system serves fewer requests.
				userRate /= 1 + 0.6*math.Max(0, latPrev/latNormal-1)
			}
			load := make([]float64, n)
			for j := range n {
				load[j] = userRate * callerLoad[j]
			}
			if active && fault == faultLoss {
				load[root] *= 1 + f.retry // retransmissions and retries
			}
			// lat is each node's latency percentiles (p50, p90, p99): its
			// own processing plus what its callees take, per call.
			lat := make([][3]float64, n)
			for _, j := range order {
				nd := nodes[j]
				cpu := nd.cpuBase + nd.cpuPerRq*load[j]
				own := nd.procMs * (1 + 0.5*cpu)
				var extra [3]float64
				if active && j == root {
					switch fault {
					case faultCPU:
						own *= 1 + f.slow
					case faultDelay:
						extra = [3]float64{f.delayMs, f.delayMs, f.delayMs}
					case faultMem:
						own *= 1 + 0.1*f.slow*since
					case faultLoss:
						// Retransmissions slow a few requests a lot.
						extra = [3]float64{0.03 * f.lossMs, 0.3 * f.lossMs, f.lossMs}
					}
				}
				l := [3]float64{own + extra[0], own*nd.p90 + extra[1], own*nd.p99 + extra[2]}
				for c, callee := range nd.callees {
					for q := range l {
						l[q] += nd.callW[c] * lat[callee][q]
					}
				}
				lat[j] = l
				mem := nd.memBase
				if inc {
					mem *= 1 + nd.drift*(1-driftWithin*(1-float64(k)/float64(samples)))
				}
				if active && j == root {
					switch fault {
					case faultCPU:
						cpu += f.cpuCores
					case faultMem:
						if f.ramp {
							mem += f.memMiB * since
						} else {
							mem += f.memMiB
						}
						cpu *= 1 + 0.2*since // garbage collection
					}
				}
				p50 := l[0] * (1 + 0.05*rng.NormFloat64())
				p90 := l[1] * (1 + 0.08*rng.NormFloat64())
				p99 := l[2] * (1 + 0.12*rng.NormFloat64())
				if rng.Float64() < 0.02 {
					p99 *= 1.5 + rng.Float64() // a stray slow request
				}
				vals[j][0] = append(vals[j][0], math.Max(0, cpu*(1+0.04*rng.NormFloat64())))
				vals[j][1] = append(vals[j][1], mem*(1+0.002*rng.NormFloat64())+gcSaw(nd, k))
				vals[j][2] = append(vals[j][2], math.Max(0, load[j]*(1+0.05*rng.NormFloat64())))
				vals[j][3] = append(vals[j][3], math.Max(0, p50))
				vals[j][4] = append(vals[j][4], math.Max(0, p90))
				vals[j][5] = append(vals[j][5], math.Max(0, p99))
			}
			latPrev = lat[0][0]
		}
		for j := range n {
			for m, metric := range metricNames {
				if m >= 2 && t.lean && (nodes[j].role == roleStore || nodes[j].role == roleQueue) {
					continue
				}
				out = append(out, rca.Series{Component: nodes[j].name, Metric: metric, Times: slices.Clone(times), Values: vals[j][m]})
			}
		}
		return out
	}
	in.Baseline = simulate(baseStart, baseLen, false)
	in.Series = simulate(incStart, winLen, true)
	for _, e := range t.edges {
		in.Edges = append(in.Edges, [2]string{names[e[0]], names[e[1]]})
	}
	return incident{
		ID:        fmt.Sprintf("%s/%03d", topo, i),
		Topology:  topo,
		Fault:     fault,
		RootCause: names[root],
		Input:     in,
		Onset:     incStart + int64(lead*sampleStep),
		Symptom:   rca.Symptom{Component: names[0], Metric: "latency_p90"},
	}
}

var metricNames = []string{"cpu", "mem", "load", "latency_p50", "latency_p90", "latency_p99"}

// faultParams draws a fault's strength: each is meant to be clearly visible
// on the faulty component, and as large as the drift of a busy datastore.
type faultStrength struct {
	cpuCores float64 // added cpu use
	slow     float64 // relative slowdown of own processing
	memMiB   float64 // added memory
	ramp     bool    // memory grows over the window instead of at once
	delayMs  float64 // added latency
	lossMs   float64 // added p99 latency (loss)
	retry    float64 // extra load from retries (loss)
}

func faultParams(rng *rand.Rand) faultStrength {
	f := faultStrength{
		cpuCores: 0.3 + 1.2*rng.Float64(),
		slow:     0.3 + 2*rng.Float64(),
		memMiB:   150 + 650*rng.Float64(),
		ramp:     rng.IntN(2) == 0,
		delayMs:  30 + 270*rng.Float64(),
		lossMs:   100 + 900*rng.Float64(),
		retry:    0.2 + 0.8*rng.Float64(),
	}
	return f
}

// gcSaw is a garbage-collection sawtooth on services' memory, in MiB.
func gcSaw(nd node, k int) float64 {
	if nd.role != roleService && nd.role != roleGateway {
		return 0
	}
	period := 5 + int(nd.memBase)%7
	return 0.02 * nd.memBase * float64(k%period) / float64(period)
}

// bottomUp orders nodes so that every callee comes before its callers.
func bottomUp(n int, nodes []node) []int {
	seen := make([]bool, n)
	var order []int
	var visit func(int)
	visit = func(j int) {
		if seen[j] {
			return
		}
		seen[j] = true
		for _, c := range nodes[j].callees {
			visit(c)
		}
		order = append(order, j)
	}
	for j := range n {
		visit(j)
	}
	return order
}

// loadShares is each node's requests per user request: the gateway serves
// one, a callee the sum of its callers' shares times the call weights.
func loadShares(n int, nodes []node, order []int) []float64 {
	share := make([]float64, n)
	share[0] = 1
	for k := len(order) - 1; k >= 0; k-- {
		j := order[k]
		for c, callee := range nodes[j].callees {
			share[callee] += share[j] * nodes[j].callW[c]
		}
	}
	for j := range share {
		if share[j] == 0 {
			share[j] = 0.5 // a queue consumer polls whatever arrives
		}
	}
	return share
}

// randomNames gives n distinct pronounceable names, so that their order
// says nothing about the components.
func randomNames(rng *rand.Rand, n int) []string {
	const cons, vows = "bdfgklmnprstvz", "aeiou"
	seen := map[string]bool{}
	out := make([]string, 0, n)
	for len(out) < n {
		var b strings.Builder
		for range 2 + rng.IntN(2) {
			b.WriteByte(cons[rng.IntN(len(cons))])
			b.WriteByte(vows[rng.IntN(len(vows))])
		}
		s := b.String()
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := range len(s) {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
