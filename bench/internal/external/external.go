// Package external finds the public benchmark data the harnesses read
// (NAB, Loghub, PetShop), which is never copied into the repository.
package external

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Dir is the folder of a dataset given by path parts below the external
// root: $VIGIL_EXTERNAL if set, else ../shared/external beside the
// repository holding the working directory (the nearest parent with go.mod).
// flag names the harness's flag that overrides it, for the error message.
func Dir(flag string, parts ...string) (string, error) {
	if ext := os.Getenv("VIGIL_EXTERNAL"); ext != "" {
		return filepath.Join(append([]string{ext}, parts...)...), nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("locate %s: %w", filepath.Join(parts...), err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(append([]string{dir, "..", "shared", "external"}, parts...)...), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("locate " + filepath.Join(parts...) + ": no go.mod above the working directory; pass " + flag + " or set VIGIL_EXTERNAL")
		}
		dir = parent
	}
}
