package correlate

import (
	"strconv"
	"strings"
	"time"
)

// InhibitRule is one of Alertmanager's inhibit_rules: while a source alert
// fires, targets with the same values of the Equal labels are muted.
type InhibitRule struct {
	Source Matchers // source_matchers; none match every alert
	Target Matchers // target_matchers; none match every alert
	// Equal lists labels whose values must be the same on source and target.
	// A missing label and an empty value are the same, so a target and a
	// source that both lack an Equal label count as equal.
	Equal []string
}

// Inhibition says which rule and which source alert mute a target.
type Inhibition struct {
	Rule   int // index into the rules the Inhibitor was made with
	Source map[string]string
}

// Inhibitor applies inhibit rules with Alertmanager's semantics:
//
//   - A target is muted by a rule when it matches the rule's Target and some
//     source alert matching the rule's Source is firing (not resolved) with
//     equal values of the Equal labels.
//   - When the target itself also matches Source, sources that also match
//     Target are disregarded. So an alert never inhibits itself, and two
//     alerts that each match both sides do not mute each other.
//   - A source mutes even while it is itself silenced or inhibited: there is
//     no chaining, so feed the Inhibitor every alert, muted or not.
//   - Any rule muting is enough.
type Inhibitor struct {
	rules []inhibitRule
}

type inhibitRule struct {
	InhibitRule
	// sources holds the latest report of each alert matching Source, by the
	// values of its Equal labels, then by Key: a target only ever needs the
	// sources that share its values, so a check costs what those cost, not
	// what every source does.
	sources map[string]map[string]Alert
}

// equalKey is the values of the rule's Equal labels in labels.
func (r *inhibitRule) equalKey(labels map[string]string) string {
	var b strings.Builder
	for _, n := range r.Equal {
		b.WriteString(strconv.Quote(labels[n]))
		b.WriteByte(',')
	}
	return b.String()
}

// NewInhibitor returns an inhibitor for rules.
func NewInhibitor(rules ...InhibitRule) *Inhibitor {
	ih := &Inhibitor{}
	for _, r := range rules {
		ih.rules = append(ih.rules, inhibitRule{InhibitRule: r, sources: map[string]map[string]Alert{}})
	}
	return ih
}

// Observe records the latest report of an alert as a possible source.
func (ih *Inhibitor) Observe(a Alert) {
	for i := range ih.rules {
		r := &ih.rules[i]
		if !r.Source.Matches(a.Labels) {
			continue
		}
		k := r.equalKey(a.Labels)
		if r.sources[k] == nil {
			r.sources[k] = map[string]Alert{}
		}
		r.sources[k][Key(a.Labels)] = a
	}
}

// Prune forgets sources resolved at t; they can no longer mute anything at t
// or later unless reported again. It bounds memory in a long-running process.
func (ih *Inhibitor) Prune(t time.Time) {
	for i := range ih.rules {
		for ek, bucket := range ih.rules[i].sources {
			for k, a := range bucket {
				if a.ResolvedAt(t) {
					delete(bucket, k)
				}
			}
			if len(bucket) == 0 {
				delete(ih.rules[i].sources, ek)
			}
		}
	}
}

// Mutes reports whether labels are inhibited at t.
func (ih *Inhibitor) Mutes(labels map[string]string, at time.Time) bool {
	_, ok := ih.InhibitedBy(labels, at)
	return ok
}

// InhibitedBy returns the first rule that mutes labels at t and, of its
// sources that do, the one with the smallest Key.
func (ih *Inhibitor) InhibitedBy(labels map[string]string, at time.Time) (Inhibition, bool) {
	for i := range ih.rules {
		r := &ih.rules[i]
		if !r.Target.Matches(labels) {
			continue
		}
		twoSided := r.Source.Matches(labels)
		var best string
		var found Alert
		for k, a := range r.sources[r.equalKey(labels)] {
			if !a.ActiveAt(at) || (twoSided && r.Target.Matches(a.Labels)) {
				continue
			}
			if best == "" || k < best {
				best, found = k, a
			}
		}
		if best != "" {
			return Inhibition{Rule: i, Source: found.Labels}, true
		}
	}
	return Inhibition{}, false
}
