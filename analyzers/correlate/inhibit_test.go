package correlate_test

import (
	"testing"
	"time"

	"github.com/vigilops/vigil/analyzers/correlate"
)

func labels(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// TestInhibitAlertmanagerRuleMatches is Alertmanager's TestInhibitRuleMatches
// (inhibit/inhibit_test.go): two rules, one source alert matching only rule
// 1's source side, one matching both sides of rule 2.
func TestInhibitAlertmanagerRuleMatches(t *testing.T) {
	now := t0
	ih := correlate.NewInhibitor(
		correlate.InhibitRule{Source: matchers(t, `s1="1"`), Target: matchers(t, `t1="1"`), Equal: []string{"e"}},
		correlate.InhibitRule{Source: matchers(t, `s2="1"`), Target: matchers(t, `t2="1"`), Equal: []string{"e"}},
	)
	ih.Observe(correlate.Alert{Labels: labels("s1", "1", "t1", "2", "e", "1"), StartsAt: now.Add(-time.Minute), EndsAt: now.Add(time.Hour)})
	ih.Observe(correlate.Alert{Labels: labels("s2", "1", "t2", "1", "e", "1"), StartsAt: now.Add(-time.Minute), EndsAt: now.Add(time.Hour)})
	tests := []struct {
		name   string
		target map[string]string
		want   bool
	}{
		{"matches rule 1's target", labels("t1", "1", "e", "1"), true},
		{"matches rule 2's target", labels("t2", "1", "e", "1"), true},
		{"matches rule 1's target, plus noise", labels("t1", "1", "t3", "1", "e", "1"), true},
		{"matches both rules' targets", labels("t1", "1", "t2", "1", "e", "1"), true},
		{"matches no target", labels("t1", "0", "e", "1"), false},
		{"matches both sides of rule 1; its source matches only the source side", labels("s1", "1", "t1", "1", "e", "1"), true},
		{"matches both sides of rule 2; so does its only source, which is disregarded", labels("s2", "1", "t2", "1", "e", "1"), false},
		{"matches a target, equal label differs", labels("t1", "1", "e", "0"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ih.Mutes(tt.target, now); got != tt.want {
				t.Errorf("Mutes(%v) = %v, want %v", tt.target, got, tt.want)
			}
		})
	}
}

func TestInhibit(t *testing.T) {
	// The usual rule: a critical alert mutes warnings of the same alertname
	// and cluster.
	rule := correlate.InhibitRule{
		Source: matchers(t, `severity="critical"`),
		Target: matchers(t, `severity=~"warning|info"`),
		Equal:  []string{"alertname", "cluster"},
	}
	src := func(start, end string, kv ...string) alert {
		return alert{"HighLatency", append([]string{"severity=critical"}, kv...), start, end}
	}
	tests := []struct {
		name    string
		rules   []correlate.InhibitRule
		sources []alert
		target  map[string]string
		at      string
		want    bool
	}{
		{
			name:    "a firing source mutes a target with equal labels",
			rules:   []correlate.InhibitRule{rule},
			sources: []alert{src("0s", "", "cluster=eu")},
			target:  labels("alertname", "HighLatency", "severity", "warning", "cluster", "eu"),
			at:      "1m", want: true,
		},
		{
			name:    "equal labels differ",
			rules:   []correlate.InhibitRule{rule},
			sources: []alert{src("0s", "", "cluster=eu")},
			target:  labels("alertname", "HighLatency", "severity", "warning", "cluster", "us"),
			at:      "1m", want: false,
		},
		{
			name:    "an equal label missing on both sides counts as equal",
			rules:   []correlate.InhibitRule{rule},
			sources: []alert{src("0s", "")},
			target:  labels("alertname", "HighLatency", "severity", "warning"),
			at:      "1m", want: true,
		},
		{
			name:    "an equal label empty on one side and missing on the other counts as equal",
			rules:   []correlate.InhibitRule{rule},
			sources: []alert{src("0s", "", "cluster=")},
			target:  labels("alertname", "HighLatency", "severity", "warning"),
			at:      "1m", want: true,
		},
		{
			name:    "an equal label present on the source only",
			rules:   []correlate.InhibitRule{rule},
			sources: []alert{src("0s", "", "cluster=eu")},
			target:  labels("alertname", "HighLatency", "severity", "warning"),
			at:      "1m", want: false,
		},
		{
			name:    "a resolved source mutes nothing",
			rules:   []correlate.InhibitRule{rule},
			sources: []alert{src("0s", "30s", "cluster=eu")},
			target:  labels("alertname", "HighLatency", "severity", "warning", "cluster", "eu"),
			at:      "1m", want: false,
		},
		{
			name:    "a source is resolved at its end time",
			rules:   []correlate.InhibitRule{rule},
			sources: []alert{src("0s", "1m", "cluster=eu")},
			target:  labels("alertname", "HighLatency", "severity", "warning", "cluster", "eu"),
			at:      "1m", want: false,
		},
		{
			name:    "a source with an end in the future still fires",
			rules:   []correlate.InhibitRule{rule},
			sources: []alert{src("0s", "5m", "cluster=eu")},
			target:  labels("alertname", "HighLatency", "severity", "warning", "cluster", "eu"),
			at:      "1m", want: true,
		},
		{
			name:    "asked about a time before the source started",
			rules:   []correlate.InhibitRule{rule},
			sources: []alert{src("2m", "", "cluster=eu")},
			target:  labels("alertname", "HighLatency", "severity", "warning", "cluster", "eu"),
			at:      "1m", want: false,
		},
		{
			name:    "a target that does not match target_matchers",
			rules:   []correlate.InhibitRule{rule},
			sources: []alert{src("0s", "", "cluster=eu")},
			target:  labels("alertname", "HighLatency", "severity", "critical", "cluster", "eu"),
			at:      "1m", want: false,
		},
		{
			name: "an alert matching both sides does not inhibit itself",
			rules: []correlate.InhibitRule{{
				Source: matchers(t, `alertname="NodeDown"`), Target: matchers(t, `alertname=~"NodeDown|DiskFull"`), Equal: []string{"node"},
			}},
			sources: []alert{{"NodeDown", []string{"node=n1"}, "0s", ""}},
			target:  labels("alertname", "NodeDown", "node", "n1"),
			at:      "1m", want: false,
		},
		{
			name: "two alerts matching both sides do not mute each other",
			rules: []correlate.InhibitRule{{
				Source: matchers(t, `severity=~"critical|warning"`), Target: matchers(t, `severity=~"critical|warning"`), Equal: []string{"cluster"},
			}},
			sources: []alert{{"A", []string{"severity=critical", "cluster=eu"}, "0s", ""}, {"B", []string{"severity=warning", "cluster=eu"}, "0s", ""}},
			target:  labels("alertname", "B", "severity", "warning", "cluster", "eu"),
			at:      "1m", want: false,
		},
		{
			name: "a two-sided source still mutes a target that matches only the target side",
			rules: []correlate.InhibitRule{{
				Source: matchers(t, `severity=~"critical|warning"`), Target: matchers(t, `severity=~"warning|info"`), Equal: []string{"cluster"},
			}},
			sources: []alert{{"A", []string{"severity=warning", "cluster=eu"}, "0s", ""}},
			target:  labels("alertname", "B", "severity", "info", "cluster", "eu"),
			at:      "1m", want: true,
		},
		{
			name:    "no equal labels: any firing source mutes every target",
			rules:   []correlate.InhibitRule{{Source: matchers(t, `alertname="ClusterDown"`), Target: matchers(t, `severity="warning"`)}},
			sources: []alert{{"ClusterDown", []string{"cluster=eu"}, "0s", ""}},
			target:  labels("alertname", "Other", "severity", "warning", "cluster", "us"),
			at:      "1m", want: true,
		},
		{
			name: "no chaining: an inhibited source still inhibits",
			rules: []correlate.InhibitRule{
				{Source: matchers(t, `alertname="A"`), Target: matchers(t, `alertname="B"`)},
				{Source: matchers(t, `alertname="B"`), Target: matchers(t, `alertname="C"`)},
			},
			sources: []alert{{"A", nil, "0s", ""}, {"B", nil, "0s", ""}},
			target:  labels("alertname", "C"),
			at:      "1m", want: true,
		},
		{
			name:    "the latest report of a source wins",
			rules:   []correlate.InhibitRule{rule},
			sources: []alert{src("0s", "", "cluster=eu"), src("0s", "30s", "cluster=eu")},
			target:  labels("alertname", "HighLatency", "severity", "warning", "cluster", "eu"),
			at:      "1m", want: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ih := correlate.NewInhibitor(tt.rules...)
			for _, s := range tt.sources {
				ih.Observe(s.build(t))
			}
			if got := ih.Mutes(tt.target, at(t, tt.at)); got != tt.want {
				t.Errorf("Mutes = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestInhibitedBySaysWhichRuleAndSource(t *testing.T) {
	ih := correlate.NewInhibitor(
		correlate.InhibitRule{Source: matchers(t, `alertname="Never"`), Target: matchers(t, `severity="warning"`)},
		correlate.InhibitRule{Source: matchers(t, `severity="critical"`), Target: matchers(t, `severity="warning"`), Equal: []string{"cluster"}},
	)
	for _, name := range []string{"Zeta", "Alpha"} {
		ih.Observe(alert{name, []string{"severity=critical", "cluster=eu"}, "0s", ""}.build(t))
	}
	got, ok := ih.InhibitedBy(labels("alertname", "X", "severity", "warning", "cluster", "eu"), at(t, "1m"))
	if !ok || got.Rule != 1 || got.Source["alertname"] != "Alpha" {
		t.Fatalf("InhibitedBy = %+v %v, want rule 1 by Alpha (the smallest source)", got, ok)
	}
}

func TestInhibitorPrune(t *testing.T) {
	ih := correlate.NewInhibitor(correlate.InhibitRule{Source: matchers(t, `alertname="A"`), Target: matchers(t, `alertname="B"`)})
	ih.Observe(alert{"A", nil, "0s", "1m"}.build(t))
	ih.Prune(at(t, "2m"))
	// Asked about a time the pruned source fired at: it is gone.
	if ih.Mutes(labels("alertname", "B"), at(t, "30s")) {
		t.Error("a pruned source still mutes")
	}
}

func TestSilencedSourceStillInhibits(t *testing.T) {
	ih := correlate.NewInhibitor(correlate.InhibitRule{Source: matchers(t, `alertname="A"`), Target: matchers(t, `alertname="B"`)})
	ss := correlate.NewSilences()
	if err := ss.Set(correlate.Silence{ID: "s1", Matchers: matchers(t, `alertname="A"`), StartsAt: t0, EndsAt: at(t, "1h"), CreatedBy: "ana", Comment: "known"}, t0); err != nil {
		t.Fatal(err)
	}
	a := alert{"A", nil, "0s", ""}.build(t)
	ih.Observe(a)
	mute := correlate.Muters{ih, ss}
	if !mute.Mutes(a.Labels, at(t, "1m")) || !mute.Mutes(labels("alertname", "B"), at(t, "1m")) {
		t.Error("want the source silenced and the target inhibited")
	}
}
