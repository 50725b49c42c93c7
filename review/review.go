// Package review turns what Vigil recorded into what people read after an
// incident: the timeline of one incident, reports over many, and a postmortem
// draft. Everything is derived from the audit trail, which is tamper-evident,
// with the incident projection adding descriptions (titles, evidence summaries,
// metric series). Building and rendering are pure functions of their inputs, so
// the same records always read the same; load.go gathers the inputs from a store.
package review

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/incident"
)

// Source is what the review of one incident is derived from.
type Source struct {
	Incident incident.Incident
	Audit    []audit.Record // the incident's records, in chain order
}

// Duration is a span of time. JSON carries it as seconds (a number), text as a
// short human form such as 3m12s.
type Duration time.Duration

// MarshalJSON encodes the duration as seconds.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).Seconds())
}

// UnmarshalJSON reads seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var secs float64
	if err := json.Unmarshal(b, &secs); err != nil {
		return fmt.Errorf("duration: want seconds: %w", err)
	}
	*d = Duration(math.Round(secs * float64(time.Second)))
	return nil
}

// String is the duration rounded for reading: 850ms, 1.85s, 42s, 3m12s, 2h05m,
// 3d4h.
func (d Duration) String() string {
	t := time.Duration(d)
	neg := ""
	if t < 0 {
		neg, t = "-", -t
	}
	switch {
	case t < time.Second:
		return neg + t.Round(time.Millisecond).String()
	case t < 10*time.Second:
		return neg + t.Round(10*time.Millisecond).String()
	case t < time.Minute:
		return neg + t.Round(time.Second).String()
	case t < time.Hour:
		t = t.Round(time.Second)
		return fmt.Sprintf("%s%dm%02ds", neg, int(t.Minutes()), int(t.Seconds())%60)
	case t < 48*time.Hour:
		t = t.Round(time.Minute)
		return fmt.Sprintf("%s%dh%02dm", neg, int(t.Hours()), int(t.Minutes())%60)
	default:
		t = t.Round(time.Hour)
		return fmt.Sprintf("%s%dd%dh", neg, int(t.Hours())/24, int(t.Hours())%24)
	}
}

// span is the duration from a to b, or nil when either is unknown.
func span(a, b time.Time) *Duration {
	if a.IsZero() || b.IsZero() {
		return nil
	}
	d := Duration(b.Sub(a))
	return &d
}

// record is an audit record with its time and details decoded: as the typed
// details of its action (nil for an action this version does not know, or
// details that do not fit it), and as a JSON object for generic reading.
type record struct {
	audit.Record
	at      time.Time
	details audit.Details
	d       map[string]any
}

func decode(recs []audit.Record) []record {
	out := make([]record, 0, len(recs))
	for _, r := range recs {
		at, _ := time.Parse(time.RFC3339Nano, r.At)
		var d map[string]any
		_ = json.Unmarshal(r.Details, &d) // details are JSON objects; anything else reads as empty
		typed, ok, err := audit.Decode(r.Action, r.Details)
		if !ok || err != nil {
			typed = nil
		}
		out = append(out, record{Record: r, at: at, details: typed, d: d})
	}
	return out
}

// str is the details field k as text ("" when absent).
func (r record) str(k string) string {
	switch v := r.d[k].(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return fmt.Sprint(v)
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// who is who did the act: the verified actor in the details when the act has
// one (its display name, and the surface and how the identity was verified),
// else the record's actor.
func (r record) who() (name, via string) {
	if a, ok := r.d["actor"].(map[string]any); ok {
		user, _ := a["user"].(string)
		name, _ = a["display_name"].(string)
		if name == "" {
			name = user
		} else if user != "" && user != name {
			name += " (" + user + ")"
		}
		surface, _ := a["surface"].(string)
		verified, _ := a["verification"].(string)
		switch {
		case surface != "" && verified != "":
			via = surface + ", " + verified
		default:
			via = surface + verified
		}
		if name != "" {
			return name, via
		}
	}
	return actorName(r.Actor), ""
}

// actorName reads an audit actor: user:alice is alice, system:NAME is Vigil.
func actorName(actor string) string {
	if u, ok := strings.CutPrefix(actor, "user:"); ok {
		return u
	}
	if s, ok := strings.CutPrefix(actor, "system:"); ok {
		if s == "vigil" {
			return "Vigil"
		}
		return "Vigil (" + s + ")"
	}
	return actor
}

// clock formats a time for reading: UTC unless loc says otherwise.
func clock(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "-"
	}
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02 15:04:05 MST")
}

// oneLine squeezes text onto one line of at most n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
