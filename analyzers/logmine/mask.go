package logmine

import (
	"bytes"
	"strings"
)

// Wildcard marks a variable part of a template, as in Loghub's templates.
const Wildcard = "<*>"

// tokenKind classifies a masked token. The miner treats the kinds differently
// when it decides whether two lines belong to the same template.
type tokenKind uint8

const (
	// kindConst is literal text that does not read as a word, e.g. "()",
	// "workerEnv.init()" or "z+".
	kindConst tokenKind = iota
	// kindWord is literal text made of letters (or a unit name such as eth0),
	// possibly as the value of a key (user=root, ret:false), e.g. "GET",
	// "Paused", "bytes". Two different words at one position mark two events
	// rather than a variable, unless many different words occur there (see
	// Miner).
	kindWord
	// kindPartial is text with a masked part, e.g. "blk_<*>" or "(uid=<*>)".
	kindPartial
	// kindWild is exactly Wildcard.
	kindWild
	// kindDate is a month or weekday name. The scanner turns it into
	// kindWild when it stands next to masked values (a timestamp) and into
	// kindWord otherwise ("May not ..."); it never leaves the scanner.
	kindDate
)

// span is a token as a byte range of scanner.key, and the byte range of the
// scanned content it stands for (several raw tokens when a run of masked
// values collapsed into it, or a unit joined its number).
type span struct {
	off, end       int32
	rawOff, rawEnd int32
	kind           tokenKind
}

// scanner splits a message into whitespace-separated tokens and masks the
// variable parts of each token. It keeps its buffers between calls so that
// scanning allocates nothing once they have grown.
//
// Masking rules, applied to each token after leading "([{<\"'" and trailing
// ")]}>\"',;:.!?" punctuation is set aside (the punctuation is kept):
//   - URLs (contain "://"), paths (start with "/", "./", "../", "~/", "\\" or a
//     drive "C:\", or hold two or more "/" or "\") and IPv6, MAC and clock
//     values (hex digits and dots with two or more colons) are one wildcard;
//   - otherwise the token is cut into pieces at "=:,;()[]{}<>\"'|@/\\" and each
//     piece holding a digit is masked: numbers, hex, IPv4, UUIDs, dates and
//     values with units (30ms, 64MB) become a wildcard; an identifier keeps
//     its word prefix (blk_<*>, node-<*>, core.<*>, storage<*>); a unit name,
//     a word and one digit (eth0, ssh2, jk2_init), is kept;
//   - digit-free hex runs of 8 or more characters are masked;
//   - a quoted value of a key (tag="View Lock") is one masked value even when
//     it holds spaces; free-standing quoted text is tokenised like the rest
//     because it often carries the event's verb ("GET /v2/... HTTP/1.1");
//   - a size unit after a number belongs to it ("384.0 B" and "1.2 KB");
//   - month and weekday names next to masked values are masked
//     (Tue Jul 26 05:47:42 2005);
//   - a token whose masked form is only wildcards and separators
//     (10.0.0.1:50010, 05:47:42) is one wildcard, and runs of wildcard tokens
//     collapse into one, so that values spanning a varying number of tokens
//     (timestamps, lists of numbers) give lines of one length.
type scanner struct {
	content string // the scanned content
	key     []byte // the masked line: tokens joined by one space
	toks    []span // tokens in key
	dates   bool   // some token is kindDate
	rawOff  int32  // content range of the raw token being masked
	rawEnd  int32
}

// maxLineTokens bounds the work and memory spent on one line: tokens past the
// limit are masked as one trailing wildcard.
const maxLineTokens = 256

// scan masks content. Afterwards s.key holds the masked line and s.toks its
// tokens; both are valid until the next call.
func (s *scanner) scan(content string) {
	s.content = content
	s.key = s.key[:0]
	s.toks = s.toks[:0]
	s.dates = false
	i := 0
	for i < len(content) {
		for i < len(content) && classes[content[i]]&clSpace != 0 {
			i++
		}
		if i == len(content) {
			break
		}
		s.rawOff = int32(i)
		if len(s.toks) == maxLineTokens-1 {
			s.rawEnd = int32(len(content))
			s.push(len(s.key), kindWild)
			s.key = append(s.key, Wildcard...)
			s.close(kindWild)
			break
		}
		j, every := tokenEnd(content, i)
		s.rawEnd = int32(j)
		if every&clLetter != 0 {
			s.maskWord(content[i:j])
		} else {
			s.maskToken(content[i:j])
		}
		i = j
	}
	if s.dates {
		s.resolveDates()
	}
}

