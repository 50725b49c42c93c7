package runbooks

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// loadSchema reads runbook.schema.json.
func loadSchema(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile("runbook.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("runbook.schema.json: %v", err)
	}
	return s
}

// TestSchemaListsLoaderFields keeps the published schema honest: every mapping
// the loader decodes must list, in the schema, exactly the fields the loader
// accepts (the same lists its decoders pass to problems.fields).
func TestSchemaListsLoaderFields(t *testing.T) {
	schema := loadSchema(t)
	defs := schema["definitions"].(map[string]any)
	loader := map[string][]string{
		"":             runbookFields,
		"match":        matchFields,
		"param":        paramFields,
		"approval":     approvalFields,
		"http_expect":  expectFields,
		"check":        slices.Collect(maps.Keys(checkKinds)),
		"check_http":   httpFields,
		"check_shell":  (*ShellStep)(nil).fields(),
		"test":         testFields,
		"test_alert":   alertFields,
		"test_expect":  testExpectFields,
		"test_dry_run": dryRunFields,
	}
	for run, mk := range stepTypes {
		loader["step_"+run] = stepFields(mk())
	}
	props := func(def map[string]any) []string {
		p, _ := def["properties"].(map[string]any)
		return slices.Sorted(maps.Keys(p))
	}
	for name, fields := range loader {
		def := schema
		if name != "" {
			d, ok := defs[name].(map[string]any)
			if !ok {
				t.Errorf("schema has no definition %q for fields %v", name, fields)
				continue
			}
			def = d
		}
		if got, want := props(def), slices.Sorted(slices.Values(fields)); !slices.Equal(got, want) {
			t.Errorf("schema %q lists %v; the loader accepts %v", cmpName(name), got, want)
		}
		if def["additionalProperties"] != false {
			t.Errorf("schema %q allows fields the loader refuses (additionalProperties is not false)", cmpName(name))
		}
	}
	for name, d := range defs {
		if _, has := d.(map[string]any)["properties"]; has && name != "step" && loader[name] == nil {
			t.Errorf("schema definition %q is not compared with the loader; add it to this test", name)
		}
	}
	// Every step type has an if/then branch in the step definition.
	runs := defs["step"].(map[string]any)["properties"].(map[string]any)["run"].(map[string]any)["enum"].([]any)
	var got []string
	for _, r := range runs {
		got = append(got, r.(string))
	}
	if want := slices.Sorted(maps.Keys(stepTypes)); !slices.Equal(slices.Sorted(slices.Values(got)), want) {
		t.Errorf("schema step types %v, loader %v", got, want)
	}
	if n := len(defs["step"].(map[string]any)["allOf"].([]any)); n != len(stepTypes) {
		t.Errorf("schema has %d step branches for %d step types", n, len(stepTypes))
	}
}

func cmpName(n string) string {
	if n == "" {
		return "runbook"
	}
	return n
}

// TestSchemaAgreesWithLoader validates files against the schema with a small
// validator for the keywords it uses: every example runbook must pass, and
// mistakes the loader refuses for their shape must fail the schema too.
func TestSchemaAgreesWithLoader(t *testing.T) {
	schema := loadSchema(t)
	v := &validator{root: schema}
	v.checkKeywords(t, schema, "")

	paths, _ := filepath.Glob("../examples/runbooks/*.yaml")
	paths = append(paths, "testdata/good/clean-temp-files.yaml")
	if len(paths) < 9 {
		t.Fatalf("found %d runbooks to validate", len(paths))
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		if errs := v.validate(schema, doc, ""); len(errs) > 0 {
			t.Errorf("%s: the loader accepts it but the schema refuses it:\n  %s", p, strings.Join(errs, "\n  "))
		}
	}

	base := `id: x
title: X
match: {matchers: ['a="b"']}
approval: {approvers: [group:oncall]}
`
	mistakes := []struct {
		name, doc, wantErr string
	}{
		{"unknown runbook field", base + "steps: [{id: s, run: wait, duration: 1s}]\nstepz: []\n", `additional property "stepz"`},
		{"unknown step type", base + "steps: [{id: s, run: ssh, command: [x]}]\n", `steps[0].run: "ssh" is not one of`},
		{"field of another step type", base + "steps: [{id: s, run: wait, duration: 1s, command: [x]}]\n", `additional property "command"`},
		{"wrong type", base + "steps: [{id: s, run: shell, command: [x], retries: two}]\n", "steps[0].retries: want integer"},
		{"bad duration", base + "steps: [{id: s, run: shell, command: [x], timeout: 5 minutes}]\n", "steps[0].timeout: \"5 minutes\" does not match"},
		{"verify with two checks", base + "steps: [{id: s, run: verify, check: {http: {url: 'http://x'}, shell: {command: [x]}}}]\n", "has 2 properties, at most 1"},
		{"unknown approver kind", "id: x\ntitle: X\nmatch: {matchers: ['a=\"b\"']}\napproval: {approvers: [team:x]}\nsteps: [{id: s, run: wait, duration: 1s}]\n", `approval.approvers[0]: "team:x" does not match`},
	}
	for _, m := range mistakes {
		t.Run(m.name, func(t *testing.T) {
			var doc any
			if err := yaml.Unmarshal([]byte(m.doc), &doc); err != nil {
				t.Fatal(err)
			}
			errs := strings.Join(v.validate(schema, doc, ""), "\n")
			if !strings.Contains(errs, m.wantErr) {
				t.Errorf("schema errors:\n%s\nwant one containing %q", errs, m.wantErr)
			}
			if _, ps := Parse("m.yaml", []byte(m.doc), Directory{Groups: testGroups}); len(ps) == 0 {
				t.Error("the loader accepts what the schema refuses")
			}
		})
	}
}

