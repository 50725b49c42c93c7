package correlate_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/vigilops/vigil/analyzers/correlate"
)

// BenchmarkGrouperReceive feeds a grouper alerts of 1,000 groups (10
// instances each), one alert every 10 ms of its time, with an inhibit rule and
// a silence in front: the cost per alert on the ingest path, flushes
// included.
func BenchmarkGrouperReceive(b *testing.B) {
	ih := correlate.NewInhibitor(correlate.InhibitRule{
		Source: matchers(b, `severity="critical"`), Target: matchers(b, `severity="warning"`), Equal: []string{"service"},
	})
	ss := correlate.NewSilences()
	if err := ss.Set(correlate.Silence{ID: "s", Matchers: matchers(b, `service="svc-7"`), StartsAt: t0, EndsAt: t0.Add(1000 * time.Hour), CreatedBy: "ana", Comment: "bench"}, t0); err != nil {
		b.Fatal(err)
	}
	g, err := correlate.NewGrouper(correlate.Route{GroupBy: []string{"alertname", "service"}, GroupWait: 30 * time.Second,
		GroupInterval: 5 * time.Minute, RepeatInterval: 4 * time.Hour, SendResolved: true}, correlate.Muters{ih, ss})
	if err != nil {
		b.Fatal(err)
	}
	const groups, instances = 1000, 10
	alerts := make([]correlate.Alert, groups*instances)
	for i := range alerts {
		sev := "warning"
		if i%instances == 0 {
			sev = "critical"
		}
		alerts[i] = correlate.Alert{Labels: map[string]string{
			"alertname": fmt.Sprintf("Alert%d", i/instances%10), "service": fmt.Sprintf("svc-%d", i/instances),
			"instance": fmt.Sprintf("i-%d", i%instances), "severity": sev,
		}, StartsAt: t0}
		ih.Observe(alerts[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		at := t0.Add(time.Duration(i) * 10 * time.Millisecond)
		g.Receive(at, alerts[i%len(alerts)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
}

// BenchmarkJoin places signals among 200 open incidents of a 1,200-service
// graph (200 stacks of 6).
func BenchmarkJoin(b *testing.B) {
	var edges [][2]string
	var open []correlate.Open
	for s := range 200 {
		svc := func(role string) string { return fmt.Sprintf("%s-%d", role, s) }
		edges = append(edges, [2]string{svc("web"), svc("api")}, [2]string{svc("api"), svc("db")}, [2]string{svc("api"), svc("cache")},
			[2]string{svc("api"), svc("queue")}, [2]string{svc("worker"), svc("queue")}, [2]string{svc("worker"), svc("db")})
		open = append(open, correlate.Open{ID: fmt.Sprintf("inc-%d", s), Services: []string{svc("db"), svc("api")}, Start: t0, Last: t0.Add(time.Minute)})
	}
	c, err := correlate.NewCorrelator(correlate.DefaultConfig(), correlate.NewGraph(edges), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		s := correlate.Signal{Kind: correlate.KindAlert, Service: fmt.Sprintf("web-%d", i%200), At: t0.Add(2 * time.Minute)}
		if _, ok := c.Join(s, open); !ok {
			b.Fatal("no join")
		}
	}
}

// BenchmarkMerges checks 200 open incidents for merges.
func BenchmarkMerges(b *testing.B) {
	var edges [][2]string
	var open []correlate.Open
	for s := range 200 {
		edges = append(edges, [2]string{fmt.Sprintf("api-%d", s), fmt.Sprintf("db-%d", s)})
		open = append(open, correlate.Open{ID: fmt.Sprintf("inc-%d", s), Services: []string{fmt.Sprintf("api-%d", s)}, Start: t0, Last: t0.Add(time.Minute)})
	}
	c, err := correlate.NewCorrelator(correlate.DefaultConfig(), correlate.NewGraph(edges), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if ms := c.Merges(open); len(ms) != 0 {
			b.Fatal("unexpected merges")
		}
	}
}
