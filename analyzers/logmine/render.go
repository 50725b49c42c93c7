package logmine

import "strings"

// A template has two texts. Its key (cluster.toks, cluster.text) is the
// masked form lines are grouped by: runs of masked values are one token and
// units join their numbers, so that lines of one event have one length. Its
// display (cluster.display) is what people read and what Loghub's templates
// look like: each variable written as Wildcard inside the punctuation that
// surrounds it in the log ("<*>:<*>" for an address and port, "key=<*>",
// "<*> MB"), one Wildcard per token of a run, and literal text as logged.
//
// The display is rendered from two remembered lines of the template: the
// first, and the last one that generalised it. Where a variable token has the
// same skeleton of punctuation in both, the pieces that differ (or hold
// digits) are variables; where the skeletons differ, the pieces the two
// share at either end are kept around one Wildcard.

// displayDelims split a variable token into pieces for the display. They
// are the delimiters Loghub-2.0 splits templates at before it looks for
// paths, and '@' and '#', which it keeps between variables too.
const displayDelims = " ,!;:=|\"'[](){}@#"

// renderDisplay rebuilds c.display from c.sample and c.alt.
func (m *Miner) renderDisplay(c *cluster) {
	a := &m.rsA
	a.scan(c.sample)
	var b *scanner
	if c.alt != "" {
		b = &m.rsB
		b.scan(c.alt)
	}
	var out strings.Builder
	for i := range c.toks {
		if i > 0 {
			out.WriteByte(' ')
		}
		ra, okA := rawAt(c, a, i)
		rb, okB := "", false
		if b != nil {
			rb, okB = rawAt(c, b, i)
		}
		switch {
		case !okA:
			out.WriteString(c.toks[i])
		case c.kinds[i] == kindWild, c.kinds[i] == kindPartial:
			writeVariable(&out, ra, rb, okB)
		default:
			out.WriteString(c.toks[i])
		}
	}
	c.display = joinVariables(out.String())
}

// joinVariables merges lone wildcards into the variable token next to
// them, as Loghub's templates write values that span tokens: a timestamp
// "Wed Jul 27 10:59:53 2005" is "<*>:<*>:<*>" and a request target
// "/v2/servers HTTP/1.1" one "<*>". Only tokens that are all variable
// (wildcards and punctuation) take them in: lone wildcards side by side (a
// list of numbers, "( <*> <*> <*> )") stay apart, and so do those beside a
// token with literal text ("blk_<*>", "onExtend:<*> <*> <*>").
func joinVariables(d string) string {
	toks := strings.Split(d, " ")
	out := toks[:0]
	for _, t := range toks {
		n := len(out)
		switch {
		case n > 0 && t == Wildcard && out[n-1] != Wildcard && strings.HasSuffix(out[n-1], Wildcard) && allVariable(out[n-1]):
			continue
		case t != Wildcard && strings.HasPrefix(t, Wildcard) && allVariable(t):
			for len(out) > 0 && out[len(out)-1] == Wildcard {
				out = out[:len(out)-1]
			}
		}
		out = append(out, t)
	}
	return strings.Join(out, " ")
}

// allVariable reports whether display token t has no letters or digits
// outside its wildcards.
func allVariable(t string) bool {
	rest := strings.ReplaceAll(t, Wildcard, "")
	for i := 0; i < len(rest); i++ {
		if classes[rest[i]]&(clLetter|clDigit) != 0 {
			return false
		}
	}
	return true
}

// rawAt returns the content that template position i of c stands for in
// the line scanned by s, or ok false when the line does not align with c or
// i is its variable-length wildcard, which may stand for nothing.
func rawAt(c *cluster, s *scanner, i int) (raw string, ok bool) {
	n, m := len(s.toks), len(c.toks)
	j := i
	switch {
	case c.variadic < 0 && n != m, c.variadic >= 0 && n < m-1, i == c.variadic:
		return "", false
	case c.variadic >= 0 && i > c.variadic:
		j = n - (m - i)
	}
	t := s.toks[j]
	return s.content[t.rawOff:t.rawEnd], true
}

// writeVariable writes the display of a variable template position: each
// raw token of the run a (and of b, the same position in the other
// remembered line, when there is one) as its variable pieces masked. Units
// after a number are kept.
func writeVariable(out *strings.Builder, a, b string, haveB bool) {
	ta, tb := rawTokens(a), rawTokens(b)
	if !haveB || len(tb) != len(ta) {
		tb = nil
	}
	for k, t := range ta {
		if k > 0 {
			out.WriteByte(' ')
		}
		if k > 0 && isUnit(strings.Trim(t, "()[]{}<>,;:.")) {
			out.WriteString(t)
			continue
		}
		other, ok := "", false
		if tb != nil {
			other, ok = tb[k], true
		}
		out.WriteString(maskVariable(t, other, ok))
	}
}

// rawTokens splits content into tokens as the scanner does: at whitespace,
// except inside the quoted value of a key.
func rawTokens(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		for i < len(s) && classes[s[i]]&clSpace != 0 {
			i++
		}
		if i == len(s) {
			break
		}
		j, _ := tokenEnd(s, i)
		out = append(out, s[i:j])
		i = j
	}
	return out
}