// validator implements the subset of JSON Schema draft-07 the runbook schema uses.
type validator struct{ root map[string]any }

var knownKeywords = []string{
	"$schema", "$id", "title", "description", "definitions", "$ref", "type", "properties",
	"additionalProperties", "required", "enum", "const", "pattern", "minItems", "items",
	"allOf", "oneOf", "if", "then", "propertyNames", "minimum", "maximum", "minProperties", "maxProperties",
}

// checkKeywords fails the test on a keyword the validator does not implement, so
// the schema cannot grow a rule this test silently ignores.
func (v *validator) checkKeywords(t *testing.T, s map[string]any, at string) {
	for k, sub := range s {
		if !slices.Contains(knownKeywords, k) {
			t.Errorf("schema %s uses keyword %q, which this test's validator does not implement", at, k)
		}
		switch sub := sub.(type) {
		case map[string]any:
			if k == "properties" || k == "definitions" {
				for name, d := range sub {
					v.checkKeywords(t, d.(map[string]any), at+"/"+k+"/"+name)
				}
			} else if k != "const" {
				v.checkKeywords(t, sub, at+"/"+k)
			}
		case []any:
			if k == "allOf" || k == "oneOf" {
				for i, d := range sub {
					v.checkKeywords(t, d.(map[string]any), fmt.Sprintf("%s/%s/%d", at, k, i))
				}
			}
		}
	}
}

func (v *validator) validate(s map[string]any, x any, at string) []string {
	var errs []string
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Sprintf("%s: ", cmpName(strings.TrimPrefix(at, ".")))+fmt.Sprintf(format, args...))
	}
	if ref, ok := s["$ref"].(string); ok {
		def := v.root["definitions"].(map[string]any)[strings.TrimPrefix(ref, "#/definitions/")].(map[string]any)
		return v.validate(def, x, at)
	}
	if t, ok := s["type"]; ok && !typeOK(t, x) {
		bad("want %v, got %T", t, x)
		return errs
	}
	if e, ok := s["enum"].([]any); ok && !slices.ContainsFunc(e, func(y any) bool { return fmt.Sprint(y) == fmt.Sprint(x) }) {
		bad("%q is not one of %v", x, e)
	}
	if c, ok := s["const"]; ok && fmt.Sprint(c) != fmt.Sprint(x) {
		bad("%q is not %q", x, c)
	}
	if p, ok := s["pattern"].(string); ok {
		if str, isStr := x.(string); isStr && !regexp.MustCompile(p).MatchString(str) {
			bad("%q does not match %s", str, p)
		}
	}
	if n, ok := s["minimum"].(float64); ok {
		if i, isInt := x.(int); isInt && float64(i) < n {
			bad("%d is below %v", i, n)
		}
	}
	if n, ok := s["maximum"].(float64); ok {
		if i, isInt := x.(int); isInt && float64(i) > n {
			bad("%d is above %v", i, n)
		}
	}
	if list, ok := x.([]any); ok {
		if n, ok := s["minItems"].(float64); ok && len(list) < int(n) {
			bad("has %d items, at least %v", len(list), n)
		}
		if items, ok := s["items"].(map[string]any); ok {
			for i, e := range list {
				errs = append(errs, v.validate(items, e, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	}
	if obj, ok := x.(map[string]any); ok {
		props, _ := s["properties"].(map[string]any)
		for _, r := range asList(s["required"]) {
			if _, has := obj[r]; !has {
				bad("missing required property %q", r)
			}
		}
		if n, ok := s["minProperties"].(float64); ok && len(obj) < int(n) {
			bad("has %d properties, at least %v", len(obj), n)
		}
		if n, ok := s["maxProperties"].(float64); ok && len(obj) > int(n) {
			bad("has %d properties, at most %v", len(obj), n)
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if pn, ok := s["propertyNames"].(map[string]any); ok {
				errs = append(errs, v.validate(pn, k, at+"."+k+" (name)")...)
			}
			if ps, ok := props[k].(map[string]any); ok {
				errs = append(errs, v.validate(ps, obj[k], at+"."+k)...)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					bad("additional property %q", k)
				}
			case map[string]any:
				errs = append(errs, v.validate(ap, obj[k], at+"."+k)...)
			}
		}
	}
	for _, sub := range asSchemas(s["allOf"]) {
		errs = append(errs, v.validate(sub, x, at)...)
	}
	if one := asSchemas(s["oneOf"]); len(one) > 0 {
		n := 0
		for _, sub := range one {
			if len(v.validate(sub, x, at)) == 0 {
				n++
			}
		}
		if n != 1 {
			bad("matches %d of the oneOf alternatives, want exactly 1", n)
		}
	}
	if cond, ok := s["if"].(map[string]any); ok && len(v.validate(cond, x, at)) == 0 {
		if then, ok := s["then"].(map[string]any); ok {
			errs = append(errs, v.validate(then, x, at)...)
		}
	}
	return errs
}

func typeOK(t any, x any) bool {
	for _, name := range asList(t) {
		switch x.(type) {
		case string:
			if name == "string" {
				return true
			}
		case int:
			if name == "integer" || name == "number" {
				return true
			}
		case float64:
			if name == "number" {
				return true
			}
		case bool:
			if name == "boolean" {
				return true
			}
		case nil:
			if name == "null" {
				return true
			}
		case []any:
			if name == "array" {
				return true
			}
		case map[string]any:
			if name == "object" {
				return true
			}
		}
	}
	return false
}

func asList(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			out = append(out, e.(string))
		}
		return out
	}
	return nil
}

func asSchemas(v any) []map[string]any {
	list, _ := v.([]any)
	var out []map[string]any
	for _, e := range list {
		out = append(out, e.(map[string]any))
	}
	return out
}
