package main

import (
	"os"
	"testing"
)

// TestMain lets a test run this test binary as the vigil command itself (a real
// subprocess that can be killed), without building a second binary: a child
// started with VIGIL_TEST_AS_MAIN=1 runs vigil's main on its arguments.
func TestMain(m *testing.M) {
	if os.Getenv("VIGIL_TEST_AS_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
