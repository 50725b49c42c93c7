package ingest

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/runbooks"
	"github.com/vigilops/vigil/store"
	"github.com/vigilops/vigil/workflows/contract"
)

func TestManualRequestRun(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	lib, ps, err := runbooks.LoadDir("../examples/runbooks", map[string][]string{"oncall": {"alice"}})
	if err != nil || len(ps) > 0 {
		t.Fatal(err, ps)
	}
	woken := 0
	m := &Manual{Store: st, Runbooks: runbooks.NewHolder(lib), Notify: func() { woken++ }}
	alice := incident.Actor{User: "alice", Surface: "slack", Verification: "slack request signature"}
	ctx := context.Background()

	id, err := m.RequestRun(ctx, "collect-diagnostics", "db", alice)
	if err != nil || id == "" || woken != 1 {
		t.Fatalf("RequestRun = %q, %v (woken %d)", id, err, woken)
	}
	out, _ := st.Outbox(ctx, 10)
	if len(out) != 1 || out[0].IncidentID != id {
		t.Fatalf("outbox %+v", out)
	}
	e := out[0].Events[0]
	if e.Kind != incident.KindManual || e.Labels["requested_by"] != "alice" || e.Labels["runbook"] != "collect-diagnostics" || e.Annotations["verification"] != "slack request signature" {
		t.Errorf("stored event %+v", e)
	}
	// A second request joins the incident now open for the service.
	if err := st.SaveIncident(ctx, incident.Incident{ID: id, Status: incident.StatusAwaitingApproval, Services: []string{"db"}}, 1); err != nil {
		t.Fatal(err)
	}
	if id2, err := m.RequestRun(ctx, "clean-temp-files", "db", alice); err != nil || id2 != id {
		t.Errorf("second request went to %q (%v), want %q", id2, err, id)
	}

	for _, tt := range []struct {
		runbook, service string
		actor            incident.Actor
		kind, msg        string
	}{
		{"no-such-runbook", "db", alice, contract.RefusedNotFound, `there is no runbook "no-such-runbook"; known runbooks: `},
		{"collect-diagnostics", "db; rm -rf /", alice, contract.RefusedBadRequest, "is not a service name"},
		{"collect-diagnostics", "db", incident.Actor{}, contract.RefusedForbidden, "no verified user identity"},
	} {
		_, err := m.RequestRun(ctx, tt.runbook, tt.service, tt.actor)
		var r *contract.Refusal
		if !errors.As(err, &r) || r.Kind != tt.kind || !strings.Contains(r.Message, tt.msg) {
			t.Errorf("RequestRun(%s, %s) = %v, want %s %q", tt.runbook, tt.service, err, tt.kind, tt.msg)
		}
	}
}
