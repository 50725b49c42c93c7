package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/vigilops/vigil/config"
)

// TestGitHubWebhookJoinsTheOpenIncident runs `vigil dev` with a webhook
// secret: a signed deployment of the repository that builds the alerting
// service joins its open incident as evidence; an unsigned one is refused.
func TestGitHubWebhookJoinsTheOpenIncident(t *testing.T) {
	t.Setenv("VIGIL_TEST_WEBHOOK_SECRET", "s3cret")
	logs := &syncBuffer{}
	v := startVigilWith(t, t.TempDir(), logs, func(cfg *config.Config) {
		cfg.Changes = config.Changes{WebhookSecret: "env:VIGIL_TEST_WEBHOOK_SECRET", Services: map[string]config.ServiceSpec{"db": {Repo: "acme/db"}}}
	})
	var once sync.Once
	stop := func() {
		once.Do(func() {
			if err := v.stop(); err != nil {
				t.Errorf("vigil dev: %v", err)
			}
		})
	}
	t.Cleanup(stop)

	status, res := call(t, "POST", v.url+"/api/v1/alerts/alertmanager", alertPayload(t.TempDir()))
	if status != 200 {
		t.Fatalf("alert: %d %v", status, res)
	}
	id := res["incidents"].([]any)[0].(string)
	waitFor(t, v, id, "unresolved with service db", func(inc map[string]any) bool {
		return inc["status"] != "resolved" && fmt.Sprint(inc["services"]) == "[db]"
	})

	body := `{"deployment": {"id": 7, "sha": "abc1234def", "ref": "main", "environment": "production",
	  "creator": {"login": "ana"}, "created_at": "2026-11-24T02:58:00Z"},
	  "repository": {"full_name": "acme/db", "default_branch": "main"}}`
	deliver := func(signature string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, v.url+"/api/v1/github/webhook", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "deployment")
		if signature != "" {
			req.Header.Set("X-Hub-Signature-256", signature)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, b := deliver(""); code != 401 {
		t.Fatalf("unsigned delivery: %d %s", code, b)
	}
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write([]byte(body))
	if code, b := deliver("sha256=" + hex.EncodeToString(mac.Sum(nil))); code != 200 || !strings.Contains(b, id) {
		t.Fatalf("signed delivery: %d %s, want it to join %s", code, b, id)
	}
	waitFor(t, v, id, "holding the deployment as evidence", func(inc map[string]any) bool {
		return strings.Contains(fmt.Sprint(inc["evidence"]), "deploy of db to production at 02:58 UTC by @ana (abc1234)")
	})
	stop()
}
