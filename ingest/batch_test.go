package ingest

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigilops/vigil/store"
)

// countingStore wraps the real store and counts transactions.
type countingStore struct {
	*store.Store
	calls atomic.Int32
	fail  error
}

func (c *countingStore) IngestAlerts(ctx context.Context, src string, a []store.AlertIn, now time.Time) (store.IngestResult, error) {
	c.calls.Add(1)
	if c.fail != nil {
		return store.IngestResult{}, c.fail
	}
	return c.Store.IngestAlerts(ctx, src, a, now)
}

func storeAlerts(prefix, svc string, n int) []store.AlertIn {
	out := make([]store.AlertIn, n)
	for i := range out {
		out[i] = store.AlertIn{Fingerprint: fmt.Sprintf("%s-%d", prefix, i), Status: "firing", StartsAt: time.Now(),
			Labels:   map[string]string{"alertname": "X", "service": svc},
			GroupKey: svc, GroupLabels: map[string]string{"alertname": "X", "service": svc}}
	}
	return out
}

func TestBatcherAnswersEachRequestWithItsOwnOutcome(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cs := &countingStore{Store: st}
	b := NewBatcher(cs, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b.Run(ctx)

	const senders = 40
	var wg sync.WaitGroup
	results := make([]store.IngestResult, senders)
	errs := make([]error, senders)
	for i := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			svc := fmt.Sprintf("svc-%d", i%4)
			// Every sender resends its first alert: one duplicate each.
			in := storeAlerts(fmt.Sprintf("s%d", i), svc, 5)
			in = append(in, in[0])
			results[i], errs[i] = b.IngestAlerts(context.Background(), "alertmanager", in, time.Now())
		}()
	}
	wg.Wait()
	for i := range senders {
		if errs[i] != nil || results[i].Accepted != 5 || results[i].Duplicates != 1 || len(results[i].Incidents) != 1 {
			t.Errorf("sender %d: %+v %v", i, results[i], errs[i])
		}
	}
	if n := cs.calls.Load(); n >= senders {
		t.Errorf("%d transactions for %d concurrent requests: nothing was batched", n, senders)
	}
	out, _ := st.Outbox(context.Background(), 1000)
	total := 0
	for _, d := range out {
		total += len(d.Events)
	}
	if total != senders*5 || len(out) != 4 {
		t.Errorf("stored %d events in %d incidents, want %d in 4", total, len(out), senders*5)
	}
}

func TestBatcherFailsEveryRequestOfAFailedCommit(t *testing.T) {
	cs := &countingStore{fail: errors.New("disk full")}
	b := NewBatcher(cs, 0)
	ctx, cancel := context.WithCancel(context.Background())
	go b.Run(ctx)
	_, err := b.IngestAlerts(context.Background(), "am", storeAlerts("a", "s", 1), time.Now())
	if err == nil || err.Error() != "disk full" {
		t.Errorf("err = %v", err)
	}
	cancel()
	<-b.stopped
	if _, err := b.IngestAlerts(context.Background(), "am", storeAlerts("b", "s", 1), time.Now()); !errors.Is(err, errBatcherStopped) {
		t.Errorf("after stop: %v, want %v", err, errBatcherStopped)
	}
	if n := cs.calls.Load(); n != 1 {
		t.Errorf("%d commits; a request after stop must not reach the store", n)
	}
}

// BenchmarkBatcherStorm: 64 concurrent senders of 20-alert notifications, as
// Alertmanager sends during a storm. Reports durable alerts/s.
func BenchmarkBatcherStorm(b *testing.B) {
	st, err := store.Open(filepath.Join(b.TempDir(), "vigil.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	bat := NewBatcher(st, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go bat.Run(ctx)
	var seq atomic.Int64
	b.SetParallelism(32) // × GOMAXPROCS senders
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			in := storeAlerts(fmt.Sprintf("n%d", n), fmt.Sprintf("svc-%d", n%100), 20)
			if _, err := bat.IngestAlerts(context.Background(), "am", in, time.Now()); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*20)/b.Elapsed().Seconds(), "alerts/s")
}
