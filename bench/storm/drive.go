package main

import (
	"bytes"
	"context"
	"encoding/json"
	"hash/fnv"
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
	// From a 200 answer: the new events stored, the duplicates, and the
	// incidents the payload's alerts joined.
	Accepted, Duplicates int
	Incidents            []string
}

// driver sends payloads to Vigil.
type driver struct {
	client  *http.Client
	url     string
	workers int
	// pace, when positive, spreads the payloads over wall time: a payload
	// goes out no earlier than its simulated time × pace after the start.
	pace float64
	// sent counts answered payloads, for progress reports.
	sent atomic.Int64
}

// run sends every payload and returns what became of each, by index. A
// group's payloads always go to the same worker, so each group arrives in
// order, as Alertmanager sends it.
func (d *driver) run(ctx context.Context, payloads []Payload) []Sent {
	out := make([]Sent, len(payloads))
	queues := make([]chan int, d.workers)
	var wg sync.WaitGroup
	for w := range queues {
		queues[w] = make(chan int, 1024)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range queues[w] {
				out[i] = d.send(ctx, payloads[i])
				d.sent.Add(1)
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
		h := fnv.New32a()
		h.Write([]byte(p.Group))
		queues[h.Sum32()%uint32(d.workers)] <- i
	}
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
	return out
}

// send posts one payload. Failures are recorded, not retried: the report
// counts what Vigil accepted on the first try.
func (d *driver) send(ctx context.Context, p Payload) Sent {
	s := Sent{At: time.Now(), Alerts: p.Alerts}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(p.Body))
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
