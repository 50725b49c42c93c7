package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigilops/vigil/analyzers/correlate"
	"github.com/vigilops/vigil/config"
	"github.com/vigilops/vigil/ingest"
	"github.com/vigilops/vigil/store"
)

// BenchmarkIngest sends the default storm's payloads over HTTP to the
// Alertmanager receiver on a real store, wired as `vigil dev` wires it (group
// commit, correlation over the storm's dependency graph) but without Temporal
// or the dispatcher: the ceiling of the durable ingest path alone, by number
// of senders. One
// iteration is the whole storm on a fresh store; run it with -benchtime 1x
// and -cpuprofile to see where the time goes.
func BenchmarkIngest(b *testing.B) {
	spec := Spec{Incidents: 100, AlertsPerIncident: 50, Noise: 200, Flapping: 20, Flaps: 3, Span: 2 * time.Minute,
		Cascade: 3 * time.Minute, Hold: 10 * time.Minute, Start: time.Now().Add(-time.Hour).Truncate(time.Second), Seed: 1}
	s, err := Generate(spec)
	if err != nil {
		b.Fatal(err)
	}
	alerts := 0
	for _, p := range s.Payloads {
		alerts += p.Alerts
	}
	for _, mode := range []struct {
		name    string
		spool   config.SpoolMode
		senders int
	}{{"senders=1", config.SpoolOff, 1}, {"senders=4", config.SpoolOff, 4}, {"senders=16", config.SpoolOff, 16}, {"senders=64", config.SpoolOff, 64},
		{"spool/senders=16", config.SpoolAlways, 16}, {"spool/senders=64", config.SpoolAlways, 64}, {"auto/senders=16", config.SpoolAuto, 16}} {
		senders := mode.senders
		b.Run(mode.name, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				st, err := store.Open(filepath.Join(b.TempDir(), "vigil.db"))
				if err != nil {
					b.Fatal(err)
				}
				c, err := correlate.NewCorrelator(correlate.DefaultConfig(), correlate.NewGraph(s.Edges), nil)
				if err != nil {
					b.Fatal(err)
				}
				st.Correlate(c, nil)
				batch := ingest.NewBatcher(st, 0)
				ctx, stop := context.WithCancel(context.Background())
				batched := make(chan struct{})
				go func() { defer close(batched); batch.Run(ctx) }()
				var to ingest.AlertStore = batch
				spooled := make(chan struct{})
				if mode.spool != config.SpoolOff {
					sp, err := ingest.OpenSpool(filepath.Join(b.TempDir(), "spool.db"), "alertmanager", slog.New(slog.DiscardHandler))
					if err != nil {
						b.Fatal(err)
					}
					defer sp.Close()
					go func() { defer close(spooled); sp.Run(ctx, st) }()
					to = &ingest.AutoSpool{Direct: batch, Spool: sp}
					if mode.spool == config.SpoolAlways {
						to = sp
					}
				} else {
					close(spooled)
				}
				srv := httptest.NewServer(&ingest.Alertmanager{Store: to, GroupBy: []string{"alertname", "service"}, Logger: slog.New(slog.DiscardHandler)})
				d := &driver{client: newClient(senders), urls: []string{srv.URL}, workers: senders}
				b.StartTimer()
				sent := d.run(context.Background(), s.Payloads)
				b.StopTimer()
				for _, x := range sent {
					if x.Status != http.StatusOK {
						b.Fatalf("a payload got %d", x.Status)
					}
				}
				srv.Close()
				stop()
				<-batched
				<-spooled
				_ = st.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(b.N*alerts)/b.Elapsed().Seconds(), "alerts/s")
			b.ReportMetric(float64(b.N*len(s.Payloads))/b.Elapsed().Seconds(), "payloads/s")
		})
	}
}
