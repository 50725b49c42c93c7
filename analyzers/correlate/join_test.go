package correlate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/analyzers/correlate"
)

// deps is a shop: web calls checkout and search; checkout calls payments and
// inventory; payments and inventory call db; mail stands alone.
var deps = correlate.NewGraph([][2]string{
	{"web", "checkout"}, {"web", "search"},
	{"checkout", "payments"}, {"checkout", "inventory"},
	{"payments", "db"}, {"inventory", "db"},
	{"web", "web"}, {"", "x"}, // ignored
})

func open(t testing.TB, id, start, last string, services ...string) correlate.Open {
	return correlate.Open{ID: id, Services: services, Start: at(t, start), Last: at(t, last)}
}

func TestJoin(t *testing.T) {
	c, err := correlate.NewCorrelator(correlate.DefaultConfig(), deps, nil)
	if err != nil {
		t.Fatal(err)
	}
	dbIncident := open(t, "inc-db", "0s", "5m", "db")
	tests := []struct {
		name   string
		signal correlate.Signal
		open   []correlate.Open
		want   string // "" joins nothing; else "ID: Why"
	}{
		{
			name:   "same service",
			signal: correlate.Signal{Kind: correlate.KindAlert, Service: "db", At: at(t, "6m")},
			open:   []correlate.Open{dbIncident},
			want:   "inc-db: db is a service of inc-db",
		},
		{
			name:   "a caller of an incident's service",
			signal: correlate.Signal{Kind: correlate.KindAlert, Service: "payments", At: at(t, "2m")},
			open:   []correlate.Open{dbIncident},
			want:   "inc-db: payments calls db; db is a service of inc-db",
		},
		{
			name:   "a callee of an incident's service",
			signal: correlate.Signal{Kind: correlate.KindMetricAnomaly, Service: "db", At: at(t, "2m")},
			open:   []correlate.Open{open(t, "inc-pay", "0s", "5m", "payments")},
			want:   "inc-pay: db is called by payments; payments is a service of inc-pay",
		},
		{
			name:   "two hops away is too far with MaxHops 1",
			signal: correlate.Signal{Kind: correlate.KindAlert, Service: "checkout", At: at(t, "2m")},
			open:   []correlate.Open{dbIncident},
		},
		{
			name:   "unconnected service",
			signal: correlate.Signal{Kind: correlate.KindLogAnomaly, Service: "mail", At: at(t, "2m")},
			open:   []correlate.Open{dbIncident},
		},
		{
			name:   "no service",
			signal: correlate.Signal{Kind: correlate.KindAlert, At: at(t, "2m")},
			open:   []correlate.Open{dbIncident},
		},
		{
			name:   "at the window's end",
			signal: correlate.Signal{Kind: correlate.KindAlert, Service: "db", At: at(t, "15m")},
			open:   []correlate.Open{dbIncident},
			want:   "inc-db: db is a service of inc-db",
		},
		{
			name:   "after the window",
			signal: correlate.Signal{Kind: correlate.KindAlert, Service: "db", At: at(t, "15m1s")},
			open:   []correlate.Open{dbIncident},
		},
		{
			name:   "an alert that started up to a window before the incident",
			signal: correlate.Signal{Kind: correlate.KindAlert, Service: "db", At: at(t, "-10m")},
			open:   []correlate.Open{dbIncident},
			want:   "inc-db: db is a service of inc-db",
		},
		{
			name:   "an alert that started earlier",
			signal: correlate.Signal{Kind: correlate.KindAlert, Service: "db", At: at(t, "-11m")},
			open:   []correlate.Open{dbIncident},
		},
		{
			name:   "a change up to change_lookback before the incident",
			signal: correlate.Signal{Kind: correlate.KindChange, Service: "payments", At: at(t, "-2h")},
			open:   []correlate.Open{dbIncident},
			want:   "inc-db: payments calls db; db is a service of inc-db",
		},
		{
			name:   "a change earlier than that",
			signal: correlate.Signal{Kind: correlate.KindChange, Service: "payments", At: at(t, "-2h1s")},
			open:   []correlate.Open{dbIncident},
		},
		{
			name:   "fewer hops win",
			signal: correlate.Signal{Kind: correlate.KindAlert, Service: "payments", At: at(t, "2m")},
			open:   []correlate.Open{dbIncident, open(t, "inc-pay", "1m", "5m", "payments")},
			want:   "inc-pay: payments is a service of inc-pay",
		},
		{
			name:   "equal hops: the earlier incident wins",
			signal: correlate.Signal{Kind: correlate.KindAlert, Service: "payments", At: at(t, "2m")},
			open:   []correlate.Open{open(t, "inc-co", "1m", "5m", "checkout"), dbIncident},
			want:   "inc-db: payments calls db; db is a service of inc-db",
		},
		{
			name:   "equal hops and start: the smaller id wins",
			signal: correlate.Signal{Kind: correlate.KindAlert, Service: "payments", At: at(t, "2m")},
			open:   []correlate.Open{open(t, "inc-b", "0s", "5m", "checkout"), open(t, "inc-a", "0s", "5m", "db")},
			want:   "inc-a: payments calls db; db is a service of inc-a",
		},
		{
			name:   "of an incident's services the nearest is named",
			signal: correlate.Signal{Kind: correlate.KindAlert, Service: "payments", At: at(t, "2m")},
			open:   []correlate.Open{open(t, "inc", "0s", "5m", "web", "payments", "db")},
			want:   "inc: payments is a service of inc",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			if l, ok := c.Join(tt.signal, tt.open); ok {
				got = l.Incident + ": " + l.Why()
			}
			if got != tt.want {
				t.Errorf("Join = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestJoinFollowsACascadeOneServiceAtATime(t *testing.T) {
	c, err := correlate.NewCorrelator(correlate.DefaultConfig(), deps, nil)
	if err != nil {
		t.Fatal(err)
	}
	inc := open(t, "inc", "0s", "0s", "db")
	for i, svc := range []string{"payments", "checkout", "web"} {
		s := correlate.Signal{Kind: correlate.KindAlert, Service: svc, At: at(t, "1m").Add(time.Duration(i) * time.Minute)}
		l, ok := c.Join(s, []correlate.Open{inc})
		if !ok || len(l.Path) != 1 {
			t.Fatalf("%s: Join = %+v %v, want one hop", svc, l, ok)
		}
		inc.Services, inc.Last = append(inc.Services, svc), s.At
	}
}

func TestJoinThroughALearnedEdge(t *testing.T) {
	l := learned(t, 3, "mail", "db")
	c, err := correlate.NewCorrelator(correlate.DefaultConfig(), deps, l)
	if err != nil {
		t.Fatal(err)
	}
	link, ok := c.Join(correlate.Signal{Kind: correlate.KindAlert, Service: "mail", At: at(t, "2m")}, []correlate.Open{open(t, "inc-db", "0s", "5m", "db")})
	if !ok || !strings.HasPrefix(link.Why(), "mail and db often alert together (learned: 3.0 windows together") {
		t.Fatalf("Join = %q %v, want a learned hop", link.Why(), ok)
	}
}

func TestMerges(t *testing.T) {
	c, err := correlate.NewCorrelator(correlate.DefaultConfig(), deps, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		open []correlate.Open
		want []string // "FROM -> INTO (with WITH): WHY"
	}{
		{
			name: "a shared service",
			open: []correlate.Open{open(t, "inc-2", "1m", "5m", "mail", "db"), open(t, "inc-1", "0s", "5m", "db")},
			want: []string{"inc-2 -> inc-1 (with inc-1): db is a service of both inc-2 and inc-1"},
		},
		{
			name: "neighbours in the dependency graph",
			open: []correlate.Open{open(t, "inc-db", "0s", "5m", "db"), open(t, "inc-pay", "3m", "6m", "payments")},
			want: []string{"inc-pay -> inc-db (with inc-db): payments of inc-pay: payments calls db; db is a service of inc-db"},
		},
		{
			name: "connected but too far apart in time",
			open: []correlate.Open{open(t, "inc-db", "0s", "5m", "db"), open(t, "inc-pay", "15m1s", "20m", "payments")},
		},
		{
			name: "overlapping but not connected",
			open: []correlate.Open{open(t, "inc-db", "0s", "5m", "db"), open(t, "inc-mail", "1m", "5m", "mail")},
		},
		{
			name: "a bridge makes three one, all into the earliest",
			open: []correlate.Open{
				open(t, "inc-pay", "0s", "5m", "payments"),
				open(t, "inc-inv", "1m", "5m", "inventory"),
				open(t, "inc-db", "2m", "5m", "db"),
			},
			want: []string{
				"inc-inv -> inc-pay (with inc-db): inventory of inc-inv: inventory calls db; db is a service of inc-db",
				"inc-db -> inc-pay (with inc-pay): db of inc-db: db is called by payments; payments is a service of inc-pay",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, m := range c.Merges(tt.open) {
				got = append(got, m.From+" -> "+m.Into+" (with "+m.With+"): "+m.Why())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("Merges:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	for _, cfg := range []correlate.Config{
		{Window: 0, MaxHops: 1},
		{Window: time.Minute, ChangeLookback: -time.Second},
		{Window: time.Minute, MaxHops: -1},
	} {
		if _, err := correlate.NewCorrelator(cfg, nil, nil); err == nil {
			t.Errorf("%+v: accepted", cfg)
		}
	}
}
