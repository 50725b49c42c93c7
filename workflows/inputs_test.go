package workflows

import (
	"testing"

	"github.com/vigilops/vigil/incident"
)

func TestCheckAnswerPatternIsWholeValue(t *testing.T) {
	tests := []struct {
		pattern, value string
		ok             bool
	}{
		{"[a-z]+", "checkout", true},
		{"[a-z]+", "checkout; rm -rf /", false},
		{"b)|(c", "bzzz", false}, // would anchor as ^(?:b)|(c)$ and match any b…
		{"[a-z]+)|(.*", "$(id)", false},
		{"v[0-9]+|latest", "latest", true},
	}
	for _, tt := range tests {
		err := checkAnswer(incident.Input{Name: "x", Type: "string", Pattern: tt.pattern}, tt.value)
		if (err == nil) != tt.ok {
			t.Errorf("pattern %q, value %q: err %v, want accepted %v", tt.pattern, tt.value, err, tt.ok)
		}
	}
}
