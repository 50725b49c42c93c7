package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/vigilops/vigil/analyzers/correlate"
	"github.com/vigilops/vigil/ingest"
)

// Spec describes a storm. Times are simulated: the driver replays them as
// fast as it can, or scaled to a wall-clock duration.
type Spec struct {
	// Incidents is how many true incidents there are. Each starts at a random
	// time within Span on a stack of its own: a backing service (db, cache or
	// queue) fails and the services that depend on it follow, one level of
	// the dependency graph at a time, over Cascade.
	Incidents int
	// AlertsPerIncident is how many distinct alerts (instances) one cascade
	// raises, spread over the services it reaches.
	AlertsPerIncident int
	// Noise is how many unrelated alerts fire at random times on random
	// services; each is a true incident of its own.
	Noise int
	// Flapping is how many alerts fire and resolve Flaps times; each is a
	// true incident of its own.
	Flapping int
	Flaps    int
	Span     time.Duration
	Cascade  time.Duration
	// Hold is how long a cascade's alerts fire after it has reached its last
	// service, before they resolve.
	Hold time.Duration
	// Start is the real time the simulated storm begins at; alerts carry it
	// in their startsAt.
	Start time.Time
	Seed  uint64
}

// Payload is one Alertmanager webhook notification, encoded.
type Payload struct {
	At     time.Duration // simulated time since the storm began
	Group  string        // Alertmanager's group key: a group's payloads go in order
	Body   []byte
	Alerts int
}

// Firing is one firing of an alert, for offline correlation.
type Firing struct {
	Fingerprint string
	Service     string
	At          time.Time
}

// Storm is a generated storm and its ground truth.
type Storm struct {
	Payloads []Payload // in simulated time order
	// Truth maps each alert's fingerprint to its true incident:
	// "incident-N", "noise-N" or "flap-N". It holds the alerts that some
	// payload carries as firing; Invisible counts the others.
	Truth map[string]string
	// Invisible counts alerts Alertmanager never sends as firing: one that
	// joins a group that has already notified, and resolves before the
	// group's next flush, is only ever sent resolved, and Vigil rightly
	// opens nothing for it.
	Invisible int
	// Edges are the dependency graph, caller → callee.
	Edges [][2]string
	// Firings are every firing of every alert of Truth, in time order.
	Firings []Firing
	// Clusters is how many true incidents have an alert in Truth, noise and
	// flapping alerts included.
	Clusters int
	// Span is the simulated time from the first to the last payload.
	Span time.Duration
}

// stackRoles are the services of one stack and whom each calls. A stack is
// web → api → {db, cache, queue}, worker → {queue, db}.
var (
	stackCalls = map[string][]string{"web": {"api"}, "api": {"db", "cache", "queue"}, "worker": {"queue", "db"}}
	// alertnames by role: what each kind of service alerts as.
	alertnames = map[string]string{
		"db": "DBConnectionsSaturated", "cache": "CacheEvictionStorm", "queue": "QueueBacklogGrowing",
		"api": "HighErrorRate", "worker": "JobFailures", "web": "HighLatency",
	}
	roles      = []string{"api", "cache", "db", "queue", "web", "worker"}
	roots      = []string{"db", "cache", "queue"}
	noiseNames = []string{"DiskSpaceLow", "CertificateExpiringSoon", "ClockSkew", "PodRestarted"}
)

// alertmanagerRoute is how the Alertmanager in front of Vigil batches the
// storm: group_by [alertname, service] with its default timers.
var alertmanagerRoute = correlate.Route{
	GroupBy: []string{"alertname", "service"}, GroupWait: 30 * time.Second,
	GroupInterval: 5 * time.Minute, RepeatInterval: 4 * time.Hour, SendResolved: true,
}

// report is an alert's state as a rule evaluator reports it at a time.
type report struct {
	at    time.Duration
	alert correlate.Alert
}