// maskVariable returns raw token t of a variable position with its variable
// pieces masked. A URL is one variable; otherwise t is cut at displayDelims
// (the quoted value of a key is one piece) and a piece is a variable when it holds a digit, is a hex run or a path,
// or differs from the same piece of u (the token the other remembered line
// has there). When t and u have different skeletons, the pieces they share
// at either end stay around one Wildcard. A token left with no variable is
// a variable as a whole.
func maskVariable(t, u string, haveU bool) string {
	if i := strings.Index(t, "://"); i >= 0 {
		// The scheme stays: "hdfs://<*>".
		_, b := coreBounds(t)
		return t[:i+3] + Wildcard + t[b:]
	}
	if a, b := coreBounds(t); isHexAddress(t[a:b]) {
		return t[:a] + Wildcard + t[b:]
	}
	pt := splitPieces(t)
	var pu []string
	if haveU {
		pu = splitPieces(u)
	}
	var out strings.Builder
	masked := false
	write := func(p string, variable bool) {
		if isDelimPiece(p) {
			out.WriteString(p)
			return
		}
		// A trailing '%' is not part of the value: "<*>%".
		trail := ""
		if len(p) > 1 && p[len(p)-1] == '%' {
			p, trail = p[:len(p)-1], "%"
		}
		if len(p) > 1 && p[0] == '/' && isNumberLike(p[1:]) {
			// An address written as a path, "/10.0.0.1": Loghub keeps the
			// slash.
			out.WriteByte('/')
			p = p[1:]
		}
		keep := len(p)
		if variable {
			keep = 0
		} else if pieceIsVariable(p) {
			keep = literalPrefix(p)
		}
		out.WriteString(p[:keep])
		if keep < len(p) {
			// Adjacent variables are one.
			if !strings.HasSuffix(out.String(), Wildcard) {
				out.WriteString(Wildcard)
			}
			masked = true
		}
		out.WriteString(trail)
	}
	switch {
	case pu != nil && sameSkeleton(pt, pu):
		for i, p := range pt {
			write(p, p != pu[i] || quotedValue(pt, i))
		}
	case pu != nil:
		pre := 0
		for pre < len(pt) && pre < len(pu) && pt[pre] == pu[pre] {
			pre++
		}
		suf := 0
		for suf < len(pt)-pre && suf < len(pu)-pre && pt[len(pt)-1-suf] == pu[len(pu)-1-suf] {
			suf++
		}
		for _, p := range pt[:pre] {
			write(p, false)
		}
		write("x", true)
		for _, p := range pt[len(pt)-suf:] {
			write(p, false)
		}
	default:
		for i, p := range pt {
			write(p, quotedValue(pt, i))
		}
	}
	if !masked {
		a, b := coreBounds(t)
		return t[:a] + Wildcard + t[b:]
	}
	return out.String()
}

// isHexAddress reports whether core is an IPv6 or MAC address (hex digits
// and colons with a hex letter), one value however its colons fall; a clock
// (10:59:53) is not.
func isHexAddress(core string) bool {
	sh := shapeOf(core)
	return sh.colons >= 2 && !sh.notIPv6 && sh.hexLetters > 0
}

// splitPieces cuts t into pieces and the single delimiter bytes between
// them, keeping both.
func splitPieces(t string) []string {
	var out []string
	start := 0
	for i := 0; i < len(t); i++ {
		if strings.IndexByte(displayDelims, t[i]) < 0 {
			continue
		}
		if i > start {
			out = append(out, t[start:i])
		}
		out = append(out, t[i:i+1])
		start = i + 1
		if q := t[i]; (q == '"' || q == '\'') && i > 0 && t[i-1] == '=' {
			// The quoted value of a key is one piece, spaces and all.
			if k := strings.IndexByte(t[i+1:], q); k > 0 {
				out = append(out, t[i+1:i+1+k])
				i += k
				start = i + 1
			}
		}
	}
	if start < len(t) {
		out = append(out, t[start:])
	}
	return out
}

// quotedValue reports whether piece i is the quoted value of a key
// (tag="View Lock"), which the scanner masks whatever it holds.
func quotedValue(pieces []string, i int) bool {
	return i >= 2 && (pieces[i-1] == "\"" || pieces[i-1] == "'") && pieces[i-2] == "="
}

func isDelimPiece(p string) bool {
	return len(p) == 1 && strings.IndexByte(displayDelims, p[0]) >= 0
}

// sameSkeleton reports whether two split tokens have the same delimiters in
// the same places.
func sameSkeleton(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if isDelimPiece(a[i]) != isDelimPiece(b[i]) || isDelimPiece(a[i]) && a[i] != b[i] {
			return false
		}
	}
	return true
}

// literalPrefix returns the length of the literal prefix of a variable
// piece, as the scanner keeps it: "core." of "core.6161", "node-" of
// "node-12"; paths and numbers, hex ones included (b9000564-fe1a), have
// none.
func literalPrefix(p string) int {
	if !hasDigit(p) || strings.Contains(p, "/") || isNumberLike(p) && !isUnitName(p) {
		return 0
	}
	n := wordPrefix(p)
	for i := 0; i < n; i++ {
		if classes[p[i]]&clLetter != 0 {
			return n
		}
	}
	return 0 // a sign or separators only: "-1" is one variable
}

// pieceIsVariable reports whether a piece of a variable token holds a
// variable whatever the other line holds: it has a digit, is a run of hex
// digits or is a path.
func pieceIsVariable(p string) bool {
	if hasDigit(p) || strings.Contains(p, "/") || strings.Contains(p, "\\") {
		return true
	}
	hex := 0
	for i := 0; i < len(p); i++ {
		if classes[p[i]]&clHex != 0 {
			hex++
		}
	}
	return hex >= 8 && hex == len(p) && sameCase(p)
}

// coreBounds returns the bounds of t without its leading and trailing
// punctuation.
func coreBounds(t string) (a, b int) {
	a, b = 0, len(t)
	for a < b && classes[t[a]]&clLead != 0 {
		a++
	}
	for b > a && classes[t[b-1]]&clTrail != 0 {
		b--
	}
	return a, b
}
