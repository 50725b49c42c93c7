package assist

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// Brief is the incident brief the model is asked for: a short summary,
// hypotheses that each rest on cited evidence, and what is still unknown.
type Brief struct {
	Summary       string       `json:"summary"`
	Hypotheses    []Hypothesis `json:"hypotheses"`
	OpenQuestions []string     `json:"open_questions"`
}

// Hypothesis is one explanation of the incident. Component is one of the
// components the evidence names; Evidence cites evidence ids (E1, …);
// Proposals may reference proposals the runbook matcher already made (P1, …).
type Hypothesis struct {
	Component string   `json:"component"`
	Statement string   `json:"statement"`
	Evidence  []string `json:"evidence"`
	Proposals []string `json:"proposals"`
}

// Answer is the answer to a question asked in an incident's thread. Citations
// name evidence (E1, …) and timeline entries (T1, …); Answerable is false when
// the evidence and timeline do not answer the question.
type Answer struct {
	Answer     string   `json:"answer"`
	Answerable bool     `json:"answerable"`
	Citations  []string `json:"citations"`
	Proposals  []string `json:"proposals"`
}

// Limits on what a model may write; longer answers are rejected, not cut, so
// the thread never shows half a sentence.
const (
	maxSummaryChars   = 1200
	maxStatementChars = 400
	maxQuestionChars  = 300
	maxAnswerChars    = 1500
	maxHypotheses     = 5
	maxOpenQuestions  = 5
	minSummarySents   = 3
	maxSummarySents   = 5
	// maxProblems caps the problems reported back to the model and the audit.
	maxProblems = 10
)

// grounds are the facts an answer may cite: exactly the ids and components
// that were in the prompt's data, and the links it held.
type grounds struct {
	evidence   map[string]bool
	timeline   map[string]bool
	proposals  map[string]bool
	components map[string]string // lower-cased -> as the evidence spells it
	links      map[string]bool
}

