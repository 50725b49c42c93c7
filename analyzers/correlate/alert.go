package correlate

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Alert is one alert as grouping, inhibition and silences see it. Its identity
// is its label set, as in Alertmanager.
type Alert struct {
	Labels      map[string]string
	Annotations map[string]string
	StartsAt    time.Time
	// EndsAt is when the alert resolved, or when it will count as resolved
	// unless it is sent again. Zero means firing until a later report says
	// otherwise.
	EndsAt time.Time
}

// ResolvedAt reports whether the alert is resolved at t: it has an end and the
// end is not after t (Alertmanager's Alert.ResolvedAt).
func (a Alert) ResolvedAt(t time.Time) bool {
	return !a.EndsAt.IsZero() && !a.EndsAt.After(t)
}

// ActiveAt reports whether the alert fires at t: it has started and is not
// resolved. Alertmanager only checks the end, because it is only ever asked
// about the present; checking the start too makes questions about the past
// answer the same way they would have then.
func (a Alert) ActiveAt(t time.Time) bool {
	return !a.StartsAt.After(t) && !a.ResolvedAt(t)
}

// Key identifies a label set: {name="value", …} with names sorted and values
// quoted. Two alerts with the same key are the same alert.
func Key(labels map[string]string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range slices.Sorted(maps.Keys(labels)) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(labels[k]))
	}
	b.WriteByte('}')
	return b.String()
}

// Matcher tests one label of a label set. A missing label reads as the empty
// string, as in Alertmanager. runbooks.Matcher satisfies it.
type Matcher interface {
	Matches(labels map[string]string) bool
	String() string
}

// Matchers match a label set when every one of them does; no matchers match
// everything.
type Matchers []Matcher

// Matches reports whether every matcher matches labels.
func (ms Matchers) Matches(labels map[string]string) bool {
	for _, m := range ms {
		if !m.Matches(labels) {
			return false
		}
	}
	return true
}

func (ms Matchers) String() string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// Muter decides whether an alert with the given labels is muted at a time.
// Inhibitor and Silences are Muters; the Grouper drops muted alerts from its
// flushes, as Alertmanager's notification pipeline does.
type Muter interface {
	Mutes(labels map[string]string, at time.Time) bool
}

// MuteFunc adapts a function to Muter.
type MuteFunc func(labels map[string]string, at time.Time) bool

// Mutes calls f.
func (f MuteFunc) Mutes(labels map[string]string, at time.Time) bool { return f(labels, at) }

// Muters mute what any of them mutes, asking in order.
type Muters []Muter

// Mutes reports whether any muter mutes labels at t.
func (ms Muters) Mutes(labels map[string]string, at time.Time) bool {
	for _, m := range ms {
		if m.Mutes(labels, at) {
			return true
		}
	}
	return false
}

var (
	_ Muter = MuteFunc(nil)
	_ Muter = Muters(nil)
	_ Muter = (*Inhibitor)(nil)
	_ Muter = (*Silences)(nil)
)
