package logmine

import (
	"slices"
	"strings"
	"testing"
)

// covers reports whether template tokens tt cover the scanned line: each
// literal token equals the line's, wildcards take one token, and a
// variable-length wildcard at v takes zero or more.
func covers(c *cluster, line lineView) bool {
	n := line.len()
	if c.variadic < 0 {
		if len(c.toks) != n {
			return false
		}
		for i, t := range c.toks {
			if c.kinds[i] != kindWild && t != string(line.tok(i)) {
				return false
			}
		}
		return true
	}
	tail, ok := elasticSplit(c, line)
	if !ok {
		return false
	}
	for i, t := range c.toks {
		j := i
		if i > c.variadic {
			j = tail + i - c.variadic - 1
		}
		if i != c.variadic && c.kinds[i] != kindWild && t != string(line.tok(j)) {
			return false
		}
	}
	return true
}

func FuzzMinerAdd(f *testing.F) {
	for _, s := range typicalLines(20) {
		f.Add(s, "Invalid user admin from 10.0.0.1")
	}
	f.Add("", " ")
	f.Add(`k="unterminated a=' b`, "\x00\xff\xfe <*> <*>")
	f.Add("Destroying surface a.b:1 c.d:2", "Destroying surface a.b:1")
	f.Fuzz(func(t *testing.T, a, b string) {
		m := New(Config{MaxTemplates: 8, MaxGroupTemplates: 3, MaxFirstWords: 2, MaxCachedLines: 4})
		lines := append(strings.Split(a, "\n"), strings.Split(b, "\n")...)
		lines = append(lines, lines...)
		for _, l := range lines {
			r := m.Add(l)
			c := m.byID[r.TemplateID]
			if c == nil || c.id != r.TemplateID || c.display != r.Template {
				t.Fatalf("Add(%q) = %+v, template not live", l, r)
			}
			if !covers(c, m.line()) {
				t.Fatalf("template %q does not cover %q (masked %q)", c.text, l, m.sc.key)
			}
			if m.live > 8 || len(m.cache) > 4 {
				t.Fatalf("bounds exceeded: %d templates, %d cached", m.live, len(m.cache))
			}
		}
	})
}

func FuzzFormatMatcher(f *testing.F) {
	formats := []string{
		"<Date> <Time> <Pid> <Level> <Component>: <Content>",
		`<Month> <Date> <Time> <Level> <Component>(\[<PID>\])?: <Content>`,
		`<Date> <Time> - <Level>  \[<Node>:<Component>@<Id>\] - <Content>`,
	}
	f.Add("081109 203615 148 INFO dfs.DataNode: x: y")
	f.Add("Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass")
	f.Add("2015-07-29 17:41:44,747 - INFO  [a[b]/0:c@774] - x")
	f.Fuzz(func(t *testing.T, line string) {
		if len(line) > 200 {
			return
		}
		line = strings.TrimSpace(line)
		if strings.Contains(line, "\n") {
			// Format.match sends such lines to the regexp.
			line = strings.ReplaceAll(line, "\n", " ")
		}
		for _, format := range formats {
			fm, err := ParseFormat(format)
			if err != nil {
				t.Fatal(err)
			}
			fast := make([]int, 2*len(fm.fields))
			budget := 1 << 20
			r := matchAtoms(fm.atoms, line, 0, fast, &budget)
			if r == matchGaveUp {
				continue
			}
			loc := fm.re.FindStringSubmatchIndex(line)
			if (r == matchYes) != (loc != nil) {
				t.Fatalf("%q on %q: hand-written %v, regexp %v", format, line, r == matchYes, loc != nil)
			}
			if loc == nil {
				continue
			}
			var slow []int
			for _, g := range fm.groups {
				slow = append(slow, loc[2*g], loc[2*g+1])
			}
			if !slices.Equal(fast, slow) {
				t.Fatalf("%q on %q: hand-written %v, regexp %v", format, line, fast, slow)
			}
		}
	})
}
