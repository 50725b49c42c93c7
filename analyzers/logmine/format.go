package logmine

import (
	"fmt"
	"regexp"
	"strings"
)

// ContentField is the field holding the message that the miner parses.
const ContentField = "Content"

// Format parses log lines with a header format in Loghub's notation, e.g.
// "<Date> <Time> <Level> <Component>: <Content>". Each <Name> is a field
// matching as little as possible; the text between fields is a regular
// expression in which runs of spaces match any run of whitespace, so
// "\[<Pid>\]" matches "[42]" and "<Component>(\[<PID>\])?:" makes the PID
// optional. The whole line must match. This is the regexp Loghub's
// generate_logformat_regex builds. Formats made of literal text, escaped
// punctuation and optional groups "(...)?" are matched by a hand-written
// matcher with the same result; the regexp is the fallback for other regexp
// syntax and for lines on which the matcher would backtrack too long.
//
// A Format is immutable and safe for concurrent use.
type Format struct {
	text    string
	fields  []string
	content int // index of ContentField in fields, or -1
	re      *regexp.Regexp
	groups  []int  // regexp submatch index of each field
	atoms   []atom // nil when only the regexp can match the format
}

// atom is one element of a format for the hand-written matcher.
type atom struct {
	kind  atomKind
	field int  // atomField: index in Format.fields
	lit   byte // atomLit
	skip  int  // atomGroup: atoms from this one to the first after the group
}

type atomKind uint8

const (
	atomField atomKind = iota // (?P<name>.*?)
	atomLit                   // one literal byte
	atomSpace                 // \s+
	atomGroup                 // start of an optional group (...)?
)

var fieldRE = regexp.MustCompile(`<[^<>]+>`)

// ParseFormat compiles a header format. Field names must be letters, digits
// and underscores, and unique.
func ParseFormat(format string) (*Format, error) {
	f := &Format{text: format, content: -1}
	var re strings.Builder
	re.WriteString("^")
	fast := true
	var open []int // atoms of the optional groups not yet closed
	rest := format
	for {
		loc := fieldRE.FindStringIndex(rest)
		lit := rest
		if loc != nil {
			lit = rest[:loc[0]]
		}
		var ok bool
		f.atoms, open, ok = compileLiteral(&re, lit, f.atoms, open)
		fast = fast && ok
		if loc == nil {
			break
		}
		name := rest[loc[0]+1 : loc[1]-1]
		if !isFieldName(name) {
			return nil, fmt.Errorf("log format %q: field name %q: want letters, digits and _", format, name)
		}
		for _, seen := range f.fields {
			if seen == name {
				return nil, fmt.Errorf("log format %q: field %q appears twice", format, name)
			}
		}
		if name == ContentField {
			f.content = len(f.fields)
		}
		f.atoms = append(f.atoms, atom{kind: atomField, field: len(f.fields)})
		f.fields = append(f.fields, name)
		fmt.Fprintf(&re, "(?P<%s>.*?)", name)
		rest = rest[loc[1]:]
	}
	re.WriteString("$")
	if len(f.fields) == 0 {
		return nil, fmt.Errorf("log format %q: no <Field>", format)
	}
	var err error
	if f.re, err = regexp.Compile(re.String()); err != nil {
		return nil, fmt.Errorf("log format %q: %w", format, err)
	}
	for _, name := range f.fields {
		f.groups = append(f.groups, f.re.SubexpIndex(name))
	}
	if !fast || len(open) > 0 {
		f.atoms = nil
	}
	return f, nil
}

// compileLiteral writes the regexp of the text between two fields to re
// (runs of spaces become \s+) and appends its atoms for the hand-written
// matcher. ok is false when the text holds regexp syntax other than escaped
// punctuation and optional groups, which only the regexp handles.
func compileLiteral(re *strings.Builder, lit string, atoms []atom, open []int) (_ []atom, _ []int, ok bool) {
	ok = true
	for i := 0; i < len(lit); i++ {
		c := lit[i]
		switch {
		case c == ' ':
			for i+1 < len(lit) && lit[i+1] == ' ' {
				i++
			}
			re.WriteString(`\s+`)
			atoms = append(atoms, atom{kind: atomSpace})
		case c == '\\' && i+1 < len(lit) && isEscapedPunct(lit[i+1]):
			re.WriteByte(c)
			re.WriteByte(lit[i+1])
			atoms = append(atoms, atom{kind: atomLit, lit: lit[i+1]})
			i++
		case c == '(' && (i+1 == len(lit) || lit[i+1] != '?'):
			re.WriteByte(c)
			open = append(open, len(atoms))
			atoms = append(atoms, atom{kind: atomGroup})
		case c == ')' && i+1 < len(lit) && lit[i+1] == '?' && len(open) > 0:
			re.WriteString(")?")
			start := open[len(open)-1]
			open = open[:len(open)-1]
			atoms[start].skip = len(atoms) - start
			i++
		case strings.IndexByte(`\.+*?()|[]{}^$`, c) >= 0:
			re.WriteByte(c)
			ok = false
		default:
			re.WriteByte(c)
			atoms = append(atoms, atom{kind: atomLit, lit: c})
		}
	}
	return atoms, open, ok
}

func isEscapedPunct(c byte) bool {
	return strings.IndexByte(`\.+*?()|[]{}^$-:@#/<>=,;'"!&%~`+"`", c) >= 0
}

func isFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isDigit(c) || c|0x20 >= 'a' && c|0x20 <= 'z' || c == '_') {
			return false
		}
	}
	return true
}

