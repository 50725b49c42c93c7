package runbooks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// JSONAssertion says that the value at Path in a JSON response equals Equals.
//
// Path is dotted: "status", "data.items.0.ready" (a number indexes an array); a
// leading "$." is allowed. Values compare by their text: strings as themselves,
// numbers as written in the response, true, false, null, and objects or arrays as
// compact JSON.
type JSONAssertion struct {
	Path   string `json:"path"`
	Equals string `json:"equals"`
}

// check evaluates the assertion against a decoded document and explains a failure.
func (a JSONAssertion) check(doc any) error {
	v, err := lookupJSON(doc, a.Path)
	if err != nil {
		return err
	}
	if got := jsonText(v); got != a.Equals {
		return fmt.Errorf("%s is %s, want %s", a.Path, strconv.Quote(got), strconv.Quote(a.Equals))
	}
	return nil
}

// decodeJSON decodes a response body keeping numbers as written.
func decodeJSON(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("response is not JSON: %w", err)
	}
	return v, nil
}

// lookupJSON follows a dotted path through decoded JSON.
func lookupJSON(doc any, path string) (any, error) {
	p := strings.TrimPrefix(path, "$.")
	if p == "" || p == "$" {
		return doc, nil
	}
	cur := doc
	for i, seg := range strings.Split(p, ".") {
		at := strings.Join(strings.Split(p, ".")[:i+1], ".")
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[seg]
			if !ok {
				return nil, fmt.Errorf("%s: no field %q in the response", path, at)
			}
			cur = v
		case []any:
			n, err := strconv.Atoi(seg)
			if err != nil || n < 0 || n >= len(c) {
				return nil, fmt.Errorf("%s: %s is not an index of an array of %d", path, seg, len(c))
			}
			cur = c[n]
		default:
			return nil, fmt.Errorf("%s: %s is %s, not an object or array", path, strings.Join(strings.Split(p, ".")[:i], "."), jsonText(cur))
		}
	}
	return cur, nil
}

// jsonText is the text a value compares by.
func jsonText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(v)
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// validJSONPath reports whether a path has no empty segments.
func validJSONPath(path string) bool {
	p := strings.TrimPrefix(path, "$.")
	return p != "" && !strings.Contains("."+p+".", "..")
}
