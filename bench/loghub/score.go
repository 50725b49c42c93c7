package main

import "strings"

// score is the accuracy of a parse of one system against Loghub's ground
// truth.
type score struct {
	// Lines is the number of lines scored: lines with a true EventId.
	Lines int
	// GA is grouping accuracy: the share of lines in parsed groups that hold
	// exactly the lines of one true event.
	GA float64
	// PA is parsing accuracy: the share of lines whose parsed template equals
	// the true template after normalizeTemplate.
	PA float64
	// Precision, Recall and F1 count pairs of lines grouped together, as in
	// the Loghub benchmark's get_accuracy.
	Precision, Recall, F1 float64
}

// line is one scored line: its true and parsed event and template.
type line struct {
	TrueID, TrueTemplate string
	ParsedID, Parsed     string
}

// scoreLines scores a parse. Lines without a true EventId are dropped first,
// as Loghub's evaluator does.
func scoreLines(lines []line) score {
	var kept []line
	for _, l := range lines {
		if l.TrueID != "" {
			kept = append(kept, l)
		}
	}
	s := score{Lines: len(kept)}
	if len(kept) == 0 {
		return s
	}
	trueSize := map[string]int{}
	byParsed := map[string]map[string]int{} // parsed id -> true id -> lines
	correctTemplates := 0
	for _, l := range kept {
		trueSize[l.TrueID]++
		m := byParsed[l.ParsedID]
		if m == nil {
			m = map[string]int{}
			byParsed[l.ParsedID] = m
		}
		m[l.TrueID]++
		if normalizeTemplate(l.Parsed) == normalizeTemplate(l.TrueTemplate) {
			correctTemplates++
		}
	}
	var realPairs, parsedPairs, accuratePairs float64
	for _, n := range trueSize {
		realPairs += pairs(n)
	}
	grouped := 0
	for _, trues := range byParsed {
		size := 0
		for _, n := range trues {
			size += n
			accuratePairs += pairs(n)
		}
		parsedPairs += pairs(size)
		if len(trues) == 1 {
			for id, n := range trues {
				if n == trueSize[id] {
					grouped += n
				}
			}
		}
	}
	s.GA = float64(grouped) / float64(len(kept))
	s.PA = float64(correctTemplates) / float64(len(kept))
	if parsedPairs > 0 {
		s.Precision = accuratePairs / parsedPairs
	}
	if realPairs > 0 {
		s.Recall = accuratePairs / realPairs
	}
	if s.Precision+s.Recall > 0 {
		s.F1 = 2 * s.Precision * s.Recall / (s.Precision + s.Recall)
	}
	return s
}

func pairs(n int) float64 { return float64(n) * float64(n-1) / 2 }

// normalizeTemplate puts a template in the form used to compare templates
// for PA, so that the miner's wildcards and Loghub's compare fairly:
// whitespace runs become one space, a token holding a wildcard is one
// wildcard (Loghub writes "blk_<*>" or "<*>:<*>" where the miner may write
// "<*>", and the reverse), and runs of wildcard tokens become one (the miner
// collapses multi-token values such as timestamps; Loghub gives each token
// its own wildcard). Literal tokens must match exactly.
func normalizeTemplate(t string) string {
	var b strings.Builder
	prevWild := false
	for _, tok := range strings.Fields(t) {
		wild := strings.Contains(tok, "<*>")
		if wild && prevWild {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		if wild {
			tok = "<*>"
		}
		b.WriteString(tok)
		prevWild = wild
	}
	return b.String()
}
