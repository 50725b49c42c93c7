package runbooks

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"go.yaml.in/yaml/v3"
)

// Problem is one thing wrong with a runbook file.
type Problem struct {
	File    string
	Line    int
	Col     int
	Message string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Message)
}

// Problems is every problem found while loading; it is an error when non-empty.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Library is a loaded, checked set of runbooks.
type Library struct {
	Runbooks []*Runbook // sorted by id
	// Directory is the configuration the runbooks' approvers were checked
	// against; proposals resolve approvers with it.
	Directory Directory
}

// File is one runbook file as a source provides it.
type File struct {
	// Path identifies the file within its source across versions (a path in a
	// directory or repository); empty means Name.
	Path string
	Name string // shown in problems, e.g. with the commit it was read at
	Data []byte
}

func (f File) path() string { return cmp.Or(f.Path, f.Name) }

// Load parses files into a library. It returns the runbooks that loaded cleanly and
// every problem found, sorted by file and position; callers decide whether
// problems are fatal. A non-empty revision (a commit SHA) is the revision of every
// runbook; otherwise each runbook's revision is its file's content hash.
func Load(files []File, revision string, d Directory) (*Library, Problems) {
	lib := &Library{Directory: d}
	var all Problems
	seen := map[string]string{}
	for _, f := range slices.SortedFunc(slices.Values(files), func(a, b File) int { return cmp.Compare(a.Name, b.Name) }) {
		rb, ps := Parse(f.Name, f.Data, d)
		if rb != nil {
			if revision != "" {
				rb.Revision = revision
			}
			if prev, dup := seen[rb.ID]; dup && rb.ID != "" {
				ps = append(ps, Problem{File: f.Name, Line: rb.Pos.Line, Col: rb.Pos.Col,
					Message: fmt.Sprintf("runbook id %q is already used by %s", rb.ID, prev)})
			} else {
				seen[rb.ID] = f.Name
			}
		}
		if len(ps) > 0 {
			all = append(all, ps...)
			continue
		}
		lib.Runbooks = append(lib.Runbooks, rb)
	}
	slices.SortFunc(lib.Runbooks, func(a, b *Runbook) int { return cmp.Compare(a.ID, b.ID) })
	return lib, all
}

// LoadDir loads every *.yaml and *.yml file under dir, with approver groups and
// no on-call schedules; see Load.
func LoadDir(dir string, groups map[string][]string) (*Library, Problems, error) {
	files, err := Dir(dir).read()
	if err != nil {
		return nil, nil, err
	}
	lib, ps := Load(files, "", Directory{Groups: groups})
	return lib, ps, nil
}

var posRE = regexp.MustCompile(`^(?:yaml: )?(?:line (\d+): |(\d+):(\d+): )`)

// Parse decodes one runbook file. It returns the runbook (nil when the file is not
// YAML at all) and every problem found.
func Parse(file string, data []byte, d Directory) (*Runbook, Problems) {
	var ps Problems
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	err := dec.Decode(&doc)
	switch {
	case errors.Is(err, io.EOF) || (err == nil && len(doc.Content) == 0):
		return nil, Problems{{File: file, Line: 1, Col: 1, Message: "file is empty; a runbook needs id, title, match, approval and steps"}}
	case err != nil:
		return nil, Problems{toProblem(file, err.Error())}
	}
	// A null document ("~", "null", a bare tag) decodes to a zero Runbook
	// without calling its UnmarshalYAML, so it would load with no id at all.
	if root := doc.Content[0]; root.ShortTag() == "!!null" {
		return nil, Problems{{File: file, Line: root.Line, Col: root.Column, Message: "file holds no runbook, only a null document; a runbook needs id, title, match, approval and steps"}}
	}
	var rb Runbook
	if err := doc.Decode(&rb); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, Problems{toProblem(file, err.Error())}
		}
		for _, e := range te.Errors {
			ps = append(ps, toProblem(file, e))
		}
	}
	var extra yaml.Node
	if dec.Decode(&extra) == nil {
		ps = append(ps, Problem{File: file, Line: extra.Line, Col: extra.Column, Message: "a file holds one runbook; found a second YAML document"})
	}
	for _, pr := range rb.Approval.check(d) {
		ps = append(ps, Problem{File: file, Line: pr.Pos.Line, Col: pr.Pos.Col, Message: pr.Msg})
	}
	sum := sha256.Sum256(data)
	rb.File, rb.Revision = file, hex.EncodeToString(sum[:])[:12]
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	return &rb, ps
}

// toProblem turns a decoder message ("line 3: ..." or our "3:5: ...") into a Problem.
func toProblem(file, msg string) Problem {
	p := Problem{File: file, Line: 1, Col: 1, Message: strings.TrimPrefix(msg, "yaml: ")}
	if m := posRE.FindStringSubmatch(msg); m != nil {
		p.Message = msg[len(m[0]):]
		if m[1] != "" {
			p.Line, _ = strconv.Atoi(m[1])
		} else {
			p.Line, _ = strconv.Atoi(m[2])
			p.Col, _ = strconv.Atoi(m[3])
		}
	}
	return p
}

// Get returns the runbook with the given id, or nil.
func (l *Library) Get(id string) *Runbook {
	i, ok := slices.BinarySearchFunc(l.Runbooks, id, func(r *Runbook, id string) int { return cmp.Compare(r.ID, id) })
	if !ok {
		return nil
	}
	return l.Runbooks[i]
}

// A Hit is a runbook whose matchers all match an alert's labels.
type Hit struct {
	Runbook *Runbook
	Matched []Matcher // the matchers, for "why it matched"
	// Specificity is how narrowly the matchers select alerts: 2 for each
	// equality matcher, 1 for each regexp or negative matcher.
	Specificity int
}

// Match returns the runbooks whose matchers all match labels, most specific first,
// then by id.
func (l *Library) Match(labels map[string]string) []Hit {
	var hits []Hit
	for _, rb := range l.Runbooks {
		if !slices.ContainsFunc(rb.Match.Matchers, func(m Matcher) bool { return !m.Matches(labels) }) {
			hits = append(hits, Hit{Runbook: rb, Matched: rb.Match.Matchers, Specificity: specificity(rb.Match.Matchers)})
		}
	}
	slices.SortStableFunc(hits, func(a, b Hit) int { return cmp.Compare(b.Specificity, a.Specificity) })
	return hits
}

func specificity(ms []Matcher) int {
	n := 0
	for _, m := range ms {
		if m.Type == MatchEqual {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// Holder holds the library in force; it is safe for concurrent use, so a reloader
// can swap in a new library while activities read it.
type Holder struct {
	p atomic.Pointer[Library]
}

// NewHolder returns a holder of lib.
func NewHolder(lib *Library) *Holder {
	h := &Holder{}
	h.p.Store(lib)
	return h
}

// Current returns the library in force.
func (h *Holder) Current() *Library { return h.p.Load() }

// Set puts lib in force.
func (h *Holder) Set(lib *Library) { h.p.Store(lib) }