// push starts a token at off, writing the separating space.
func (s *scanner) push(off int, kind tokenKind) {
	if len(s.toks) > 0 {
		s.key = append(s.key, ' ')
		off++
	}
	s.toks = append(s.toks, span{off: int32(off), rawOff: s.rawOff, rawEnd: s.rawEnd, kind: kind})
}

// close ends the token started by push. A wildcard following a wildcard is
// dropped: runs of masked values are one value.
func (s *scanner) close(kind tokenKind) {
	n := len(s.toks)
	if kind == kindWild && n >= 2 && s.toks[n-2].kind == kindWild {
		s.key = s.key[:s.toks[n-2].end]
		s.toks[n-2].rawEnd = s.toks[n-1].rawEnd
		s.toks = s.toks[:n-1]
		return
	}
	s.toks[n-1].end = int32(len(s.key))
	s.toks[n-1].kind = kind
}

// tokenEnd returns the end of the token starting at i: the next whitespace,
// except that a quoted value of a key (k="a b") extends to its closing quote.
// every is the intersection of the classes of the token's bytes.
func tokenEnd(s string, i int) (end int, every uint16) {
	every = ^uint16(0)
	for j := i; j < len(s); j++ {
		c := s[j]
		cl := classes[c]
		if cl&(clSpace|clQuote) == 0 {
			every &= cl
			continue
		}
		if cl&clSpace != 0 {
			return j, every
		}
		every = 0
		if j > i && s[j-1] == '=' {
			if k := strings.IndexByte(s[j+1:], c); k >= 0 {
				j += 1 + k
			}
		}
	}
	return len(s), every
}

// hasKeyQuote reports whether s holds '=' followed by quote q.
func hasKeyQuote(s string, q byte) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '=' && s[i+1] == q {
			return true
		}
	}
	return false
}

// shape summarises a token core in one pass.
type shape struct {
	all         uint16 // union of the classes of its bytes
	digits      int
	hexLetters  int // a-f and A-F
	slashes     int
	backslashes int
	colons      int
	notIPv6     bool // holds a byte other than a hex digit, ':' and '.'
	value       int  // start of the value after the last '=' or ':'
}

func shapeOf(core string) shape {
	var sh shape
	var bits uint8
	for i := 0; i < len(core); i++ {
		c := core[i]
		sh.all |= classes[c]
		f := shapeBits[c]
		bits |= f
		sh.digits += int(f & sbDigit)
		sh.hexLetters += int(f>>1) & 1
		if f&sbSpecial != 0 {
			switch c {
			case ':':
				sh.colons++
				sh.value = i + 1
			case '/':
				sh.slashes++
			case '\\':
				sh.backslashes++
			case '=':
				sh.value = i + 1
			}
		}
	}
	sh.notIPv6 = bits&sbNotIPv6 != 0
	return sh
}

// Bits of shapeBits, which lets shapeOf classify a byte with one lookup.
const (
	sbDigit     = 1 << iota // 0-9
	sbHex                   // a-f A-F
	sbNotIPv6               // not a hex digit, ':' or '.'
	sbSpecial               // one of : / \ = (counted or located by shapeOf)
	sbNumberish             // a digit, a hex letter or . - _ + x X (see maskPiece)
)

var shapeBits = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch c {
		case '.', '-', '_', '+', 'x', 'X':
			t[c] |= sbNumberish
		}
		switch {
		case c >= '0' && c <= '9':
			t[c] |= sbDigit | sbNumberish
		case c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
			t[c] |= sbHex | sbNumberish
		case c == ':':
			t[c] |= sbSpecial
		case c == '.':
		case c == '/', c == '\\', c == '=':
			t[c] |= sbNotIPv6 | sbSpecial
		default:
			t[c] |= sbNotIPv6
		}
	}
	return t
}()