// String returns the format as given to ParseFormat.
func (f *Format) String() string { return f.text }

// Fields returns the field names in order.
func (f *Format) Fields() []string { return append([]string(nil), f.fields...) }

// Index returns the position of the named field in the slices Parse
// returns, or -1.
func (f *Format) Index(name string) int {
	for i, n := range f.fields {
		if n == name {
			return i
		}
	}
	return -1
}

// Parse splits a line into the format's fields, in the order of Fields. The
// line is first trimmed of surrounding whitespace (a trailing CR included),
// as Loghub does. ok is false when the line does not match; fields is then
// nil and the caller should keep the whole line as the message (see Content).
func (f *Format) Parse(line string) (fields []string, ok bool) {
	line = strings.TrimSpace(line)
	bounds := make([]int, 2*len(f.fields))
	if !f.match(line, bounds) {
		return nil, false
	}
	fields = make([]string, len(f.fields))
	for i := range fields {
		if bounds[2*i] >= 0 { // an optional field that did not match is empty
			fields[i] = line[bounds[2*i]:bounds[2*i+1]]
		}
	}
	return fields, true
}

// Content returns the message of a line: its ContentField if the format has
// one and the line matches, otherwise the whole trimmed line with ok false.
// It does not allocate on the hand-written path.
func (f *Format) Content(line string) (content string, ok bool) {
	line = strings.TrimSpace(line)
	var small [32]int
	var bounds []int
	if 2*len(f.fields) <= len(small) {
		bounds = small[:2*len(f.fields)]
	} else {
		bounds = make([]int, 2*len(f.fields))
	}
	if !f.match(line, bounds) {
		return line, false
	}
	if f.content < 0 || bounds[2*f.content] < 0 {
		return line, true
	}
	return line[bounds[2*f.content]:bounds[2*f.content+1]], true
}

// match fills bounds with the start and end of each field.
func (f *Format) match(line string, bounds []int) bool {
	// The matcher assumes no newline: a field is ".*?" and '.' does not
	// match one.
	if f.atoms != nil && strings.IndexByte(line, '\n') < 0 {
		budget := 8*len(line) + 64
		switch matchAtoms(f.atoms, line, 0, bounds, &budget) {
		case matchYes:
			return true
		case matchNo:
			return false
		}
		// Out of budget: the regexp engine runs in linear time.
	}
	loc := f.re.FindStringSubmatchIndex(line)
	if loc == nil {
		return false
	}
	for i, g := range f.groups {
		bounds[2*i], bounds[2*i+1] = loc[2*g], loc[2*g+1]
	}
	return true
}

type matchResult uint8

const (
	matchNo matchResult = iota
	matchYes
	matchGaveUp
)

// matchAtoms matches atoms against line[pos:] to the end of the line with
// the backtracking order of a Perl-style engine (lazy fields try the
// shortest extent first, \s+ the longest), so that the fields agree with
// the regexp's leftmost-first submatches. line must not hold a newline.
// budget bounds the steps taken.
func matchAtoms(atoms []atom, line string, pos int, bounds []int, budget *int) matchResult {
	for len(atoms) > 0 {
		*budget--
		if *budget < 0 {
			return matchGaveUp
		}
		a := atoms[0]
		switch a.kind {
		case atomLit:
			if pos >= len(line) || line[pos] != a.lit {
				return matchNo
			}
			pos++
			atoms = atoms[1:]
		case atomSpace:
			end := pos
			for end < len(line) && isRegexpSpace(line[end]) {
				end++
			}
			if end == pos {
				return matchNo
			}
			if len(atoms) == 1 {
				if end == len(line) {
					return matchYes
				}
				return matchNo
			}
			// Greedy: the longest run first. A following field may start
			// with whitespace only when a shorter run is needed.
			for e := end; e > pos; e-- {
				if r := matchAtoms(atoms[1:], line, e, bounds, budget); r != matchNo {
					return r
				}
			}
			return matchNo
		case atomGroup:
			// Greedy '?': with the group first, then without it, its
			// fields unset as the regexp reports them.
			if r := matchAtoms(atoms[1:], line, pos, bounds, budget); r != matchNo {
				return r
			}
			for _, g := range atoms[1:a.skip] {
				if g.kind == atomField {
					bounds[2*g.field], bounds[2*g.field+1] = -1, -1
				}
			}
			atoms = atoms[a.skip:]
		case atomField:
			bounds[2*a.field] = pos
			if len(atoms) == 1 {
				// A last field is anchored to the end of the line.
				bounds[2*a.field+1] = len(line)
				return matchYes
			}
			// Lazy: the shortest extent first, skipping ends where the
			// next atom cannot match.
			next := atoms[1]
			for e := pos; e <= len(line); e++ {
				switch next.kind {
				case atomLit:
					k := strings.IndexByte(line[e:], next.lit)
					if k < 0 {
						return matchNo
					}
					e += k
				case atomSpace:
					for e < len(line) && !isRegexpSpace(line[e]) {
						e++
					}
					if e == len(line) {
						return matchNo
					}
				}
				bounds[2*a.field+1] = e
				if r := matchAtoms(atoms[1:], line, e, bounds, budget); r != matchNo {
					return r
				}
			}
			return matchNo
		}
	}
	if pos == len(line) {
		return matchYes
	}
	return matchNo
}

// isRegexpSpace is the class \s of Go's regexp syntax.
func isRegexpSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}
