package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vigilops/vigil/config"
)

// TestManualRunEndToEnd requests a run over the API on the real embedded stack:
// the requester may not approve it, another approver may, and it runs.
func TestManualRunEndToEnd(t *testing.T) {
	logs := &syncBuffer{}
	v := startVigilWith(t, t.TempDir(), logs, func(c *config.Config) {
		c.Groups = map[string][]string{"oncall": {"local-operator", "alice"}}
	})
	defer func() {
		_ = v.stop()
		if t.Failed() {
			t.Logf("vigil logs:\n%s", logs)
		}
	}()
	status, body := call(t, "POST", v.url+"/api/v1/runs", `{"runbook":"collect-diagnostics","service":"db","user":"alice"}`)
	if status != 202 {
		t.Fatalf("request: %d %v", status, body)
	}
	id := body["incident"].(string)
	waitFor(t, v, id, "awaiting approval of the request", hasStatus("awaiting_approval"))
	if status, body = call(t, "POST", v.url+"/api/v1/incidents/"+id+"/decisions", `{"proposal_id":"P1","decision":"approve","user":"alice"}`); status != 403 ||
		!strings.Contains(fmt.Sprint(body["error"]), "alice requested P1 and may not approve it too") {
		t.Errorf("self-approval: %d %v", status, body)
	}
	if status, body = call(t, "POST", v.url+"/api/v1/incidents/"+id+"/acts", `{"act":"ack","user":"local-operator"}`); status != 200 {
		t.Errorf("ack: %d %v", status, body)
	}
	if status, body = call(t, "POST", v.url+"/api/v1/incidents/"+id+"/decisions", `{"proposal_id":"P1","decision":"approve"}`); status != 200 {
		t.Fatalf("approve by local-operator: %d %v", status, body)
	}
	inc := waitFor(t, v, id, "resolved", hasStatus("resolved"))
	thread := fmt.Sprint(inc["messages"])
	for _, want := range []string{"alice asked to run collect-diagnostics for db", "Requested by alice for db on E1", "Step 4/4 top-processes: succeeded", "Runbook collect-diagnostics (P1) succeeded."} {
		if !strings.Contains(thread, want) {
			t.Errorf("thread lacks %q", want)
		}
	}
	if status, body = call(t, "POST", v.url+"/api/v1/runs", `{"runbook":"format-disks","service":"db","user":"alice"}`); status != 404 ||
		!strings.Contains(fmt.Sprint(body["error"]), `there is no runbook "format-disks"`) {
		t.Errorf("unknown runbook: %d %v", status, body)
	}
}