// maskWord appends a token made of letters only, as maskToken would, without
// the work of shapeOf: most tokens are words.
func (s *scanner) maskWord(t string) {
	if isUnit(t) && s.endsInValue() {
		s.toks[len(s.toks)-1].rawEnd = s.rawEnd
		return
	}
	s.push(len(s.key), kindConst)
	if len(t) >= 8 && isHexRun(t) {
		s.appendMasked(t, 0, len(t))
		return
	}
	s.key = append(s.key, t...)
	if isDateName(t) {
		s.dates = true
		s.close(kindDate)
		return
	}
	s.close(kindWord)
}

// isHexRun reports whether s is all hex digits in one case.
func isHexRun(s string) bool {
	for i := 0; i < len(s); i++ {
		if classes[s[i]]&clHex == 0 {
			return false
		}
	}
	return sameCase(s)
}

// maskToken appends the masked form of one raw token.
func (s *scanner) maskToken(t string) {
	s.maskRaw(t)
	s.settle()
}

// maskRaw appends the masked form of one raw token, before settle.
func (s *scanner) maskRaw(t string) {
	a, b := 0, len(t)
	for a < b && classes[t[a]]&clLead != 0 {
		a++
	}
	for b > a && classes[t[b-1]]&clTrail != 0 {
		b--
	}
	// A quote closing a key's quoted value belongs to the core, so that
	// tag="View Lock" is one masked value.
	if b < len(t) && (t[b] == '"' || t[b] == '\'') && hasKeyQuote(t[a:b], t[b]) {
		b++
	}
	core := t[a:b]
	sh := shapeOf(core)
	if a == 0 && sh.all&(clDigit|clDelim) == 0 && isUnit(core) && s.endsInValue() {
		// "384.0 B", "850 bytes", "(1.16 KB)": the unit is part of the
		// masked number.
		last := &s.toks[len(s.toks)-1]
		last.rawEnd = s.rawEnd
		if b < len(t) {
			s.key = append(s.key, t[b:]...)
			last.end, last.kind = int32(len(s.key)), kindPartial
		}
		return
	}
	s.push(len(s.key), kindConst)
	switch {
	case core == "":
		s.key = append(s.key, t...)
		s.close(kindConst)
	case sh.all&(clDigit|clDelim) == 0:
		// Plain text: letters and separators only.
		if sh.hexLetters >= 8 && sh.hexLetters == len(core) && sameCase(core) {
			s.appendMasked(t, a, b)
			return
		}
		s.key = append(s.key, t...)
		switch {
		case isDateName(core):
			s.dates = true
			s.close(kindDate)
		case isWordValue(core[sh.value:]):
			s.close(kindWord)
		default:
			s.close(kindConst)
		}
	case isWholeVariable(core, sh):
		s.appendMasked(t, a, b)
	default:
		s.key = append(s.key, t[:a]...)
		coreOff := len(s.key)
		s.maskPieces(core)
		if !onlyWildAndSeparators(s.key[coreOff:]) {
			s.key = append(s.key, t[b:]...)
			off := s.toks[len(s.toks)-1].off
			switch {
			case containsWildcard(s.key[off:]):
				s.close(kindPartial)
			case isWordValue(core[sh.value:]):
				s.close(kindWord)
			default:
				s.close(kindConst)
			}
			return
		}
		s.key = s.key[:coreOff-a]
		s.appendMasked(t, a, b)
	}
}

// appendMasked writes token t with its core t[a:b] masked as one wildcard.
func (s *scanner) appendMasked(t string, a, b int) {
	s.key = append(s.key, t[:a]...)
	s.key = append(s.key, Wildcard...)
	s.key = append(s.key, t[b:]...)
	if a == 0 && b == len(t) {
		s.close(kindWild)
	} else {
		s.close(kindPartial)
	}
}

// endsInValue reports whether the last token is a masked value a unit may
// follow: a wildcard, or one after opening brackets ("(<*>" of "(1.16 KB)").
func (s *scanner) endsInValue() bool {
	n := len(s.toks)
	if n == 0 {
		return false
	}
	t := s.toks[n-1]
	if t.kind == kindWild {
		return true
	}
	text := s.key[t.off:t.end]
	if t.kind != kindPartial || len(text) < len(Wildcard) || string(text[len(text)-len(Wildcard):]) != Wildcard {
		return false
	}
	for _, c := range text[:len(text)-len(Wildcard)] {
		if !isOpenBracket(c) {
			return false
		}
	}
	return true
}

