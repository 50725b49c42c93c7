package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzParseConfig: a refused file's error names the file; an accepted
// configuration is valid, and written back to YAML it reads as itself.
// Seeds are config/testdata, good and bad. Run with
//
//	go test -run '^$' -fuzz '^FuzzParseConfig$' -fuzztime 10s ./config
func FuzzParseConfig(f *testing.F) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) == 0 {
		f.Fatal("no seeds in testdata")
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, data string) {
		cfg, err := Parse("fuzz.yaml", []byte(data))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml: ") || len(err.Error()) == len("fuzz.yaml: ") {
				t.Fatalf("error %q does not name the file and the problem", err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("accepted configuration is invalid: %v", err)
		}
		out, err := yaml.Marshal(cfg)
		if err != nil {
			t.Fatalf("accepted configuration does not marshal: %v", err)
		}
		again, err := Parse("again.yaml", out)
		if err != nil {
			t.Fatalf("accepted configuration, written back, is refused: %v\n%s", err, out)
		}
		// Compiled fields (patterns) differ in memory; their YAML must not.
		if out2, err := yaml.Marshal(again); err != nil || string(out2) != string(out) {
			t.Fatalf("configuration changed on a round trip (%v):\n%s\n---\n%s", err, out, out2)
		}
	})
}
