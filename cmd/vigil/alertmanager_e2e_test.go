package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRealAlertmanagerDeliversToVigil runs Debian's Alertmanager with Vigil as
// its webhook receiver, fires an alert through Alertmanager's own API, and
// checks that Vigil opens an incident from the real notification and resolves it
// when Alertmanager sends the resolve.
func TestRealAlertmanagerDeliversToVigil(t *testing.T) {
	bin, err := exec.LookPath("prometheus-alertmanager")
	if err != nil {
		t.Skip("prometheus-alertmanager is not installed (Debian package prometheus-alertmanager; .ci/run installs it)")
	}
	logs := &syncBuffer{}
	v := startVigil(t, t.TempDir(), logs)
	defer func() {
		_ = v.stop()
		if t.Failed() {
			t.Logf("vigil logs:\n%s", logs)
		}
	}()

	dir := t.TempDir()
	conf := fmt.Sprintf(`route:
  receiver: vigil
  group_by: [alertname, service]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: vigil
    webhook_configs:
      - url: %s/api/v1/alerts/alertmanager
        send_resolved: true
`, v.url)
	if err := os.WriteFile(filepath.Join(dir, "alertmanager.yml"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	amLogs := &syncBuffer{}
	am := exec.Command(bin, "--config.file="+filepath.Join(dir, "alertmanager.yml"), "--storage.path="+dir,
		"--web.listen-address="+addr, "--cluster.listen-address=", "--log.level=debug")
	am.Stdout, am.Stderr = amLogs, amLogs
	if err := am.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = am.Process.Kill()
		_ = am.Wait()
		if t.Failed() {
			t.Logf("alertmanager logs:\n%s", amLogs)
		}
	}()
	amURL := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(amURL + "/-/ready")
		if err == nil && resp.StatusCode == 200 {
			resp.Body.Close()
			break
		}
		if err == nil {
			resp.Body.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("alertmanager not ready: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	fire := func(ends string) {
		t.Helper()
		body := fmt.Sprintf(`[{"labels":{"alertname":"HighErrorRate","service":"payments","severity":"critical","instance":"payments-1"},
			"annotations":{"summary":"5xx above 5%%"},"startsAt":%q%s}]`, time.Now().UTC().Add(-time.Minute).Format(time.RFC3339), ends)
		resp, err := http.Post(amURL+"/api/v2/alerts", "application/json", bytes.NewBufferString(body))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("post to alertmanager: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	fire("")
	var id string
	deadline = time.Now().Add(30 * time.Second)
	for id == "" && time.Now().Before(deadline) {
		_, list := call(t, "GET", v.url+"/api/v1/incidents", "")
		if incs, _ := list["incidents"].([]any); len(incs) > 0 {
			id = incs[0].(map[string]any)["id"].(string)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if id == "" {
		t.Fatal("Alertmanager's notification opened no incident in Vigil")
	}
	inc := waitFor(t, v, id, "showing the alert", func(inc map[string]any) bool {
		return strings.Contains(fmt.Sprint(inc["messages"]), "E1 · alert firing: HighErrorRate")
	})
	if inc["title"] != "HighErrorRate on payments" || inc["severity"] != "critical" {
		t.Errorf("incident %v / %v", inc["title"], inc["severity"])
	}

	fire(fmt.Sprintf(`,"endsAt":%q`, time.Now().UTC().Format(time.RFC3339)))
	inc = waitFor(t, v, id, "resolved by Alertmanager's resolve", hasStatus("resolved"))
	if inc["reason"] != "Every alert of this incident has resolved." {
		t.Errorf("reason %v", inc["reason"])
	}
}