// settle rewrites the token just masked when it is a masked value in
// disguise, so that values written in more than one way give lines of one
// length:
//   - a value after a comparison sign, "<<*>" of "lifetime <1 sec", is a
//     masked value;
//   - text in brackets right after a masked value annotates it, as in
//     "850 bytes (0.83 KB) sent" or "from 10.0.0.1 (host.example.net) at",
//     and joins it: "850 bytes sent" and "from 10.0.0.1 () at" then have the
//     same length. Words in brackets, "(reserved)", and key=value text are
//     not annotations.
func (s *scanner) settle() {
	n := len(s.toks)
	if n == 0 || s.toks[n-1].kind == kindWild {
		return
	}
	t := &s.toks[n-1]
	text := s.key[t.off:t.end]
	if len(text) == len(Wildcard)+1 && (text[0] == '<' || text[0] == '>') && string(text[1:]) == Wildcard {
		s.key = append(s.key[:t.off], Wildcard...)
		t.end = int32(len(s.key))
		s.close(kindWild)
		return
	}
	if n < 2 || s.toks[n-2].kind != kindWild || t.kind == kindWord || len(text) < 2 ||
		!isOpenBracket(text[0]) || text[len(text)-1] != closerOf(text[0]) || bytes.ContainsAny(text, "=:") {
		return
	}
	s.key = s.key[:s.toks[n-2].end]
	s.toks[n-2].rawEnd = t.rawEnd
	s.toks = s.toks[:n-1]
}

func closerOf(c byte) byte {
	switch c {
	case '(':
		return ')'
	case '[':
		return ']'
	}
	return '}'
}

func isOpenBracket(c byte) bool { return c == '(' || c == '[' || c == '{' }

// maskPieces appends core with each digit-bearing piece masked.
func (s *scanner) maskPieces(core string) {
	i := 0
	for i < len(core) {
		c := core[i]
		if classes[c]&clDelim != 0 {
			s.key = append(s.key, c)
			i++
			if (c == '"' || c == '\'') && i >= 2 && core[i-2] == '=' {
				// Quoted value of a key: mask up to the closing quote.
				end := strings.IndexByte(core[i:], c)
				if end < 0 {
					end = len(core) - i
				}
				if end > 0 {
					s.key = append(s.key, Wildcard...)
				}
				i += end
			}
			continue
		}
		j := i
		for j < len(core) && classes[core[j]]&clDelim == 0 {
			j++
		}
		s.maskPiece(core[i:j])
		i = j
	}
}

// maskPiece appends one delimiter-free piece, masked if it is variable.
func (s *scanner) maskPiece(p string) {
	digits, hexLetters := 0, 0
	var every uint8 = sbNumberish // digits, hex letters and the separators of numbers only
	for i := 0; i < len(p); i++ {
		f := shapeBits[p[i]]
		digits += int(f & sbDigit)
		hexLetters += int(f>>1) & 1
		every &= f
	}
	numberLike := every != 0 && len(p) > 0
	if digits == 0 {
		if hexLetters >= 8 && hexLetters == len(p) && sameCase(p) {
			s.key = append(s.key, Wildcard...)
			return
		}
		s.key = append(s.key, p...)
		return
	}
	if numberLike && !isUnitName(p) {
		s.key = append(s.key, Wildcard...)
		return
	}
	keep := wordPrefix(p)
	s.key = append(s.key, p[:keep]...)
	if keep < len(p) {
		s.key = append(s.key, Wildcard...)
	}
}

