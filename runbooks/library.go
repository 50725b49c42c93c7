package runbooks

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
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
}

// LoadDir loads every *.yaml and *.yml file under dir. Groups lists the approver
// groups defined in configuration; an approver naming another group is a problem.
// It returns the runbooks that loaded cleanly and every problem found, sorted by
// file and position; callers decide whether problems are fatal.
func LoadDir(dir string, groups map[string][]string) (*Library, Problems, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ext := filepath.Ext(path); !d.IsDir() && (ext == ".yaml" || ext == ".yml") {
			files = append(files, path)
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("runbooks directory %s does not exist; pass the directory that holds your runbook YAML files (--runbooks DIR, or runbooks.dir in vigil.yaml)", dir)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("runbooks: read %s: %w", dir, err)
	}
	slices.Sort(files)
	lib := &Library{}
	var all Problems
	seen := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, fmt.Errorf("runbooks: %w", err)
		}
		rb, ps := Parse(f, data, groups)
		if rb != nil {
			if prev, dup := seen[rb.ID]; dup {
				ps = append(ps, Problem{File: f, Line: rb.Pos.Line, Col: rb.Pos.Col,
					Message: fmt.Sprintf("runbook id %q is already used by %s", rb.ID, prev)})
			} else {
				seen[rb.ID] = f
			}
		}
		if len(ps) > 0 {
			all = append(all, ps...)
			continue
		}
		lib.Runbooks = append(lib.Runbooks, rb)
	}
	slices.SortFunc(lib.Runbooks, func(a, b *Runbook) int { return cmp.Compare(a.ID, b.ID) })
	return lib, all, nil
}

var posRE = regexp.MustCompile(`^(?:yaml: )?(?:line (\d+): |(\d+):(\d+): )`)

// Parse decodes one runbook file. It returns the runbook (nil when the file is not
// YAML at all) and every problem found.
func Parse(file string, data []byte, groups map[string][]string) (*Runbook, Problems) {
	var ps Problems
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var rb Runbook
	err := dec.Decode(&rb)
	switch {
	case errors.Is(err, io.EOF):
		return nil, Problems{{File: file, Line: 1, Col: 1, Message: "file is empty; a runbook needs id, title, match, approval and steps"}}
	case err != nil:
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
	for _, a := range rb.Approval.Approvers {
		if _, ok := groups[a.Name]; a.Kind == "group" && !ok {
			ps = append(ps, Problem{File: file, Line: a.Pos.Line, Col: a.Pos.Col,
				Message: fmt.Sprintf("approver group %q is not defined in the configuration (groups: %s)", a.Name, strings.Join(slices.Sorted(maps.Keys(groups)), ", "))})
		}
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
}

// Match returns the runbooks whose matchers all match labels, most specific (most
// matchers) first, then by id.
func (l *Library) Match(labels map[string]string) []Hit {
	var hits []Hit
	for _, rb := range l.Runbooks {
		if !slices.ContainsFunc(rb.Match.Matchers, func(m Matcher) bool { return !m.Matches(labels) }) {
			hits = append(hits, Hit{Runbook: rb, Matched: rb.Match.Matchers})
		}
	}
	slices.SortStableFunc(hits, func(a, b Hit) int { return cmp.Compare(len(b.Matched), len(a.Matched)) })
	return hits
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
