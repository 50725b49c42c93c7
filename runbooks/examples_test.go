package runbooks

import (
	"context"
	"strings"
	"testing"

	"github.com/vigilops/vigil/config"
)

// TestExampleLibrary lints the shipped runbooks against the default configuration
// and runs the tests written in them, so `make test` fails when an example breaks.
func TestExampleLibrary(t *testing.T) {
	cfg := config.Default()
	files, _, err := Dir("../examples/runbooks").Files(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	lib, ps := Load(files, "", Directory{Groups: cfg.Groups, OnCall: cfg.OnCall})
	for _, p := range ps {
		t.Error(p)
	}
	if len(lib.Runbooks) < 8 {
		t.Errorf("the library has %d runbooks, want at least 8", len(lib.Runbooks))
	}
	for _, rb := range lib.Runbooks {
		t.Run(rb.ID, func(t *testing.T) {
			if len(rb.Tests) == 0 {
				t.Error("has no tests")
			}
			if len(strings.Fields(rb.Description)) < 15 {
				t.Errorf("description %q does not say what it does and when to use it", rb.Description)
			}
			for _, res := range rb.RunTests(lib.Directory) {
				if !res.Passed() {
					t.Errorf("%s", res)
				}
			}
		})
	}
}
