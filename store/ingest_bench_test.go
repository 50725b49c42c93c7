package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkIngestAlerts measures durable alert ingest (one transaction per call,
// synchronous=FULL) for new alerts spread over 100 groups, by batch size.
// Reports alerts/s.
func BenchmarkIngestAlerts(b *testing.B) {
	for _, batch := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			s, err := Open(filepath.Join(b.TempDir(), "vigil.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			n := 0
			in := make([]AlertIn, batch)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for j := range in {
					n++
					svc := fmt.Sprintf("svc-%d", n%100)
					in[j] = AlertIn{Fingerprint: fmt.Sprintf("fp-%d", n), Status: "firing", StartsAt: t0,
						Labels:   map[string]string{"alertname": "HighLatency", "service": svc, "instance": fmt.Sprint(n)},
						GroupKey: svc, GroupLabels: map[string]string{"alertname": "HighLatency", "service": svc}}
				}
				if _, err := s.IngestAlerts(ctx, "bench", in, time.Now()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "alerts/s")
		})
	}
}
