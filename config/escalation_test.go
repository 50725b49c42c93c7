package config

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestEscalationAndAutonomy(t *testing.T) {
	c, err := Load(filepath.Join("testdata", "escalation.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Escalation.NoAckAfter != 15*time.Minute || !reflect.DeepEqual(c.Escalation.EscalateTo, []string{"group:sre-leads", "user:dave"}) {
		t.Errorf("escalation = %+v", c.Escalation)
	}
	if len(c.Autonomy) != 1 || c.Autonomy[0].Name != "cache-flush" || c.Autonomy[0].Services[1] != "api-*" {
		t.Errorf("autonomy = %+v", c.Autonomy)
	}
	if d := Default(); d.Escalation.NoAckAfter != 0 || len(d.Autonomy) != 0 {
		t.Errorf("defaults must not escalate or run anything on autonomy: %+v %+v", d.Escalation, d.Autonomy)
	}

	tests := []struct {
		file string
		want []string
	}{
		{file: "bad-escalation.yaml", want: []string{"line 2", "soon"}},
		{file: "bad-autonomy.yaml", want: []string{
			`escalation.escalate_to[0]: group "nobody" is not defined under groups`,
			`escalation.escalate_to[1]: "dave" must be user:ID or group:NAME`,
			"autonomy[0].name: is required",
			`autonomy[0]: bad pattern "[unclosed"`,
			"autonomy[1]: needs runbooks and services",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := Load(filepath.Join("testdata", tt.file))
			if err == nil {
				t.Fatal("loaded without error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
