package correlate_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/vigilops/vigil/analyzers/correlate"
)

func TestSilenceValidate(t *testing.T) {
	good := func() correlate.Silence {
		return correlate.Silence{ID: "s1", Matchers: matchers(t, `service="checkout"`), StartsAt: t0, EndsAt: at(t, "1h"), CreatedBy: "ana", Comment: "deploying"}
	}
	tests := []struct {
		name string
		edit func(s *correlate.Silence)
		want string // substring of the error; "" for valid
	}{
		{"valid", func(*correlate.Silence) {}, ""},
		{"no id", func(s *correlate.Silence) { s.ID = "" }, "id is required"},
		{"no matchers", func(s *correlate.Silence) { s.Matchers = nil }, "at least one matcher"},
		{"matches everything", func(s *correlate.Silence) { s.Matchers = matchers(t, `service=~".*"`, `env!="prod"`) }, "all match the empty string"},
		{"one matcher narrows it", func(s *correlate.Silence) { s.Matchers = matchers(t, `service=~".*"`, `env="prod"`) }, ""},
		{"ends before it starts", func(s *correlate.Silence) { s.StartsAt = at(t, "2h") }, "before it starts"},
		{"ends in the past", func(s *correlate.Silence) { s.StartsAt, s.EndsAt = at(t, "-2h"), at(t, "-1h") }, "in the past"},
		{"no author", func(s *correlate.Silence) { s.CreatedBy = "" }, "author"},
		{"no comment", func(s *correlate.Silence) { s.Comment = "" }, "comment is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := good()
			tt.edit(&s)
			err := s.Validate(t0)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestSilences(t *testing.T) {
	ss := correlate.NewSilences()
	set := func(id, start, end string, ms ...string) {
		t.Helper()
		if err := ss.Set(correlate.Silence{ID: id, Matchers: matchers(t, ms...), StartsAt: at(t, start), EndsAt: at(t, end), CreatedBy: "ana", Comment: "maintenance"}, t0); err != nil {
			t.Fatal(err)
		}
	}
	set("b-checkout", "0s", "1h", `service="checkout"`)
	set("a-db", "10m", "20m", `service=~"db|db-replica"`, `env="prod"`)
	tests := []struct {
		name   string
		labels map[string]string
		at     string
		want   []string
	}{
		{"active silence", labels("service", "checkout"), "30m", []string{"b-checkout"}},
		{"from its start", labels("service", "checkout"), "0s", []string{"b-checkout"}},
		{"through its end, inclusive as in Alertmanager", labels("service", "checkout"), "1h", []string{"b-checkout"}},
		{"after its end", labels("service", "checkout"), "1h1s", nil},
		{"pending silence", labels("service", "db", "env", "prod"), "5m", nil},
		{"regexp is anchored", labels("service", "db-primary", "env", "prod"), "15m", nil},
		{"every matcher must match", labels("service", "db", "env", "dev"), "15m", nil},
		{"matches", labels("service", "db-replica", "env", "prod"), "15m", []string{"a-db"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ss.Silencing(tt.labels, at(t, tt.at)); !slices.Equal(got, tt.want) {
				t.Errorf("Silencing = %v, want %v", got, tt.want)
			}
			if got := ss.Mutes(tt.labels, at(t, tt.at)); got != (len(tt.want) > 0) {
				t.Errorf("Mutes = %v", got)
			}
		})
	}
}

func TestSilenceExpire(t *testing.T) {
	ss := correlate.NewSilences()
	for _, s := range []correlate.Silence{
		{ID: "active", StartsAt: t0, EndsAt: at(t, "1h")},
		{ID: "pending", StartsAt: at(t, "2h"), EndsAt: at(t, "3h")},
	} {
		s.Matchers, s.CreatedBy, s.Comment = matchers(t, `service="x"`), "ana", "test"
		if err := ss.Set(s, t0); err != nil {
			t.Fatal(err)
		}
	}
	now := at(t, "10m")
	if err := ss.Expire("active", now); err != nil {
		t.Fatal(err)
	}
	if ss.Mutes(labels("service", "x"), at(t, "10m1s")) {
		t.Error("an expired silence still mutes")
	}
	if err := ss.Expire("pending", now); err != nil {
		t.Fatal(err)
	}
	if s, _ := ss.Get("pending"); !s.StartsAt.Equal(now) || !s.EndsAt.Equal(now) {
		t.Errorf("expired pending silence runs %v–%v, want both at %v", s.StartsAt, s.EndsAt, now)
	}
	if ss.Mutes(labels("service", "x"), at(t, "2h30m")) {
		t.Error("an expired pending silence mutes when it would have started")
	}
	if err := ss.Expire("active", at(t, "20m")); err == nil || !strings.Contains(err.Error(), "already expired") {
		t.Errorf("expiring twice: %v", err)
	}
	if err := ss.Expire("nope", now); !errors.Is(err, correlate.ErrUnknownSilence) {
		t.Errorf("expiring an unknown silence: %v", err)
	}
}
