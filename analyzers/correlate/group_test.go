package correlate_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/analyzers/correlate"
	"github.com/vigilops/vigil/runbooks"
)

var t0 = time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)

// at is t0 plus an offset such as "5m30s".
func at(t testing.TB, offset string) time.Time {
	t.Helper()
	d, err := time.ParseDuration(offset)
	if err != nil {
		t.Fatal(err)
	}
	return t0.Add(d)
}

// alert is an alert spec: alertname, extra "name=value" labels, and its start
// and end as offsets from t0 ("" end: firing).
type alert struct {
	name       string
	labels     []string
	start, end string
}

func (a alert) build(t testing.TB) correlate.Alert {
	t.Helper()
	l := map[string]string{"alertname": a.name}
	for _, kv := range a.labels {
		k, v, _ := strings.Cut(kv, "=")
		l[k] = v
	}
	out := correlate.Alert{Labels: l, StartsAt: at(t, a.start)}
	if a.end != "" {
		out.EndsAt = at(t, a.end)
	}
	return out
}

// matchers parses Alertmanager matchers with the parser runbooks use.
func matchers(t testing.TB, ss ...string) correlate.Matchers {
	t.Helper()
	var out correlate.Matchers
	for _, s := range ss {
		m, err := runbooks.ParseMatcher(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// render prints a flush as "OFFSET GROUPKEY REASON [NAME …]", a resolved
// alert's name followed by "-".
func render(f correlate.Flush) string {
	var names []string
	for _, a := range f.Alerts {
		n := a.Labels["alertname"]
		if inst := a.Labels["instance"]; inst != "" {
			n += "@" + inst
		}
		if !a.EndsAt.IsZero() {
			n += "-"
		}
		names = append(names, n)
	}
	return fmt.Sprintf("%s %s %s [%s]", f.At.Sub(t0), f.GroupKey, f.Reason, strings.Join(names, " "))
}

func TestGrouper(t *testing.T) {
	route := correlate.Route{GroupBy: []string{"service"}, GroupWait: 30 * time.Second, GroupInterval: 5 * time.Minute, RepeatInterval: 4 * time.Hour, SendResolved: true}
	with := func(f func(r *correlate.Route)) correlate.Route {
		r := route
		r.GroupBy = append([]string(nil), route.GroupBy...)
		f(&r)
		return r
	}
	x := []string{"service=x"}
	y := []string{"service=y"}
	type step struct {
		at     string  // offset of the step
		alerts []alert // received at the step; none: time advances to it
	}
	tests := []struct {
		name  string
		route correlate.Route
		mute  correlate.Muter
		steps []step
		want  []string
	}{
		{
			name:  "group_wait gathers a group's alerts into its first notification",
			route: route,
			steps: []step{{"0s", []alert{{"A", x, "0s", ""}}}, {"10s", []alert{{"B", x, "10s", ""}}}, {"1m", nil}},
			want:  []string{`30s {service="x"} new [A B]`},
		},
		{
			name:  "each group waits from its own first alert",
			route: route,
			steps: []step{{"0s", []alert{{"A", x, "0s", ""}}}, {"10s", []alert{{"B", y, "10s", ""}}}, {"1m", nil}},
			want:  []string{`30s {service="x"} new [A]`, `40s {service="y"} new [B]`},
		},
		{
			name:  "after the first notification, a new alert waits for the next group_interval tick",
			route: route,
			steps: []step{{"0s", []alert{{"A", x, "0s", ""}}}, {"1m", []alert{{"C", x, "1m", ""}}}, {"5m29s", nil}, {"6m", nil}},
			want:  []string{`30s {service="x"} new [A]`, `5m30s {service="x"} new [A C]`},
		},
		{
			name:  "an unchanged group repeats at the first tick more than repeat_interval later",
			route: with(func(r *correlate.Route) { r.RepeatInterval = 10 * time.Minute }),
			steps: []step{{"0s", []alert{{"A", x, "0s", ""}}}, {"26m", nil}},
			// 10m30s is exactly repeat_interval after 30s, not more: the repeat
			// waits one more group_interval, as in Alertmanager.
			want: []string{`30s {service="x"} new [A]`, `15m30s {service="x"} repeat [A]`},
		},
		{
			name:  "a repeat_interval shorter than group_interval repeats every tick",
			route: with(func(r *correlate.Route) { r.RepeatInterval = time.Minute }),
			steps: []step{{"0s", []alert{{"A", x, "0s", ""}}}, {"11m", nil}},
			want:  []string{`30s {service="x"} new [A]`, `5m30s {service="x"} repeat [A]`, `10m30s {service="x"} repeat [A]`},
		},
		{
			name:  "an alert that started more than group_wait ago flushes a new group at once",
			route: route,
			steps: []step{{"1m", []alert{{"A", x, "0s", ""}}}},
			want:  []string{`1m0s {service="x"} new [A]`},
		},
		{
			name:  "an alert that started exactly group_wait ago does not",
			route: route,
			steps: []step{{"30s", []alert{{"A", x, "0s", ""}}}, {"1m", nil}},
			want:  []string{`1m0s {service="x"} new [A]`},
		},
		{
			name:  "an old alert does not hurry a group that has notified",
			route: route,
			steps: []step{{"0s", []alert{{"A", x, "0s", ""}}}, {"2m", []alert{{"B", x, "0s", ""}}}, {"6m", nil}},
			want:  []string{`30s {service="x"} new [A]`, `5m30s {service="x"} new [A B]`},
		},
		{
			name:  "an alert arriving the instant its group flushes is in the flush",
			route: route,
			steps: []step{{"0s", []alert{{"A", x, "0s", ""}}}, {"30s", []alert{{"B", x, "30s", ""}}}},
			want:  []string{`30s {service="x"} new [A B]`},
		},
		{
			name:  "a resolution is notified with send_resolved, and the emptied group starts afresh",
			route: route,
			steps: []step{
				{"0s", []alert{{"A", x, "0s", ""}}},
				{"2m", []alert{{"A", x, "0s", "2m"}}},
				{"10m", []alert{{"A", x, "10m", ""}}},
				{"11m", nil},
			},
			want: []string{`30s {service="x"} new [A]`, `5m30s {service="x"} resolved [A-]`, `10m30s {service="x"} new [A]`},
		},
		{
			name:  "a partial resolution is notified with send_resolved",
			route: route,
			steps: []step{{"0s", []alert{{"A", x, "0s", ""}, {"B", x, "0s", ""}}}, {"1m", []alert{{"B", x, "0s", "1m"}}}, {"11m", nil}},
			want:  []string{`30s {service="x"} new [A B]`, `5m30s {service="x"} resolved [A B-]`},
		},
		{
			name:  "without send_resolved a partial resolution is silent",
			route: with(func(r *correlate.Route) { r.SendResolved = false }),
			steps: []step{{"0s", []alert{{"A", x, "0s", ""}, {"B", x, "0s", ""}}}, {"1m", []alert{{"B", x, "0s", "1m"}}}, {"11m", nil}},
			want:  []string{`30s {service="x"} new [A B]`},
		},
		{
			name:  "without send_resolved a full resolution is silent but clears the record, so a refire notifies",
			route: with(func(r *correlate.Route) { r.SendResolved = false }),
			steps: []step{
				{"0s", []alert{{"A", x, "0s", ""}}},
				{"1m", []alert{{"A", x, "0s", "1m"}}},
				{"20m", []alert{{"A", x, "20m", ""}}},
				{"21m", nil},
			},
			want: []string{`30s {service="x"} new [A]`, `20m30s {service="x"} new [A]`},
		},
		{
			name:  "an alert that fired and resolved between two notifications is never sent",
			route: route,
			steps: []step{{"0s", []alert{{"A", x, "0s", "10s"}}}, {"5m", nil}},
			want:  nil,
		},
		{
			name:  "muted alerts are left out of the flush",
			route: route,
			mute:  correlate.MuteFunc(func(l map[string]string, _ time.Time) bool { return l["alertname"] == "B" }),
			steps: []step{{"0s", []alert{{"A", x, "0s", ""}, {"B", x, "0s", ""}}}, {"1m", nil}},
			want:  []string{`30s {service="x"} new [A]`},
		},
		{
			name:  "a group whose alerts are all muted is not notified nor recorded; once unmuted it is new",
			route: route,
			mute: correlate.MuteFunc(func(_ map[string]string, t time.Time) bool {
				return t.Before(t0.Add(4 * time.Minute))
			}),
			steps: []step{{"0s", []alert{{"A", x, "0s", ""}}}, {"6m", nil}},
			want:  []string{`5m30s {service="x"} new [A]`},
		},
		{
			name:  "an alert without a group_by label groups with the others that lack it",
			route: route,
			steps: []step{{"0s", []alert{{"A", nil, "0s", ""}, {"B", nil, "0s", ""}}}, {"1m", nil}},
			want:  []string{`30s {} new [A B]`},
		},
		{
			name:  "no group_by: one group for everything",
			route: with(func(r *correlate.Route) { r.GroupBy = nil }),
			steps: []step{{"0s", []alert{{"A", x, "0s", ""}, {"B", y, "0s", ""}}}, {"1m", nil}},
			want:  []string{`30s {} new [A B]`},
		},
		{
			name:  `group_by "...": every label set is its own group`,
			route: with(func(r *correlate.Route) { r.GroupBy = []string{correlate.GroupByAll} }),
			steps: []step{{"0s", []alert{{"A", x, "0s", ""}, {"A", []string{"service=x", "instance=i1"}, "0s", ""}}}, {"1m", nil}},
			want: []string{
				`30s {alertname="A",instance="i1",service="x"} new [A@i1]`,
				`30s {alertname="A",service="x"} new [A]`,
			},
		},
		{
			name:  "group_wait 0 notifies on arrival",
			route: with(func(r *correlate.Route) { r.GroupWait = 0 }),
			steps: []step{{"5s", []alert{{"A", x, "5s", ""}}}},
			want:  []string{`5s {service="x"} new [A]`},
		},
		{
			name:  "an input from the past is taken as arriving now",
			route: route,
			steps: []step{{"1m", nil}, {"0s", []alert{{"A", x, "1m", ""}}}, {"2m", nil}},
			want:  []string{`1m30s {service="x"} new [A]`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := correlate.NewGrouper(tt.route, tt.mute)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range tt.steps {
				var fs []correlate.Flush
				if s.alerts == nil {
					fs = g.Advance(at(t, s.at))
				} else {
					var as []correlate.Alert
					for _, a := range s.alerts {
						as = append(as, a.build(t))
					}
					fs = g.Receive(at(t, s.at), as...)
				}
				for _, f := range fs {
					got = append(got, render(f))
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("flushes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestGrouperKeepsTheStartOfTheSameFiring(t *testing.T) {
	g, err := correlate.NewGrouper(correlate.DefaultRoute(), nil)
	if err != nil {
		t.Fatal(err)
	}
	x := []string{"service=x"}
	g.Receive(at(t, "0s"), alert{"A", x, "0s", ""}.build(t))
	// Re-sent while firing with a later start (a restarted rule evaluator):
	// the same firing, so the earlier start stays.
	g.Receive(at(t, "10s"), alert{"A", x, "5s", ""}.build(t))
	fs := g.Advance(at(t, "30s"))
	if len(fs) != 1 || !fs[0].Alerts[0].StartsAt.Equal(t0) {
		t.Fatalf("flushes %v, want one with A starting at t0", fs)
	}
	// A new firing after it resolved replaces it with its own start. (Had
	// it resolved and fired again between two ticks, the group's firing set
	// would look unchanged and nothing would be notified.)
	g.Receive(at(t, "1m"), alert{"A", x, "0s", "1m"}.build(t))
	g.Advance(at(t, "5m30s"))
	g.Receive(at(t, "6m"), alert{"A", x, "6m", ""}.build(t))
	fs = g.Advance(at(t, "7m"))
	if len(fs) != 1 || !fs[0].Alerts[0].StartsAt.Equal(at(t, "6m")) {
		t.Fatalf("flushes %v, want one with A starting at 6m", fs)
	}
}

func TestGrouperNext(t *testing.T) {
	g, err := correlate.NewGrouper(correlate.DefaultRoute(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := g.Next(); ok {
		t.Fatal("Next on an empty grouper")
	}
	g.Receive(at(t, "0s"), alert{"A", nil, "0s", ""}.build(t))
	if next, ok := g.Next(); !ok || !next.Equal(at(t, "30s")) {
		t.Fatalf("Next = %v %v, want 30s", next, ok)
	}
	g.Advance(at(t, "30s"))
	if next, ok := g.Next(); !ok || !next.Equal(at(t, "5m30s")) {
		t.Fatalf("Next = %v %v, want 5m30s", next, ok)
	}
	g.Receive(at(t, "1m"), alert{"A", nil, "0s", "1m"}.build(t))
	g.Advance(at(t, "5m30s"))
	if next, ok := g.Next(); ok {
		t.Fatalf("Next = %v after the group emptied", next)
	}
}

func TestRouteValidate(t *testing.T) {
	tests := []struct {
		route correlate.Route
		want  string // substring of the error; "" for valid
	}{
		{correlate.DefaultRoute(), ""},
		{correlate.Route{GroupWait: -time.Second, GroupInterval: time.Minute, RepeatInterval: time.Hour}, "group_wait must not be negative"},
		{correlate.Route{GroupInterval: 0, RepeatInterval: time.Hour}, "group_interval must be positive"},
		{correlate.Route{GroupInterval: time.Minute}, "repeat_interval must be positive"},
		{correlate.Route{GroupBy: []string{"a", "a"}, GroupInterval: time.Minute, RepeatInterval: time.Hour}, `label "a" is listed twice`},
		{correlate.Route{GroupBy: []string{"...", "a"}, GroupInterval: time.Minute, RepeatInterval: time.Hour}, "cannot be combined"},
	}
	for _, tt := range tests {
		_, err := correlate.NewGrouper(tt.route, nil)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%+v: %v", tt.route, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%+v: error %v, want %q", tt.route, err, tt.want)
		}
	}
}
