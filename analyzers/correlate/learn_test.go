package correlate_test

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/vigilops/vigil/analyzers/correlate"
)

// learned returns a learner that saw a and b alert together in n windows, and
// "other" alone in as many, so the pair's lift is 2.
func learned(t testing.TB, n int, a, b string) *correlate.Learner {
	t.Helper()
	l, err := correlate.NewLearner(correlate.DefaultLearnConfig())
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		w := t0.Add(-time.Duration(2*n-2*i) * 5 * time.Minute)
		l.Observe(a, w)
		l.Observe(b, w.Add(time.Minute))
		l.Observe("other", w.Add(5*time.Minute))
	}
	l.Advance(t0)
	return l
}

func TestLearner(t *testing.T) {
	cfg := correlate.DefaultLearnConfig()
	type window struct {
		at       string // any time in the window
		services []string
	}
	tests := []struct {
		name    string
		windows []window
		a, b    string
		want    bool
		stats   string // Support/Confidence/Lift, rounded
	}{
		{
			name: "three windows together, and others apart",
			windows: []window{
				{"0m", []string{"api", "db"}}, {"5m", []string{"mail"}},
				{"10m", []string{"api", "db"}}, {"15m", []string{"mail"}},
				{"20m", []string{"db", "api"}}, {"25m", []string{"mail"}},
			},
			a: "api", b: "db", want: true, stats: "3.00/1.00/2.00",
		},
		{
			name: "two windows are not enough support",
			windows: []window{
				{"0m", []string{"api", "db"}}, {"5m", []string{"mail"}},
				{"10m", []string{"api", "db"}}, {"15m", []string{"mail"}},
			},
			a: "api", b: "db", want: false, stats: "2.00/1.00/2.00",
		},
		{
			name: "a service alerting in every window co-occurs by chance: lift 1",
			windows: []window{
				{"0m", []string{"noisy", "db"}}, {"5m", []string{"noisy"}},
				{"10m", []string{"noisy", "db"}}, {"15m", []string{"noisy"}},
				{"20m", []string{"noisy", "db"}}, {"25m", []string{"noisy"}},
			},
			a: "db", b: "noisy", want: false, stats: "3.00/1.00/1.00",
		},
		{
			name: "low confidence: both alert mostly without the other",
			windows: []window{
				{"0m", []string{"a", "b"}}, {"5m", []string{"a", "b"}}, {"10m", []string{"a", "b"}},
				{"15m", []string{"a"}}, {"20m", []string{"a"}}, {"25m", []string{"a"}}, {"30m", []string{"a"}},
				{"35m", []string{"b"}}, {"40m", []string{"b"}}, {"45m", []string{"b"}}, {"50m", []string{"b"}},
				{"55m", []string{"c"}}, {"60m", []string{"c"}}, {"65m", []string{"c"}}, {"70m", []string{"c"}},
				{"75m", []string{"c"}}, {"80m", []string{"c"}}, {"85m", []string{"c"}}, {"90m", []string{"c"}},
			},
			a: "a", b: "b", want: false, stats: "2.98/0.43/1.16",
		},
		{
			name: "history fades: the same windows two half-lives ago",
			windows: []window{
				{"0m", []string{"api", "db"}}, {"5m", []string{"mail"}},
				{"10m", []string{"api", "db"}}, {"15m", []string{"mail"}},
				{"20m", []string{"db", "api"}}, {"25m", []string{"mail"}},
				{"336h", []string{"mail"}},
			},
			a: "api", b: "db", want: false, stats: "0.75/1.00/3.33",
		},
		{
			name: "alerts in the same window count once",
			windows: []window{
				{"0m", []string{"api", "db", "api", "db"}}, {"5m", []string{"mail"}},
				{"10m", []string{"api", "db"}}, {"15m", []string{"mail"}},
				{"20m", []string{"db", "api"}}, {"25m", []string{"mail"}},
			},
			a: "db", b: "api", want: true, stats: "3.00/1.00/2.00",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := correlate.NewLearner(cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.windows {
				for _, s := range w.services {
					l.Observe(s, at(t, w.at))
				}
			}
			l.Advance(at(t, "1000h"))
			st, ok := l.Edge(tt.a, tt.b)
			if ok != tt.want {
				t.Errorf("Edge learned = %v, want %v (%+v)", ok, tt.want, st)
			}
			if got := fmt.Sprintf("%.2f/%.2f/%.2f", st.Support, st.Confidence, st.Lift); got != tt.stats {
				t.Errorf("stats = %s, want %s", got, tt.stats)
			}
		})
	}
}

func TestLearnerWindowsCloseOnlyWhenPassed(t *testing.T) {
	l := learned(t, 3, "api", "db")
	l.Observe("api", t0.Add(time.Minute))
	l.Observe("db", t0.Add(2*time.Minute))
	if st := l.Stats("api", "db"); math.Abs(st.Support-3) > 0.01 {
		t.Fatalf("support %v before the open window closed, want 3", st.Support)
	}
	// A late observation counts in the open window.
	l.Observe("mail", t0.Add(-time.Hour))
	l.Advance(t0.Add(5 * time.Minute))
	if st := l.Stats("api", "db"); math.Abs(st.Support-4) > 0.01 {
		t.Fatalf("support %v after it closed, want 4 (decay over minutes is negligible)", st.Support)
	}
	if st := l.Stats("api", "mail"); st.Support == 0 {
		t.Fatal("the late observation was not counted in the open window")
	}
}

func TestLearnerIgnoresPairsOfStormWindows(t *testing.T) {
	cfg := correlate.DefaultLearnConfig()
	cfg.MaxWindowServices = 3
	l, err := correlate.NewLearner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		for _, s := range []string{"a", "b", "c", "d"} {
			l.Observe(s, t0.Add(time.Duration(i)*5*time.Minute))
		}
	}
	l.Advance(t0.Add(time.Hour))
	if st := l.Stats("a", "b"); st.Support != 0 {
		t.Errorf("pairs of a window with 4 services were counted: %+v", st)
	}
	if edges := l.Edges(); len(edges) != 0 {
		t.Errorf("edges %v", edges)
	}
}

func TestLearnerEdges(t *testing.T) {
	l := learned(t, 4, "web", "api")
	edges := l.Edges()
	if len(edges) != 1 || edges[0].A != "api" || edges[0].B != "web" {
		t.Fatalf("Edges = %+v, want api–web", edges)
	}
}

func TestLearnConfigValidate(t *testing.T) {
	for _, edit := range []func(c *correlate.LearnConfig){
		func(c *correlate.LearnConfig) { c.Window = 0 },
		func(c *correlate.LearnConfig) { c.HalfLife = 0 },
		func(c *correlate.LearnConfig) { c.MinConfidence = 1.5 },
		func(c *correlate.LearnConfig) { c.MaxWindowServices = 1 },
	} {
		c := correlate.DefaultLearnConfig()
		edit(&c)
		if _, err := correlate.NewLearner(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
