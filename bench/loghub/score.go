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
	// PA is parsing accuracy: the share of lines whose parsed template is
	// the true template, both in canonicalTemplate's form, as Loghub-2.0
	// scores it.
	PA float64
	// ExactPA is the share of lines whose parsed template is the true
	// template letter for letter, outer whitespace aside.
	ExactPA float64
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
	correctTemplates, exactTemplates := 0, 0
	for _, l := range kept {
		trueSize[l.TrueID]++
		m := byParsed[l.ParsedID]
		if m == nil {
			m = map[string]int{}
			byParsed[l.ParsedID] = m
		}
		m[l.TrueID]++
		if canonicalTemplate(l.Parsed) == canonicalTemplate(l.TrueTemplate) {
			correctTemplates++
		}
		if strings.TrimSpace(l.Parsed) == strings.TrimSpace(l.TrueTemplate) {
			exactTemplates++
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
	s.ExactPA = float64(exactTemplates) / float64(len(kept))
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
