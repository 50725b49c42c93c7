package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/store"
)

// silencesServer is the silences API and the Alertmanager receiver on a real
// store, as `vigil dev` wires them.
func silencesServer(t *testing.T, st *store.Store) *httptest.Server {
	t.Helper()
	sil, err := LoadSilences(context.Background(), st, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	st.Mute(sil)
	mux := http.NewServeMux()
	sil.Register(mux, func(h http.Handler) http.Handler { return h })
	mux.Handle("POST /api/v1/alerts/alertmanager", &Alertmanager{Store: st, GroupBy: []string{"alertname", "service"}, Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func call(t *testing.T, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, out
}

func TestSilencesAPI(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := silencesServer(t, st)

	bad := []struct{ name, body, want string }{
		{"no end", `{"matchers":["service=\"db\""],"created_by":"alice","comment":"maintenance"}`, "ends_at or duration is required"},
		{"bad matcher", `{"matchers":["service db"],"duration":"1h","created_by":"alice","comment":"maintenance"}`, "matchers[0]"},
		{"matches everything", `{"matchers":["service=~\".*\""],"duration":"1h","created_by":"alice","comment":"maintenance"}`, "would silence every alert"},
		{"no author or comment", `{"matchers":["service=\"db\""],"duration":"1h"}`, "author (created_by) is required"},
		{"bad duration", `{"matchers":["service=\"db\""],"duration":"soon","created_by":"alice","comment":"maintenance"}`, "not a positive duration"},
	}
	for _, b := range bad {
		code, out := call(t, "POST", srv.URL+"/api/v1/silences", b.body)
		if code != http.StatusUnprocessableEntity || !strings.Contains(strings.Join(toStrings(out["problems"]), "; "), b.want) {
			t.Errorf("%s: %d %v, want 422 saying %q", b.name, code, out, b.want)
		}
	}
	if code, out := call(t, "POST", srv.URL+"/api/v1/silences", `{"matchers":[`); code != http.StatusBadRequest {
		t.Errorf("malformed JSON: %d %v", code, out)
	}

	code, created := call(t, "POST", srv.URL+"/api/v1/silences", `{"matchers":["service=\"db\""],"duration":"2h","created_by":"alice","comment":"db maintenance"}`)
	if code != http.StatusCreated || created["state"] != "active" || created["created_by"] != "alice" {
		t.Fatalf("create: %d %v", code, created)
	}
	id := created["id"].(string)

	alert := func(name, svc string) string {
		return `{"version":"4","status":"firing","receiver":"vigil","groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am","groupKey":"k","alerts":[{"status":"firing","labels":{"alertname":"` + name + `","service":"` + svc + `"},"annotations":{},"startsAt":"2026-11-24T03:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"` + svc + `1"}]}`
	}
	code, ans := call(t, "POST", srv.URL+"/api/v1/alerts/alertmanager", alert("DBDown", "db"))
	if code != http.StatusOK || ans["silenced"] != float64(1) || len(toStrings(ans["incidents"])) != 0 {
		t.Errorf("silenced alert: %d %v, want it stored, silenced and in no incident", code, ans)
	}
	code, ans = call(t, "POST", srv.URL+"/api/v1/alerts/alertmanager", alert("HighErrors", "api"))
	if code != http.StatusOK || ans["silenced"] != nil || len(toStrings(ans["incidents"])) != 1 {
		t.Errorf("other alert: %d %v, want an incident", code, ans)
	}

	if code, out := call(t, "DELETE", srv.URL+"/api/v1/silences/"+id, ""); code != http.StatusOK || out["state"] != "expired" {
		t.Errorf("expire: %d %v", code, out)
	}
	if code, _ := call(t, "DELETE", srv.URL+"/api/v1/silences/"+id, ""); code != http.StatusConflict {
		t.Errorf("expire again: %d, want 409", code)
	}
	if code, _ := call(t, "DELETE", srv.URL+"/api/v1/silences/nope", ""); code != http.StatusNotFound {
		t.Errorf("expire unknown: %d, want 404", code)
	}
	time.Sleep(10 * time.Millisecond) // past the expiry instant
	code, ans = call(t, "POST", srv.URL+"/api/v1/alerts/alertmanager", alert("DBDown", "db"))
	if code != http.StatusOK || len(toStrings(ans["incidents"])) != 1 {
		t.Errorf("after the expiry Alertmanager's resend: %d %v, want an incident", code, ans)
	}

	// Silences survive a restart, with their state.
	srv2 := silencesServer(t, st)
	code, list := call(t, "GET", srv2.URL+"/api/v1/silences", "")
	ss, _ := list["silences"].([]any)
	if code != http.StatusOK || len(ss) != 1 || ss[0].(map[string]any)["state"] != "expired" || ss[0].(map[string]any)["comment"] != "db maintenance" {
		t.Errorf("list after restart: %d %v", code, list)
	}
}

func toStrings(v any) []string {
	xs, _ := v.([]any)
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i], _ = x.(string)
	}
	return out
}