// Generate builds the storm spec describes. The same spec gives the same
// storm.
func Generate(spec Spec) (*Storm, error) {
	if spec.Incidents < 0 || spec.AlertsPerIncident < 1 || spec.Noise < 0 || spec.Flapping < 0 || spec.Flaps < 1 {
		return nil, fmt.Errorf("storm: need incidents ≥ 0, alerts per incident ≥ 1, noise ≥ 0, flapping ≥ 0, flaps ≥ 1; got %+v", spec)
	}
	r := rand.New(rand.NewPCG(spec.Seed, 0x5707))
	// Twice as many stacks as incidents, so noise also lands on quiet ones.
	stacks := max(2*spec.Incidents, 4)
	s := &Storm{Truth: map[string]string{}}
	for n := range stacks {
		for caller, callees := range stackCalls {
			for _, callee := range callees {
				s.Edges = append(s.Edges, [2]string{svc(caller, n), svc(callee, n)})
			}
		}
	}
	slices.SortFunc(s.Edges, func(a, b [2]string) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) })

	var reports []report
	add := func(truth string, labels map[string]string, start, end time.Duration) {
		fp := ingest.Fingerprint(labels)
		s.Truth[fp] = truth
		a := correlate.Alert{Labels: labels, Annotations: map[string]string{"summary": labels["alertname"] + " on " + labels["instance"]}, StartsAt: spec.Start.Add(start)}
		reports = append(reports, report{at: start, alert: a})
		s.Firings = append(s.Firings, Firing{Fingerprint: fp, Service: labels["service"], At: a.StartsAt})
		a.EndsAt = spec.Start.Add(end)
		reports = append(reports, report{at: end, alert: a})
	}
	for i, stack := range r.Perm(stacks)[:spec.Incidents] {
		truth := fmt.Sprintf("incident-%d", i+1)
		start := randDur(r, spec.Span)
		levels := cascade(roots[r.IntN(len(roots))])
		var services []string
		for _, l := range levels {
			services = append(services, l...)
		}
		for k := range spec.AlertsPerIncident {
			role := services[k%len(services)]
			level := slices.IndexFunc(levels, func(l []string) bool { return slices.Contains(l, role) })
			at := start + time.Duration(level)*spec.Cascade/time.Duration(max(len(levels)-1, 1)) + randDur(r, 30*time.Second)
			sev := "warning"
			if level == 0 {
				sev = "critical"
			}
			labels := map[string]string{"alertname": alertnames[role], "service": svc(role, stack),
				"instance": fmt.Sprintf("%s-%d", svc(role, stack), k/len(services)+1), "severity": sev}
			add(truth, labels, at, start+spec.Cascade+spec.Hold+randDur(r, time.Minute))
		}
	}
	for i := range spec.Noise {
		role := roles[r.IntN(len(roles))]
		stack := r.IntN(stacks)
		at := randDur(r, spec.Span+spec.Cascade)
		labels := map[string]string{"alertname": noiseNames[r.IntN(len(noiseNames))], "service": svc(role, stack),
			"instance": fmt.Sprintf("%s-noise-%d", svc(role, stack), i+1), "severity": "info"}
		add(fmt.Sprintf("noise-%d", i+1), labels, at, at+time.Minute+randDur(r, 4*time.Minute))
	}
	for i := range spec.Flapping {
		role := roles[r.IntN(len(roles))]
		stack := r.IntN(stacks)
		labels := map[string]string{"alertname": "ProbeFlapping", "service": svc(role, stack),
			"instance": fmt.Sprintf("%s-probe-%d", svc(role, stack), i+1), "severity": "warning"}
		// Up for 3 minutes, down for 4: long enough for Alertmanager to
		// notify both edges, so Vigil sees every flap.
		at := randDur(r, spec.Span)
		for range spec.Flaps {
			add(fmt.Sprintf("flap-%d", i+1), labels, at, at+3*time.Minute)
			at += 7 * time.Minute
		}
	}
	slices.SortStableFunc(s.Firings, func(a, b Firing) int { return a.At.Compare(b.At) })
	return s, s.batch(spec.Start, reports)
}

// batch runs the reports through Alertmanager's grouping and encodes each
// notification as a webhook payload.
func (s *Storm) batch(start time.Time, reports []report) error {
	slices.SortStableFunc(reports, func(a, b report) int { return cmp.Compare(a.at, b.at) })
	g, err := correlate.NewGrouper(alertmanagerRoute, nil)
	if err != nil {
		return err
	}
	var flushes []correlate.Flush
	for _, rp := range reports {
		flushes = append(flushes, g.Receive(start.Add(rp.at), rp.alert)...)
	}
	// Every alert resolves, so every group empties and the timers stop.
	for next, ok := g.Next(); ok; next, ok = g.Next() {
		flushes = append(flushes, g.Advance(next)...)
	}
	sentFiring := map[string]bool{}
	for _, f := range flushes {
		body, err := encode(f)
		if err != nil {
			return err
		}
		s.Payloads = append(s.Payloads, Payload{At: f.At.Sub(start), Group: f.GroupKey, Body: body, Alerts: len(f.Alerts)})
		for _, a := range f.Alerts {
			if a.EndsAt.IsZero() {
				sentFiring[ingest.Fingerprint(a.Labels)] = true
			}
		}
	}
	clusters := map[string]bool{}
	for fp, truth := range s.Truth {
		if !sentFiring[fp] {
			delete(s.Truth, fp)
			s.Invisible++
			continue
		}
		clusters[truth] = true
	}
	s.Clusters = len(clusters)
	s.Firings = slices.DeleteFunc(s.Firings, func(f Firing) bool { return !sentFiring[f.Fingerprint] })
	if n := len(s.Payloads); n > 0 {
		s.Span = s.Payloads[n-1].At - s.Payloads[0].At
	}
	return nil
}

// cascade lists the services a failure of root reaches, level by level: the
// root, then its callers, then theirs.
func cascade(root string) [][]string {
	levels := [][]string{{root}}
	seen := map[string]bool{root: true}
	for {
		var next []string
		for _, caller := range roles {
			if seen[caller] {
				continue
			}
			for _, callee := range stackCalls[caller] {
				if slices.Contains(levels[len(levels)-1], callee) {
					next = append(next, caller)
					seen[caller] = true
					break
				}
			}
		}
		if len(next) == 0 {
			return levels
		}
		levels = append(levels, next)
	}
}

func svc(role string, stack int) string { return fmt.Sprintf("%s-%03d", role, stack) }

func randDur(r *rand.Rand, d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(r.Int64N(int64(d)))
}

// webhook is Alertmanager's webhook payload, version 4.
type webhook struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []webhookAlert    `json:"alerts"`
}

type webhookAlert struct {
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt"`
	Fingerprint string            `json:"fingerprint"`
}

func encode(f correlate.Flush) ([]byte, error) {
	w := webhook{Version: "4", GroupKey: "{}:" + f.GroupKey, Status: "resolved", Receiver: "vigil", GroupLabels: f.GroupLabels,
		CommonLabels: map[string]string{}, CommonAnnotations: map[string]string{}, ExternalURL: "http://alertmanager.storm:9093"}
	for _, a := range f.Alerts {
		st := "firing"
		if !a.EndsAt.IsZero() {
			st = "resolved"
		} else {
			w.Status = "firing"
		}
		w.Alerts = append(w.Alerts, webhookAlert{Status: st, Labels: a.Labels, Annotations: a.Annotations, StartsAt: a.StartsAt, EndsAt: a.EndsAt, Fingerprint: ingest.Fingerprint(a.Labels)})
	}
	return json.Marshal(w)
}
