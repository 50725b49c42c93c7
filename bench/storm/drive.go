package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Sent is what became of one payload.
type Sent struct {
	At     time.Time     // when the request was sent
	Took   time.Duration // until the whole answer was read
	Status int           // 0 when no answer came
	Alerts int
	To     int // the index in driver.urls of the receiver it went to
	// From a 200 answer: the new events stored, the duplicates, and the
	// incidents the payload's alerts joined.
	Accepted, Duplicates int
	Incidents            []string
}

// driver sends payloads to Vigil, or to Alertmanager's API.
type driver struct {
	client *http.Client
	// urls are the receivers, one per replica. Requests alternate over them,
	// one after another, as a round-robin load balancer spreads them: a
	// group's next payload usually goes to another replica than its last.
	// That keeps a group's payloads in order all the same (the next leaves
	// only once the last is answered, and an answer means its alerts are in
	// the store every replica shares), and it is the harder case for the
	// replicas: deduplicating and grouping a group's alerts must rest on the
	// shared store, not on what one replica saw. Sticking each group to one
	// replica (a load balancer hashing on the group) would hide a replica
	// that did not.
	urls    []string
	next    atomic.Uint64 // requests sent, to pick the next receiver
	workers int
	// pace, when positive, spreads the payloads over wall time: a payload
	// goes out no earlier than its simulated time × pace after the start.
	pace float64
	// sent counts answered payloads, for progress reports.
	sent atomic.Int64
}

// run sends every payload and returns what became of each, by index. It
// sends as Alertmanager does: each group's payloads in order, the next only
// after the previous is answered, and groups independently of each other, up
// to d.workers requests at once (a free sender takes the next payload due
// whose group has nothing in flight).
func (d *driver) run(ctx context.Context, payloads []Payload) []Sent {
	out := make([]Sent, len(payloads))
	q := &sendQueue{payloads: payloads, held: map[string][]int{}, inFlight: map[string]bool{}, left: len(payloads)}
	q.ready = sync.NewCond(&q.mu)
	var wg sync.WaitGroup
	for range d.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i, ok := q.take()
				if !ok {
					return
				}
				out[i] = d.send(ctx, payloads[i])
				d.sent.Add(1)
				q.answered(i)
			}
		}()
	}
	start := time.Now()
	for i, p := range payloads {
		if d.pace > 0 {
			due := start.Add(time.Duration(float64(p.At-payloads[0].At) * d.pace))
			if wait := time.Until(due); wait > 0 {
				select {
				case <-ctx.Done():
				case <-time.After(wait):
				}
			}
		}
		q.due(i)
	}
	wg.Wait()
	return out
}

// sendQueue holds the payloads due and not yet sent, so that each group has
// at most one in flight.
type sendQueue struct {
	payloads []Payload
	mu       sync.Mutex
	ready    *sync.Cond
	queue    []int            // due, their group has nothing in flight; in order
	held     map[string][]int // due, behind one of their group in flight
	inFlight map[string]bool
	left     int // payloads not yet answered
}

// due makes payload i sendable once its group has nothing in flight.
func (q *sendQueue) due(i int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	g := q.payloads[i].Group
	if q.inFlight[g] {
		q.held[g] = append(q.held[g], i)
		return
	}
	q.inFlight[g] = true
	q.queue = append(q.queue, i)
	q.ready.Signal()
}

// take waits for a payload to send; false once every payload is answered.
func (q *sendQueue) take() (int, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.queue) == 0 {
		if q.left == 0 {
			return 0, false
		}
		q.ready.Wait()
	}
	i := q.queue[0]
	q.queue = q.queue[1:]
	return i, true
}

// answered releases the next payload of i's group, if one is held.
func (q *sendQueue) answered(i int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.left--
	g := q.payloads[i].Group
	switch h := q.held[g]; {
	case len(h) > 0:
		q.queue, q.held[g] = append(q.queue, h[0]), h[1:]
		q.ready.Signal()
	case q.left == 0:
		q.ready.Broadcast() // every sender may stop
	default:
		delete(q.inFlight, g)
	}
}

// send posts one payload to the next receiver. Failures are recorded, not
// retried: the report counts what was accepted on the first try.
func (d *driver) send(ctx context.Context, p Payload) Sent {
	to := int((d.next.Add(1) - 1) % uint64(len(d.urls)))
	s := Sent{At: time.Now(), Alerts: p.Alerts, To: to}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.urls[to], bytes.NewReader(p.Body))
	if err != nil {
		return s
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.client.Do(req)
	if err != nil {
		s.Took = time.Since(s.At)
		return s
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	s.Took, s.Status = time.Since(s.At), resp.StatusCode
	if resp.StatusCode == http.StatusOK {
		var a struct {
			Accepted   int      `json:"accepted"`
			Duplicates int      `json:"duplicates"`
			Incidents  []string `json:"incidents"`
		}
		if json.Unmarshal(body, &a) == nil {
			s.Accepted, s.Duplicates, s.Incidents = a.Accepted, a.Duplicates, a.Incidents
		}
	}
	return s
}
