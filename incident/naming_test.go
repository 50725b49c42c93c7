package incident

import (
	"strings"
	"testing"
)

func TestNewID(t *testing.T) {
	tests := []struct {
		group map[string]string
		want  string
	}{
		{map[string]string{"alertname": "HighLatency", "service": "checkout"}, "incident-7-highlatency-checkout"},
		{map[string]string{"alertname": "Disk Full!!", "service": "db/primary"}, "incident-7-disk-full-db-primary"},
		{map[string]string{}, "incident-7"},
		{map[string]string{"alertname": strings.Repeat("a", 80)}, "incident-7-" + strings.Repeat("a", 48)},
	}
	for _, tt := range tests {
		if got := NewID(7, tt.group); got != tt.want {
			t.Errorf("NewID(%v) = %q, want %q", tt.group, got, tt.want)
		}
	}
}

func TestTitleFor(t *testing.T) {
	tests := []struct {
		group map[string]string
		want  string
	}{
		{map[string]string{"alertname": "HighLatency", "service": "checkout"}, "HighLatency on checkout"},
		{map[string]string{"alertname": "HighLatency"}, "HighLatency"},
		{map[string]string{"cluster": "eu", "job": "api"}, "cluster=eu, job=api"},
		{nil, "Alert group"},
	}
	for _, tt := range tests {
		if got := TitleFor(tt.group); got != tt.want {
			t.Errorf("TitleFor(%v) = %q, want %q", tt.group, got, tt.want)
		}
	}
}