// wordPrefix returns the length of the literal prefix of piece p; the rest
// is a variable. p is cut into segments at "_-.#"; segments without digits
// and unit names (see isUnitName) are literal, and the first other segment
// starts the variable, except that its leading letters stay literal when
// only digits follow them (storage234 -> storage<*>). So blk_-123 -> blk_<*>,
// node-12 -> node-<*>, instruction...0 -> instruction...<*>,
// attempt_2017_0024_m_1 -> attempt_<*>, jk2_init -> jk2_init.
func wordPrefix(p string) int {
	i := 0
	for i < len(p) {
		j := i
		for j < len(p) && classes[p[j]]&clSegSep == 0 {
			j++
		}
		seg := p[i:j]
		if hasDigit(seg) && !isUnitName(seg) {
			k := 0
			for k < len(seg) && classes[seg[k]]&clLetter != 0 {
				k++
			}
			if k > 0 && allDigits(seg[k:]) {
				return i + k
			}
			// A '-' that ends a longer separator run is the sign of the
			// number after it: blk_-123 and blk_123 both give blk_<*>.
			if i >= 2 && p[i-1] == '-' && classes[p[i-2]]&clSegSep != 0 {
				return i - 1
			}
			return i
		}
		for j < len(p) && classes[p[j]]&clSegSep != 0 {
			j++
		}
		i = j
	}
	return len(p)
}

// isNumberLike reports whether p reads as a number, a hex id or an
// address: only hex digits and the separators of numbers (. - _ + x X),
// with a digit in its first segment ("b9000564-fe1a", "0x1f", "10.0.0.1",
// but not "dcbf.........0", a name and a counter).
func isNumberLike(p string) bool {
	var every uint8 = sbNumberish
	for i := 0; i < len(p); i++ {
		every &= shapeBits[p[i]]
	}
	first := p
	if i := strings.IndexAny(p, ".-_+"); i >= 0 {
		first = p[:i]
	}
	return every != 0 && hasDigit(first)
}

// isUnitName reports whether s is a word of two or more letters and one
// digit (eth0, ssh2, md5, alt0): the name of a unit, port or protocol rather
// than a counter.
func isUnitName(s string) bool {
	n := len(s)
	if n < 3 || !isDigit(s[n-1]) {
		return false
	}
	for i := 0; i < n-1; i++ {
		if classes[s[i]]&clLetter == 0 {
			return false
		}
	}
	return true
}

// isWholeVariable reports whether a token core is one variable value as a
// whole: a URL, a path, or an IPv6, MAC or clock value.
func isWholeVariable(core string, sh shape) bool {
	switch {
	case sh.slashes >= 2 || sh.backslashes >= 2:
		return true // paths, URLs, dates such as 2016/9/27
	case len(core) >= 2 && core[0] == '/':
		return true
	case strings.HasPrefix(core, "./"), strings.HasPrefix(core, "~/"), strings.HasPrefix(core, "../"):
		return true
	case len(core) >= 3 && classes[core[0]]&clLetter != 0 && core[1] == ':' && core[2] == '\\':
		return true
	}
	return sh.colons >= 2 && !sh.notIPv6 && (sh.digits > 0 || strings.Contains(core, "::"))
}

// isWordValue reports whether v, a token core or the value after its key,
// reads as a word: a letter, then letters or inner "_-'", or a unit name.
// Such tokens are the verbs, states and enum values that tell events apart.
func isWordValue(v string) bool {
	if v == "" || classes[v[0]]&clLetter == 0 {
		return false
	}
	for i := 1; i < len(v); i++ {
		if classes[v[i]]&(clLetter|clWordInner) == 0 {
			return i == len(v)-1 && isUnitName(v)
		}
	}
	return true
}

// isUnit reports whether core names a unit of size or time that may follow
// a number ("850 bytes", "3 sec"). Such a unit joins its number in the key.
func isUnit(core string) bool {
	if isSizeUnit(core) {
		return true
	}
	switch core {
	case "bytes", "ms", "us", "ns", "sec", "secs", "second", "seconds", "min", "mins", "minute", "minutes", "hours":
		return true
	}
	return false
}

func isSizeUnit(core string) bool {
	switch core {
	case "B", "kB", "KB", "MB", "GB", "TB", "PB", "KiB", "MiB", "GiB", "TiB", "PiB":
		return true
	}
	return false
}

func isDateName(core string) bool {
	if len(core) < 3 || len(core) > 9 || core[0] < 'A' || core[0] > 'Z' {
		return false
	}
	switch core {
	case "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
		"January", "February", "March", "April", "June", "July", "August", "September",
		"October", "November", "December",
		"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun",
		"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday":
		return true
	}
	return false
}

