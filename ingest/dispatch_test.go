package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/store"
	"github.com/vigilops/vigil/workflows/contract"
)

// outbox is an in-memory Outbox: incident-N holds events 2N+1 and 2N+2.
type outbox struct {
	mu        sync.Mutex
	pending   []store.Delivery
	marked    map[int64]bool
	markCalls int
	markErr   error
}

func newOutbox(incidents int) *outbox {
	o := &outbox{marked: map[int64]bool{}}
	for i := range incidents {
		id := int64(2*i + 1)
		o.pending = append(o.pending, store.Delivery{IncidentID: fmt.Sprintf("incident-%d", i),
			Events: []incident.Event{{ID: id}, {ID: id + 1}}})
	}
	return o
}

func (o *outbox) Outbox(_ context.Context, limit int) ([]store.Delivery, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []store.Delivery
	for _, d := range o.pending {
		if !o.marked[d.Events[0].ID] && len(out) < limit {
			out = append(out, d)
		}
	}
	return out, nil
}

func (o *outbox) MarkDelivered(_ context.Context, ds []store.Delivery, _ time.Time) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.markCalls++
	if o.markErr != nil {
		return o.markErr
	}
	for _, d := range ds {
		for _, e := range d.Events {
			o.marked[e.ID] = true
		}
	}
	return nil
}

func (o *outbox) Reroute(context.Context, store.Delivery, time.Time) (string, error) {
	return "", errors.New("not rerouted in these tests")
}

// markedIncidents are the incidents whose events are all marked delivered.
func (o *outbox) markedIncidents() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for _, d := range o.pending {
		if o.marked[d.Events[0].ID] && o.marked[d.Events[1].ID] {
			out = append(out, d.IncidentID)
		}
	}
	return out
}

// gate is a Deliverer whose deliveries all wait until want of them are in flight
// together, so a dispatcher that delivers one at a time never gets past the first.
type gate struct {
	want int
	fail map[string]bool // incidents whose delivery fails

	mu        sync.Mutex
	inFlight  int
	peak      int
	opened    chan struct{} // closed once want deliveries were in flight together
	open      bool
	delivered []string // incidents whose delivery succeeded
}

func newGate(want int, fail ...string) *gate {
	g := &gate{want: want, fail: map[string]bool{}, opened: make(chan struct{})}
	for _, id := range fail {
		g.fail[id] = true
	}
	return g
}

func (g *gate) Deliver(ctx context.Context, in contract.IncidentInput, _ []incident.Event) error {
	g.mu.Lock()
	g.inFlight++
	g.peak = max(g.peak, g.inFlight)
	if g.inFlight == g.want && !g.open {
		close(g.opened)
		g.open = true
	}
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.inFlight--
		g.mu.Unlock()
	}()
	select {
	case <-g.opened:
	case <-time.After(5 * time.Second):
		return errors.New("deliveries are not concurrent: the gate never opened")
	case <-ctx.Done():
		return ctx.Err()
	}
	if g.fail[in.ID] {
		return errors.New("temporal unavailable for " + in.ID)
	}
	g.mu.Lock()
	g.delivered = append(g.delivered, in.ID)
	g.mu.Unlock()
	return nil
}

func incidents(ns ...int) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = fmt.Sprintf("incident-%d", n)
	}
	return out
}

