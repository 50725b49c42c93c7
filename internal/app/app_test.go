package app

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/vigilops/vigil/config"
)

func TestParseRoles(t *testing.T) {
	tests := []struct {
		in      string
		want    Roles
		wantErr string
	}{
		{in: "api", want: Roles{RoleAPI}},
		{in: " worker , API,worker", want: Roles{RoleWorker, RoleAPI}},
		{in: "api,ingest,worker,console", want: AllRoles()},
		{in: "api,scheduler", wantErr: `unknown role "scheduler": roles are api, ingest, worker and console`},
		{in: " , ", wantErr: "no role given"},
	}
	for _, tt := range tests {
		got, err := ParseRoles(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseRoles(%q) = %v, %v; want error %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ParseRoles(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	if s := (Roles{RoleConsole, RoleAPI}).String(); s != "api,console" {
		t.Errorf("String() = %q, want the fixed order api,console", s)
	}
	if s := Roles(nil).String(); s != "api,ingest,worker,console" || !Roles(nil).Has(RoleWorker) {
		t.Errorf("no roles: %q, want all of them", s)
	}
	if (Roles{RoleAPI}).Has(RoleWorker) {
		t.Error("api has worker")
	}
}

func TestReadyz(t *testing.T) {
	for _, tc := range []struct {
		err      error
		code     int
		wantBody string
	}{
		{nil, 200, "ok\n"},
		{errors.New("temporal at 127.0.0.1:7233: rpc error:\n  connection refused"), 503, "temporal at 127.0.0.1:7233: rpc error: connection refused\n"},
	} {
		w := httptest.NewRecorder()
		readyz(func(context.Context) error { return tc.err })(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		if w.Code != tc.code || w.Body.String() != tc.wantBody {
			t.Errorf("readyz with %v: %d %q, want %d %q", tc.err, w.Code, w.Body.String(), tc.code, tc.wantBody)
		}
	}
}

// New refuses what it cannot run before it opens or dials anything.
func TestNewRefuses(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	pg := "postgres://vigil:pw@127.0.0.1:1/vigil"
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"no Temporal", Options{Config: cfg}, "no Temporal address"},
		{"bad settings", Options{Config: config.Config{}, TemporalAddress: "127.0.0.1:7233"}, "invalid settings: data_dir"},
		{"bad store", Options{Config: cfg, TemporalAddress: "127.0.0.1:7233", StoreDSN: "mysql://x"}, "not a store DSN"},
		{"shared store without a signing key", Options{Config: cfg, TemporalAddress: "127.0.0.1:7233", StoreDSN: pg}, "audit.signing_key is required with a PostgreSQL store"},
	} {
		a, err := New(context.Background(), tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New = %v, %v; want error %q", tc.name, a, err, tc.want)
		}
	}
}
