package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Secret is a reference to a secret value, never the value itself: env:NAME reads
// an environment variable, file:PATH reads a file (trailing newline trimmed). Keeping
// values out of vigil.yaml keeps them out of repositories, logs and the audit trail.
type Secret string

// Validate checks the reference's form.
func (s Secret) Validate() error {
	kind, arg, ok := strings.Cut(string(s), ":")
	if !ok || arg == "" || (kind != "env" && kind != "file") {
		return fmt.Errorf("secret must be a reference env:NAME or file:PATH, not an inline value")
	}
	return nil
}

// Resolve reads the referenced value.
func (s Secret) Resolve() (string, error) {
	if err := s.Validate(); err != nil {
		return "", err
	}
	kind, arg, _ := strings.Cut(string(s), ":")
	switch kind {
	case "env":
		v, ok := os.LookupEnv(arg)
		if !ok || v == "" {
			return "", fmt.Errorf("secret %s: environment variable %s is not set", s, arg)
		}
		return v, nil
	default:
		b, err := os.ReadFile(arg)
		if err != nil {
			return "", fmt.Errorf("secret %s: %w", s, err)
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", errors.New("secret " + string(s) + ": file is empty")
		}
		return v, nil
	}
}
