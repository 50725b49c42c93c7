package anomaly

import (
	"math"
	"math/rand/v2"
	"testing"
)

// BenchmarkUpdate feeds one detector a long synthetic series (daily cycle,
// noise, occasional spikes and level shifts, 5-minute steps) and reports the
// cost per point. Steady state must not allocate.
func BenchmarkUpdate(b *testing.B) {
	const n = 1 << 16
	ts, vs := benchSeries(n)
	d, err := New(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	for i := range n { // reach steady state: seasons warm, windows full
		d.Update(ts[i], vs[i])
	}
	off := ts[n-1] - ts[0] + 300
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % n
		d.Update(ts[k]+off*int64(1+i/n), vs[k])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "points/s")
}

func benchSeries(n int) ([]int64, []float64) {
	r := rand.New(rand.NewPCG(1, 2))
	ts := make([]int64, n)
	vs := make([]float64, n)
	level := 100.0
	for i := range n {
		ts[i] = 1_700_000_000 + int64(i)*300
		if r.IntN(5000) == 0 {
			level += 30 * r.NormFloat64()
		}
		vs[i] = level + 20*math.Sin(2*math.Pi*float64(ts[i]%day)/day) + 3*r.NormFloat64()
		if r.IntN(1000) == 0 {
			vs[i] += 50
		}
	}
	return ts, vs
}