func TestDispatcherDeliversABatchConcurrently(t *testing.T) {
	tests := []struct {
		name        string
		incidents   int
		concurrency int // 0: NewDispatcher's default
		inFlight    int // deliveries that must be in flight together
		fail        []string
		markErr     error
		wantErr     string
		wantMarked  []string // nil: every incident
		mayMark     []string // marked or not, depending on timing
	}{
		{name: "default concurrency", incidents: 40, inFlight: DefaultDispatchConcurrency},
		{name: "bounded", incidents: 20, concurrency: 4, inFlight: 4},
		{name: "one at a time", incidents: 3, concurrency: 1, inFlight: 1},
		{
			name: "failure stops new deliveries", incidents: 4, concurrency: 1, inFlight: 1, fail: incidents(1),
			wantErr: "temporal unavailable for incident-1", wantMarked: incidents(0),
		},
		{
			// 0..3 are in flight together when 2 fails; 4..7 may have begun by then.
			name: "failure among concurrent deliveries", incidents: 8, concurrency: 4, inFlight: 4, fail: incidents(2),
			wantErr: "temporal unavailable for incident-2", wantMarked: incidents(0, 1, 3), mayMark: incidents(4, 5, 6, 7),
		},
		{
			name: "marking fails", incidents: 4, concurrency: 4, inFlight: 4, markErr: errors.New("disk full"),
			wantErr: "disk full", wantMarked: []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := newOutbox(tt.incidents)
			out.markErr = tt.markErr
			to := newGate(tt.inFlight, tt.fail...)
			d := NewDispatcher(out, to, slog.New(slog.DiscardHandler))
			if tt.concurrency > 0 {
				d.Concurrency = tt.concurrency
			}
			err := d.drain(context.Background())
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("drain = %v, want error %q", err, tt.wantErr)
			}
			if to.peak != tt.inFlight {
				t.Errorf("%d deliveries in flight at most, want %d", to.peak, tt.inFlight)
			}
			if out.markCalls != 1 {
				t.Errorf("%d MarkDelivered calls for one batch, want 1", out.markCalls)
			}
			marked := out.markedIncidents()
			if tt.markErr == nil {
				if slices.Sort(to.delivered); !slices.Equal(sorted(marked), to.delivered) {
					t.Errorf("marked %v, but Temporal has %v", marked, to.delivered)
				}
			}
			want := tt.wantMarked
			if want == nil {
				want = incidents(seq(tt.incidents)...)
			}
			got := slices.DeleteFunc(slices.Clone(marked), func(id string) bool { return slices.Contains(tt.mayMark, id) })
			if !slices.Equal(sorted(got), sorted(want)) {
				t.Errorf("marked %v, want %v", marked, want)
			}
			for _, id := range tt.fail {
				if slices.Contains(marked, id) {
					t.Errorf("%s was marked delivered though its delivery failed", id)
				}
			}
		})
	}
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func sorted(ss []string) []string { return slices.Sorted(slices.Values(ss)) }

// order is a Deliverer recording the order of deliveries.
type order struct {
	mu  sync.Mutex
	ids []string
}

func (o *order) Deliver(_ context.Context, in contract.IncidentInput, _ []incident.Event) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ids = append(o.ids, in.ID)
	return nil
}

// New incidents are delivered before more evidence for open ones, so their
// first thread post does not wait behind it.
func TestDispatcherDeliversNewIncidentsFirst(t *testing.T) {
	out := newOutbox(4)
	out.pending[1].New, out.pending[3].New = true, true
	to := &order{}
	d := NewDispatcher(out, to, slog.New(slog.DiscardHandler))
	d.Concurrency = 1
	if err := d.drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := []string{"incident-1", "incident-3", "incident-0", "incident-2"}; !slices.Equal(to.ids, want) {
		t.Errorf("delivered %v, want %v", to.ids, want)
	}
}

// Opened hears of each delivery to a new incident, and of no other.
func TestDispatcherTellsOfOpenedIncidents(t *testing.T) {
	out := newOutbox(3)
	out.pending[2].New = true
	d := NewDispatcher(out, &order{}, slog.New(slog.DiscardHandler))
	var mu sync.Mutex
	var opened []string
	d.Opened = func(dl store.Delivery) {
		mu.Lock()
		defer mu.Unlock()
		opened = append(opened, dl.IncidentID)
	}
	if err := d.drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(opened, []string{"incident-2"}) {
		t.Errorf("opened %v, want [incident-2]", opened)
	}
}

// While Yield asks it to, the dispatcher holds deliveries back, but never
// longer than MaxHold at a time.
func TestDispatcherHoldsForABurst(t *testing.T) {
	out := newOutbox(1)
	to := &order{}
	d := NewDispatcher(out, to, slog.New(slog.DiscardHandler))
	d.Yield = func() time.Duration { return 50 * time.Millisecond } // a burst that never pauses
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	start := time.Now()
	go d.Run(ctx)
	for time.Since(start) < 10*time.Second {
		if len(out.markedIncidents()) > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	took := time.Since(start)
	if len(out.markedIncidents()) == 0 {
		t.Fatal("never delivered")
	}
	if took < MaxHold {
		t.Errorf("delivered after %s, within the burst; want held for MaxHold %s", took, MaxHold)
	}
}