var (
	// refRE finds ids in free text. Upper-case only: "p99" is a percentile.
	refRE = regexp.MustCompile(`\b([EPT])([0-9]{1,4})\b`)
	// percentiles read like proposal ids ("P99 latency") but are not.
	percentiles = map[string]bool{"P50": true, "P75": true, "P90": true, "P95": true, "P99": true, "P999": true}
	// decideREs catch text that urges or claims a decision. The assistant may
	// describe proposals, never decide on them or press anyone to: an injected
	// "approve P1" must not come out of it in Vigil's voice.
	decideREs = []*regexp.Regexp{
		regexp.MustCompile(`(?i)\b(?:approve|reject|run|execute|trigger|apply)\s+(?:proposal\s+|runbook\s+)?P[0-9]+\b`),
		regexp.MustCompile(`(?i)\b(?:should|must|recommend\w*|suggest\w*|urge\w*)\s+(?:\w+\s+){0,3}(?:approv\w*|reject\w*)\b`),
		regexp.MustCompile(`(?i)\bI\s+(?:have\s+|will\s+|am\s+)?(?:approved?|rejected?|ran|run|executed?|started|running)\b`),
	}
	// controlRE finds control and bidirectional-override characters, which
	// could hide or reorder text on a chat surface.
	controlRE  = regexp.MustCompile("[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
	linkRE     = regexp.MustCompile(`(?i)\bhttps?://[^\s<>"')\]]+`)
	sentenceRE = regexp.MustCompile(`[.!?]+(?:\s+|$)`)
)

// problems collects what is wrong with an answer, for the repair request and
// the audit trail.
type problems []string

func (p *problems) add(format string, args ...any) {
	if len(*p) < maxProblems {
		*p = append(*p, fmt.Sprintf(format, args...))
	}
}

// decodeStrict decodes one JSON object into v: it must be the whole input
// (json.Unmarshal refuses anything after the value), hold every field in
// required and no field v does not declare.
func decodeStrict(data []byte, v any, required ...string) error {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		return fmt.Errorf("not a JSON object: %w", err)
	}
	var missing []string
	for _, k := range required {
		if _, ok := keys[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing field(s) %s", strings.Join(missing, ", "))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// parseBrief decodes and validates a brief. On success the brief's component
// names are spelled as the evidence spells them. It returns the problems found;
// a brief with problems must not be shown.
func parseBrief(out string, g *grounds) (Brief, problems) {
	var p problems
	var raw struct {
		Summary       string            `json:"summary"`
		Hypotheses    []json.RawMessage `json:"hypotheses"`
		OpenQuestions []string          `json:"open_questions"`
	}
	if err := decodeStrict([]byte(out), &raw, "summary", "hypotheses", "open_questions"); err != nil {
		p.add("the answer is not the JSON object the schema describes: %v", err)
		return Brief{}, p
	}
	b := Brief{Summary: strings.TrimSpace(raw.Summary), OpenQuestions: raw.OpenQuestions}
	for i, r := range raw.Hypotheses {
		var h Hypothesis
		if err := decodeStrict(r, &h, "component", "statement", "evidence", "proposals"); err != nil {
			p.add("hypotheses[%d] is not the object the schema describes: %v", i, err)
			continue
		}
		b.Hypotheses = append(b.Hypotheses, h)
	}
	if len(p) > 0 {
		return Brief{}, p
	}

	switch n := sentences(b.Summary); {
	case b.Summary == "":
		p.add("summary is empty")
	case n < minSummarySents || n > maxSummarySents:
		p.add("summary has %d sentences; write %d to %d", n, minSummarySents, maxSummarySents)
	}
	g.checkText(&p, "summary", b.Summary, maxSummaryChars, false)
	if len(b.Hypotheses) > maxHypotheses {
		p.add("%d hypotheses; give at most %d", len(b.Hypotheses), maxHypotheses)
	}
	if len(b.Hypotheses) == 0 && len(g.components) > 0 {
		p.add("no hypotheses; give at least one, naming a component from the data")
	}
	for i := range b.Hypotheses {
		h := &b.Hypotheses[i]
		field := fmt.Sprintf("hypotheses[%d]", i)
		if c, ok := g.components[strings.ToLower(strings.TrimSpace(h.Component))]; ok {
			h.Component = c
		} else {
			p.add("%s.component %q is not a component named in the evidence (%s)", field, h.Component, strings.Join(g.componentList(), ", "))
		}
		if strings.TrimSpace(h.Statement) == "" {
			p.add("%s.statement is empty", field)
		}
		g.checkText(&p, field+".statement", h.Statement, maxStatementChars, false)
		if len(h.Evidence) == 0 {
			p.add("%s cites no evidence; every hypothesis must cite evidence ids", field)
		}
		h.Evidence = g.checkIDs(&p, field+".evidence", h.Evidence, g.evidence, "evidence")
		h.Proposals = g.checkIDs(&p, field+".proposals", h.Proposals, g.proposals, "proposal")
	}
	if len(b.OpenQuestions) > maxOpenQuestions {
		p.add("%d open questions; give at most %d", len(b.OpenQuestions), maxOpenQuestions)
	}
	for i, q := range b.OpenQuestions {
		field := fmt.Sprintf("open_questions[%d]", i)
		if strings.TrimSpace(q) == "" {
			p.add("%s is empty", field)
		}
		g.checkText(&p, field, q, maxQuestionChars, false)
	}
	return b, p
}

// parseAnswer decodes and validates an answer to a question.
func parseAnswer(out string, g *grounds) (Answer, problems) {
	var p problems
	var a Answer
	if err := decodeStrict([]byte(out), &a, "answer", "answerable", "citations", "proposals"); err != nil {
		p.add("the answer is not the JSON object the schema describes: %v", err)
		return Answer{}, p
	}
	a.Answer = strings.TrimSpace(a.Answer)
	if a.Answer == "" {
		p.add("answer is empty")
	}
	g.checkText(&p, "answer", a.Answer, maxAnswerChars, true)
	if a.Answerable && len(a.Citations) == 0 {
		p.add("citations is empty; cite the evidence (E…) or timeline entries (T…) the answer rests on, or set answerable to false")
	}
	cite := maps.Clone(g.evidence)
	maps.Copy(cite, g.timeline)
	a.Citations = g.checkIDs(&p, "citations", a.Citations, cite, "evidence or timeline")
	a.Proposals = g.checkIDs(&p, "proposals", a.Proposals, g.proposals, "proposal")
	return a, p
}

// checkIDs reports ids that are not in known and returns ids without
// duplicates, in the order given.
func (g *grounds) checkIDs(p *problems, field string, ids []string, known map[string]bool, what string) []string {
	var out []string
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if !known[id] {
			p.add("%s: %q is not a%s %s id in the data", field, id, an(what), what)
			continue
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

func an(word string) string {
	if strings.ContainsRune("aeiou", rune(word[0])) {
		return "n"
	}
	return ""
}

// checkText applies the rules every piece of model-written text follows: a
// length cap, no control characters, ids only from the data, links only from
// the data, and no decision urged or claimed.
func (g *grounds) checkText(p *problems, field, s string, maxChars int, timeline bool) {
	if len(s) > maxChars {
		p.add("%s is %d characters; keep it under %d", field, len(s), maxChars)
	}
	if controlRE.MatchString(s) {
		p.add("%s contains control or direction-override characters", field)
	}
	for _, m := range refRE.FindAllStringSubmatch(s, -1) {
		id := m[0]
		switch m[1] {
		case "E":
			if !g.evidence[id] {
				p.add("%s mentions %s, which is not an evidence id in the data", field, id)
			}
		case "P":
			if !g.proposals[id] && !percentiles[id] {
				p.add("%s mentions %s, which is not a proposal in the data; only the runbook matcher proposes", field, id)
			}
		case "T":
			if !timeline || !g.timeline[id] {
				p.add("%s mentions %s, which is not a timeline entry in the data", field, id)
			}
		}
	}
	for _, l := range linkRE.FindAllString(s, -1) {
		if !g.links[strings.TrimRight(l, ".,;:")] {
			p.add("%s links to %s, which is not in the data", field, l)
		}
	}
	for _, re := range decideREs {
		if m := re.FindString(s); m != "" {
			p.add("%s says %q: describe what proposals would do, but never urge, make or claim a decision; humans decide", field, m)
		}
	}
}

func (g *grounds) componentList() []string {
	return slices.Sorted(maps.Values(g.components))
}

// sentences counts the sentences of s: runs of text ended by '.', '!' or '?'
// followed by a space or the end, plus a final unterminated run.
func sentences(s string) int {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	n := len(sentenceRE.FindAllStringIndex(s, -1))
	if !strings.ContainsAny(s[len(s)-1:], ".!?") {
		n++
	}
	return n
}
