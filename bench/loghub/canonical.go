package main

import "strings"

// canonicalTemplate puts a template in the canonical form Loghub-2.0's
// evaluator compares templates in (correct_single_template in
// logpai/loghub-2.0 benchmark/evaluation/utils/common.py), so that PA here
// is the PA published for LILAC, LogBatcher and the others. Its rules, in
// order:
//
//   - DS: trim, and whitespace runs become one space;
//   - PS: a path-like piece ("/a/b", between the delimiters pathDelims) is
//     one wildcard;
//   - then, on the pieces between tokenDelims: BL and US, true, false, null,
//     root and admin (any case) are wildcards; DG, digit runs are wildcards;
//     WV, a piece holding a wildcard and no "/" is one wildcard;
//   - DV: "<*>.<*>" becomes "<*>", repeatedly;
//   - CV: "<*><*>" becomes "<*>", repeatedly.
//
// Wildcards separated by a space stay apart: "<*> <*>" is two variables.
func canonicalTemplate(t string) string {
	t = strings.Join(strings.Fields(t), " ")
	t = mapPieces(t, pathDelims, func(p string) string {
		if isPathLike(p) {
			return wildcard
		}
		return p
	})
	t = mapPieces(t, tokenDelims, func(p string) string {
		switch strings.ToLower(p) {
		case "true", "false", "null", "root", "admin":
			return wildcard
		}
		if p != "" && strings.Trim(p, "0123456789") == "" {
			return wildcard
		}
		if strings.Contains(p, wildcard) && !strings.Contains(p, "/") {
			return wildcard
		}
		return p
	})
	for _, pair := range []string{wildcard + "." + wildcard, wildcard + wildcard} {
		for strings.Contains(t, pair) {
			t = strings.ReplaceAll(t, pair, wildcard)
		}
	}
	return t
}

const (
	wildcard    = "<*>"
	pathDelims  = " ,!;:=|\"'[](){}"
	tokenDelims = pathDelims + ".-+@#$%&"
)

// mapPieces rewrites each piece of t between single delimiter bytes with f,
// keeping the delimiters: Python's re.split with a capturing group, mapped
// and joined.
func mapPieces(t, delims string, f func(string) string) string {
	var b strings.Builder
	start := 0
	for i := 0; i <= len(t); i++ {
		if i < len(t) && strings.IndexByte(delims, t[i]) < 0 {
			continue
		}
		b.WriteString(f(t[start:i]))
		if i < len(t) {
			b.WriteByte(t[i])
		}
		start = i + 1
	}
	return b.String()
}

// isPathLike reports whether p matches ^(/[^/]+)+$.
func isPathLike(p string) bool {
	if len(p) < 2 || p[0] != '/' {
		return false
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "" {
			return false
		}
	}
	return true
}
