package signals

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/analyzers/logmine"
	"github.com/vigilops/vigil/incident"
)

func mustStream(t testing.TB, labels map[string]string) Stream {
	t.Helper()
	s, err := NewStream(labels)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// minuteOfLogs is n lines of an access log in minute min, plus the extra
// lines, parsed like a plain-text body.
func minuteOfLogs(st Stream, min, n int, extra ...string) []LogLine {
	p, _ := NewLineParser("")
	at := t0.Add(time.Duration(min) * time.Minute)
	var out []LogLine
	for i := range n {
		raw := fmt.Sprintf("INFO GET /api/items/%d 200 in %dms", min*100+i, 5+i%20)
		msg, level := p.Parse(raw)
		out = append(out, LogLine{Stream: st, Time: at.Add(time.Duration(i) * time.Minute / time.Duration(n)), Level: level, Message: msg, Raw: raw})
	}
	for i, raw := range extra {
		msg, level := p.Parse(raw)
		out = append(out, LogLine{Stream: st, Time: at.Add(time.Duration(30+i) * time.Millisecond), Level: level, Message: msg, Raw: raw})
	}
	return out
}

var testLogsConfig = LogsConfig{Detector: logmine.DetectorConfig{Interval: time.Minute, WarmUp: 10 * time.Minute, MinHistory: 5}}

func TestLogsSignals(t *testing.T) {
	st := mustStream(t, map[string]string{"source": "checkout", "env": "prod"})
	errLine := func(i int) string {
		return fmt.Sprintf("ERROR payment gateway timeout after %dms order=%d password=hunter%d", 3000+i, 1000+i, i)
	}
	tests := []struct {
		name   string
		minute func(min int) []LogLine
		want   logmine.SignalKind
		// also are other signals the input raises besides want.
		also  []logmine.SignalKind
		check func(t *testing.T, ev incident.Event)
	}{
		{
			name: "new template after warm-up",
			minute: func(min int) []LogLine {
				if min == 15 {
					return minuteOfLogs(st, min, 20, "WARN cache node 10.0.0.7:6379 evicted 5123 keys under memory pressure")
				}
				return minuteOfLogs(st, min, 20)
			},
			want: logmine.SignalNewTemplate,
			check: func(t *testing.T, ev incident.Event) {
				if !strings.HasPrefix(ev.Summary, `new log template in {env="prod",source="checkout"}: "WARN cache node <*>:<*> evicted <*> keys under memory pressure" (1 lines in 1m0s)`) {
					t.Errorf("summary %q", ev.Summary)
				}
				if !ev.StartsAt.Equal(t0.Add(15*time.Minute)) || !ev.EndsAt.Equal(t0.Add(16*time.Minute)) {
					t.Errorf("interval %s..%s, want minute 15", ev.StartsAt, ev.EndsAt)
				}
				if ev.Value != 0.5 || ev.Annotations["count"] != "1" || len(ev.Examples) != 1 {
					t.Errorf("value %v, examples %q", ev.Value, ev.Examples)
				}
			},
		},
		{
			name: "error burst, examples redacted",
			minute: func(min int) []LogLine {
				var extra []string
				if min == 15 {
					for i := range 40 {
						extra = append(extra, errLine(i))
					}
				} else if min%4 == 0 {
					extra = append(extra, errLine(min))
				}
				return minuteOfLogs(st, min, 20, extra...)
			},
			want: logmine.SignalErrorBurst,
			// The error lines are also a surge of their template.
			also: []logmine.SignalKind{logmine.SignalRateSurge},
			check: func(t *testing.T, ev incident.Event) {
				if ev.Value != 1 || ev.Annotations["count"] != "40" {
					t.Errorf("value %v, annotations %v; want 40 error lines, scored 1 (p far below 1e-10)", ev.Value, ev.Annotations)
				}
				if len(ev.Examples) != 5 {
					t.Fatalf("examples %q, want 5", ev.Examples)
				}
				for _, ex := range ev.Examples {
					if strings.Contains(ex, "hunter") || !strings.Contains(ex, "password=[REDACTED]") {
						t.Errorf("example not redacted: %q", ex)
					}
				}
				if !strings.Contains(ev.Summary, "error burst in") || !strings.Contains(ev.Summary, "payment gateway timeout") {
					t.Errorf("summary %q", ev.Summary)
				}
			},
		},
		{
			name: "rate surge",
			minute: func(min int) []LogLine {
				if min == 15 {
					return minuteOfLogs(st, min, 400)
				}
				return minuteOfLogs(st, min, 20)
			},
			want: logmine.SignalRateSurge,
			check: func(t *testing.T, ev incident.Event) {
				if ev.Value != 1 || ev.Annotations["count"] != "400" || !strings.Contains(ev.Summary, "400 lines in 1m0s against a baseline of 20.0 (p < 1e-99)") {
					t.Errorf("value %v, summary %q", ev.Value, ev.Summary)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &fakeSink{}
			l := NewLogs("logs", testLogsConfig, sink)
			for min := range 20 {
				if _, err := l.Observe(tt.minute(min), t0.Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := l.Flush(context.Background(), t0.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			var kinds []string
			var ev incident.Event
			for _, e := range sink.stored() {
				kinds = append(kinds, e.Labels["log_signal"])
				if e.Labels["log_signal"] == string(tt.want) {
					ev = e
				}
			}
			want := []string{string(tt.want)}
			for _, k := range tt.also {
				want = append(want, string(k))
			}
			slices.Sort(kinds)
			slices.Sort(want)
			if !slices.Equal(kinds, want) {
				t.Fatalf("got signals %v, want %v", kinds, want)
			}
			if ev.Kind != incident.KindLogAnomaly || ev.Labels["log_signal"] != string(tt.want) || ev.Labels["source"] != "checkout" || ev.Labels["env"] != "prod" {
				t.Errorf("kind %s, labels %v", ev.Kind, ev.Labels)
			}
			tt.check(t, ev)
		})
	}
}

func TestLogsTickClosesQuietIntervals(t *testing.T) {
	sink := &fakeSink{}
	l := NewLogs("tail", testLogsConfig, sink)
	st := mustStream(t, map[string]string{"source": "api"})
	for min := range 15 {
		if _, err := l.Observe(minuteOfLogs(st, min, 5), t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	// A new template in minute 15, then silence: only a tick closes it.
	p, _ := NewLineParser("")
	msg, lvl := p.Parse("ERROR disk quota exceeded for /var/lib/app")
	if _, err := l.Observe([]LogLine{{Stream: st, Time: t0.Add(15 * time.Minute), Message: msg, Level: lvl, Raw: "ERROR disk quota exceeded for /var/lib/app"}}, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Flush(context.Background(), t0.Add(time.Hour)); err != nil || len(sink.stored()) != 0 {
		t.Fatalf("before the tick: %d events, %v", len(sink.stored()), err)
	}
	l.Tick(t0.Add(16*time.Minute + time.Second))
	if _, err := l.Flush(context.Background(), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got := sink.stored()
	if len(got) != 1 || got[0].Labels["log_signal"] != "new_template" || got[0].Source != "tail" {
		t.Fatalf("after the tick: %+v", got)
	}
}

func TestLogsRejectsBadBatches(t *testing.T) {
	st := mustStream(t, map[string]string{"source": "api"})
	now := t0.Add(time.Hour)
	l := NewLogs("logs", testLogsConfig, &fakeSink{})
	_, err := l.Observe([]LogLine{
		{Stream: st, Message: "fine"},
		{Stream: st, Time: now.Add(time.Hour), Message: "from the future"},
		{Message: "no stream"},
	}, now)
	var inv *InvalidError
	if !errors.As(err, &inv) || len(inv.Problems) != 2 {
		t.Fatalf("err = %v, want two problems", err)
	}
	if p := inv.Problems[0]; p.Index != 1 || p.Field != "timestamp" || !strings.Contains(p.Message, "1h0m0s ahead") {
		t.Errorf("problem %+v", p)
	}
	if p := inv.Problems[1]; p.Index != 2 || p.Message != "has no stream" {
		t.Errorf("problem %+v", p)
	}
	if n := l.streams.len(); n != 0 {
		t.Errorf("a rejected batch created %d streams", n)
	}
	for _, labels := range []map[string]string{nil, {"bad-name": "x"}, {"__x": "y"}, {"a": "\xff"}} {
		if _, err := NewStream(labels); err == nil {
			t.Errorf("NewStream(%q) succeeded", labels)
		}
	}
}

func TestLogsBoundedStreams(t *testing.T) {
	l := NewLogs("logs", LogsConfig{MaxStreams: 20}, &fakeSink{})
	now := t0.Add(time.Hour)
	steady := mustStream(t, map[string]string{"source": "steady"})
	evicted := 0
	for i := range 500 {
		batch := minuteOfLogs(steady, 0, 1)
		batch = append(batch, minuteOfLogs(mustStream(t, map[string]string{"source": "one-shot", "request_id": fmt.Sprint(i)}), 0, 1)...)
		res, err := l.Observe(batch, now)
		if err != nil {
			t.Fatal(err)
		}
		evicted += res.Evicted
		if l.streams.len() > 20 {
			t.Fatalf("%d streams, cap 20", l.streams.len())
		}
	}
	if _, ok := l.streams.peek(steady.key); !ok {
		t.Error("the steady stream was evicted by one-shot streams")
	}
	if evicted != 500-19 {
		t.Errorf("evicted %d streams, want %d", evicted, 500-19)
	}
}

func TestLineParser(t *testing.T) {
	tests := []struct {
		format, line         string
		wantMessage, wantLvl string
	}{
		{"", "  2026-11-24 03:00:00 ERROR db down  ", "2026-11-24 03:00:00 ERROR db down", "ERROR"},
		{"", "[warn] slow query took 3s", "[warn] slow query took 3s", "warn"},
		{"", `ts=2026-11-24T03:00:00Z level=error msg="db down"`, `ts=2026-11-24T03:00:00Z level=error msg="db down"`, "error"},
		{"", "GET /errors/ERROR 200", "GET /errors/ERROR 200", ""},
		{"", "nothing to see here at all today folks ERROR", "nothing to see here at all today folks ERROR", ""},
		{"<Date> <Time> <Level> <Component>: <Content>", "081109 203615 WARN dfs.DataNode: Slow BlockReceiver", "Slow BlockReceiver", "WARN"},
		{"<Date> <Time> <Level> <Component>: <Content>", "not in the format FATAL", "not in the format FATAL", "FATAL"},
		{"<Date> <Time> <Component>: <Content>", "081109 203615 dfs.DataNode: ERROR Slow BlockReceiver", "ERROR Slow BlockReceiver", "ERROR"},
	}
	for _, tt := range tests {
		p, err := NewLineParser(tt.format)
		if err != nil {
			t.Fatal(err)
		}
		msg, lvl := p.Parse(tt.line)
		if msg != tt.wantMessage || lvl != tt.wantLvl {
			t.Errorf("Parse(%q, %q) = %q, %q; want %q, %q", tt.format, tt.line, msg, lvl, tt.wantMessage, tt.wantLvl)
		}
	}
	if _, err := NewLineParser("<A> <A>"); err == nil || !strings.Contains(err.Error(), `log format "<A> <A>"`) {
		t.Errorf("duplicate field: %v", err)
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"login ok user=ana password=hunter2 from 10.0.0.1", "login ok user=ana password=[REDACTED] from 10.0.0.1"},
		{`{"api_key": "abc123", "n": 1}`, `{"api_key": "[REDACTED]", "n": 1}`},
		{"Authorization: Bearer eyJhbGciOi.eyJzdWIiOiIx.SflKxwRJSMeKKF2QT4", "Authorization: [REDACTED]"},
		{"curl -H 'Authorization: Basic dXNlcjpwYXNz' x", "curl -H 'Authorization: [REDACTED]' x"},
		{"GET https://ana:s3cr3t@example.com/x", "GET https://ana:[REDACTED]@example.com/x"},
		{"token=abc&session_id=42&page=3", "token=[REDACTED]&session_id=[REDACTED]&page=3"},
		{"key AKIAIOSFODNN7EXAMPLE used", "key [REDACTED] used"},
		{"jwt eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.SflKxwRJSMeKKF2Q", "jwt [REDACTED]"},
		{"GET /api/items/12 200 in 5ms", "GET /api/items/12 200 in 5ms"},
		{strings.Repeat("é", 600), strings.Repeat("é", 512) + "…"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestBoundedEvictionOrder(t *testing.T) {
	b := newBounded[int](3)
	mk := func(v int) func() int { return func() int { return v } }
	b.use("old", promoteAfter, mk(1)) // established
	b.use("p1", 1, mk(2))
	b.use("p2", 1, mk(3))
	b.use("p1", 1, nil) // p1 is now the most recently used probationer
	if _, ev := b.use("p3", 1, mk(4)); !ev {
		t.Fatal("no eviction at the cap")
	}
	var keys []string
	for k := range b.m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"old", "p1", "p3"}; !slices.Equal(keys, want) {
		t.Errorf("keys %v, want %v: the least recently used probationer goes first", keys, want)
	}
	// With nobody on probation, the least recently used established key goes.
	b = newBounded[int](2)
	b.use("a", promoteAfter, mk(1))
	b.use("b", promoteAfter, mk(2))
	b.use("a", 1, nil)
	b.use("c", 1, mk(3))
	if _, ok := b.peek("b"); ok {
		t.Error("b survived; it was the least recently used established key")
	}
	if v, ok := b.peek("a"); !ok || v != 1 || b.evictions != 1 {
		t.Errorf("a = %v, %v; evictions %d", v, ok, b.evictions)
	}
}