// resolveDates masks month and weekday names that belong to a run of
// masked values, makes the others words, and rewrites the line.
func (s *scanner) resolveDates() {
	for i := range s.toks {
		if s.toks[i].kind != kindDate {
			continue
		}
		lo, hi := i, i
		for lo > 0 && (s.toks[lo-1].kind == kindDate || s.toks[lo-1].kind == kindWild) {
			lo--
		}
		for hi+1 < len(s.toks) && (s.toks[hi+1].kind == kindDate || s.toks[hi+1].kind == kindWild) {
			hi++
		}
		kind := kindWord
		for k := lo; k <= hi; k++ {
			if s.toks[k].kind == kindWild {
				kind = kindWild
				break
			}
		}
		for k := lo; k <= hi; k++ {
			if s.toks[k].kind == kindDate {
				s.toks[k].kind = kind
			}
		}
	}
	// Rewrite in place: tokens only shrink or vanish, so writes never
	// overtake reads.
	w, n := 0, 0
	for _, t := range s.toks {
		if t.kind == kindWild && n > 0 && s.toks[n-1].kind == kindWild {
			s.toks[n-1].rawEnd = t.rawEnd
			continue
		}
		if n > 0 {
			s.key[w] = ' '
			w++
		}
		off := w
		if t.kind == kindWild {
			w += copy(s.key[w:], Wildcard)
		} else {
			w += copy(s.key[w:], s.key[t.off:t.end])
		}
		s.toks[n] = span{off: int32(off), end: int32(w), rawOff: t.rawOff, rawEnd: t.rawEnd, kind: t.kind}
		n++
	}
	s.key = s.key[:w]
	s.toks = s.toks[:n]
}

func onlyWildAndSeparators(b []byte) bool {
	wild := false
	for i := 0; i < len(b); {
		if b[i] == '<' && i+2 < len(b) && b[i+1] == '*' && b[i+2] == '>' {
			wild = true
			i += 3
			continue
		}
		if classes[b[i]]&(clDigit|clLetter) != 0 {
			return false
		}
		i++
	}
	return wild
}

func containsWildcard(b []byte) bool {
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '<' && b[i+1] == '*' && b[i+2] == '>' {
			return true
		}
	}
	return false
}

// Byte classes.
const (
	clDigit     = 1 << iota // 0-9
	clHex                   // a-f A-F
	clLetter                // A-Z a-z, and bytes of multi-byte UTF-8 sequences so that words in any script are words
	clDelim                 // piece delimiters: = : , ; ( ) [ ] { } < > " ' | @ / \
	clSegSep                // identifier segment separators: _ - . #
	clWordInner             // allowed inside a word: _ - '
	clLead                  // leading punctuation set aside: ( [ { < " '
	clTrail                 // trailing punctuation set aside: ) ] } > " ' , ; : . ! ?
	clSpace                 // whitespace
	clQuote                 // " and '
)

var classes = func() (t [256]uint16) {
	for c := 0; c < 256; c++ {
		switch {
		case c >= '0' && c <= '9':
			t[c] |= clDigit
		case c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
			t[c] |= clHex | clLetter
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= 0x80:
			t[c] |= clLetter
		}
	}
	for _, c := range []byte("=:,;()[]{}<>\"'|@/\\") {
		t[c] |= clDelim
	}
	for _, c := range []byte("_-.#") {
		t[c] |= clSegSep
	}
	for _, c := range []byte("_-'") {
		t[c] |= clWordInner
	}
	for _, c := range []byte("([{<\"'") {
		t[c] |= clLead
	}
	for _, c := range []byte(")]}>\"',;:.!?") {
		t[c] |= clTrail
	}
	for _, c := range []byte(" \t\r\n\v\f") {
		t[c] |= clSpace
	}
	t['"'] |= clQuote
	t['\''] |= clQuote
	return t
}()

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func hasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			return true
		}
	}
	return false
}

// sameCase reports whether s has no upper-case or no lower-case ASCII
// letters: hex is written in one case.
func sameCase(s string) bool {
	lower, upper := false, false
	for i := 0; i < len(s); i++ {
		lower = lower || s[i] >= 'a' && s[i] <= 'z'
		upper = upper || s[i] >= 'A' && s[i] <= 'Z'
	}
	return !(lower && upper)
}
