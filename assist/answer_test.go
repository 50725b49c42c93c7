package assist

import (
	"strings"
	"testing"
)

func testGrounds() *grounds {
	_, g := buildData(fixture(), nil)
	g.links["https://grafana.example/d/checkout"] = true
	return g
}

// TestParseBrief checks each validation rule on its own: one broken thing per
// case, the rest of the brief as in goodBrief.
func TestParseBrief(t *testing.T) {
	tests := []struct {
		name string
		edit func(string) string
		want string // a problem that must be reported; empty: accepted
	}{
		{name: "good", edit: func(s string) string { return s }},
		{name: "component spelled differently", edit: func(s string) string {
			return strings.Replace(s, `"component":"payments"`, `"component":"Payments"`, 1)
		}},
		{name: "percentile is no proposal", edit: func(s string) string {
			return strings.Replace(s, "Checkout itself is degraded.", "Checkout P99 latency is degraded.", 1)
		}},
		{name: "link from the data", edit: func(s string) string {
			return strings.Replace(s, "Checkout itself is degraded.", "See https://grafana.example/d/checkout.", 1)
		}},
		{name: "trailing text", edit: func(s string) string { return s + " Hope this helps!" }, want: "invalid character 'H' after top-level value"},
		{name: "two objects", edit: func(s string) string { return s + s }, want: "invalid character '{' after top-level value"},
		{name: "missing field", edit: func(s string) string { return strings.Replace(s, `"open_questions":`, `"questions":`, 1) }, want: "missing field(s) open_questions"},
		{name: "missing hypothesis field", edit: func(s string) string { return strings.Replace(s, `,"proposals":[]`, ``, 1) }, want: "hypotheses[0] is not the object the schema describes: missing field(s) proposals"},
		{name: "wrong type", edit: func(s string) string { return strings.Replace(s, `"evidence":["E1"]`, `"evidence":"E1"`, 1) }, want: "hypotheses[1] is not the object"},
		{name: "unknown evidence in text", edit: func(s string) string { return strings.Replace(s, "(E2)", "(E7)", 1) }, want: "summary mentions E7, which is not an evidence id in the data"},
		{name: "unknown proposal", edit: func(s string) string { return strings.Replace(s, `"proposals":["P1"]`, `"proposals":["P2"]`, 1) }, want: `hypotheses[1].proposals: "P2" is not a proposal id`},
		{name: "unknown proposal in text", edit: func(s string) string { return strings.Replace(s, "a restart of checkout", "or P3 to scale out", 1) }, want: "mentions P3, which is not a proposal in the data; only the runbook matcher proposes"},
		{name: "timeline id in a brief", edit: func(s string) string { return strings.Replace(s, "(E2)", "(T1)", 1) }, want: "mentions T1, which is not a timeline entry"},
		{name: "no evidence cited", edit: func(s string) string { return strings.Replace(s, `"evidence":["E1"]`, `"evidence":[]`, 1) }, want: "hypotheses[1] cites no evidence"},
		{name: "two sentences", edit: func(s string) string {
			return strings.Replace(s, " Vigil ranks payments first and has proposed P1, a restart of checkout.", "", 1)
		}, want: "summary has 2 sentences; write 3 to 5"},
		{name: "too long", edit: func(s string) string {
			return strings.Replace(s, "Checkout itself is degraded.", strings.Repeat("Checkout is slow. ", 30), 1)
		}, want: "hypotheses[1].statement is 540 characters"},
		{name: "urges approval", edit: func(s string) string {
			return strings.Replace(s, "Checkout itself is degraded.", "The on-call should quickly approve it.", 1)
		}, want: `says "should quickly approve"`},
		{name: "claims a run", edit: func(s string) string {
			return strings.Replace(s, "Checkout itself is degraded.", "I ran the restart already.", 1)
		}, want: `says "I ran"`},
		{name: "run imperative", edit: func(s string) string { return strings.Replace(s, "Checkout itself is degraded.", "Run runbook P1.", 1) }, want: `says "Run runbook P1"`},
		{name: "foreign link", edit: func(s string) string {
			return strings.Replace(s, "Checkout itself is degraded.", "Fix at http://evil.example/x.", 1)
		}, want: "links to http://evil.example/x"},
		{name: "direction override", edit: func(s string) string { return strings.Replace(s, "Checkout itself", "Checkout \u202eitself", 1) }, want: "contains control or direction-override characters"},
		{name: "empty question", edit: func(s string) string {
			return strings.Replace(s, `"Did payments change shortly before 02:58 UTC?"`, `" "`, 1)
		}, want: "open_questions[0] is empty"},
		{name: "no hypotheses", edit: func(s string) string {
			i, j := strings.Index(s, `"hypotheses":[`), strings.Index(s, `"open_questions"`)
			return s[:i] + `"hypotheses":[],` + s[j:]
		}, want: "no hypotheses"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, p := parseBrief(tt.edit(goodBrief), testGrounds())
			got := strings.Join(p, "\n")
			switch {
			case tt.want == "" && len(p) > 0:
				t.Errorf("rejected: %s", got)
			case tt.want != "" && !strings.Contains(got, tt.want):
				t.Errorf("problems %q, want one containing %q", got, tt.want)
			case tt.want == "" && b.Hypotheses[0].Component != "payments":
				t.Errorf("component not spelled as the evidence spells it: %+v", b.Hypotheses[0])
			}
		})
	}
}

func TestSentences(t *testing.T) {
	for s, want := range map[string]int{
		"":                             0,
		"One.":                         1,
		"One. Two! Three?":             3,
		"Score 0.83 rose. Then v1.2 x": 2,
		"Latency is high (E1). It started at 03:00 UTC. Payments failed first": 3,
	} {
		if got := sentences(s); got != want {
			t.Errorf("sentences(%q) = %d, want %d", s, got, want)
		}
	}
}
