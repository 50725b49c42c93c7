package console

import (
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

	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/store"
)

// reviewConsole serves a console over a store holding one resolved incident
// with its audit trail.
func reviewConsole(t *testing.T) *httptest.Server {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	group := map[string]string{"alertname": "DiskFull", "service": "db"}
	res, err := st.IngestAlerts(ctx, "test", []store.AlertIn{{Fingerprint: "f1", Status: "firing", Labels: group, StartsAt: now.Add(-time.Hour), GroupKey: "k", GroupLabels: group}}, now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	id := res.Incidents[0]
	inc := incident.Incident{ID: id, Title: "DiskFull on <db>", Status: incident.StatusResolved, Services: []string{"db"}, Severity: "critical",
		Evidence:   []incident.Evidence{{ID: "E1", Kind: incident.KindAlert, Summary: "DiskFull on db-1", Start: now.Add(-time.Hour)}},
		DetectedAt: now.Add(-time.Hour), ResolvedAt: now.Add(-50 * time.Minute), UpdatedAt: now}
	if err := st.SaveIncident(ctx, inc, 1); err != nil {
		t.Fatal(err)
	}
	for i, a := range []struct {
		at     time.Duration
		action string
	}{{-59 * time.Minute, "incident.opened"}, {-59 * time.Minute, "alert.firing"}, {-51 * time.Minute, "alert.resolved"}, {-50 * time.Minute, "incident.resolved"}} {
		if _, err := st.AppendAudit(ctx, audit.Entry{Key: id + "/" + string(rune('a'+i)), Incident: id, At: now.Add(a.at), Actor: "system:ingest", Action: a.action,
			Details: map[string]any{"evidence": "E1", "reason": "Every alert resolved."}}); err != nil {
			t.Fatal(err)
		}
	}
	c := &Console{Store: st, Decider: &fakeDecider{}, User: "local-operator", Logger: slog.New(slog.DiscardHandler)}
	mux := http.NewServeMux()
	c.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(c.Shutdown)
	return srv
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestTimelineAndReportPages(t *testing.T) {
	srv := reviewConsole(t)
	id := "incident-1-diskfull-db"
	tests := []struct {
		path   string
		status int
		want   []string
	}{
		{"/incidents/" + id + "/timeline", 200, []string{"Timeline: DiskFull on &lt;db&gt;", `<svg class="vigil-chart"`, "E1 firing", "Resolved", "Back to the thread"}},
		{"/incidents/nope/timeline", 404, []string{"No such incident."}},
		{"/reports", 200, []string{"Incident report", "Time to resolve (MTTR)", `href="/incidents/` + id + `/timeline"`, `value="30d"`}},
		{"/reports?since=2w&service=checkout", 200, []string{"Incident report: checkout", `value="2w"`}},
		{"/reports?since=forever", 422, []string{`period &#34;forever&#34;`}},
		{"/api/v1/reports?since=soon", 422, []string{`since: period`}},
		{"/api/v1/incidents/nope/timeline", 404, nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			status, body := get(t, srv.URL+tt.path)
			if status != tt.status {
				t.Fatalf("status %d, want %d\n%s", status, tt.status, body)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %q", w)
				}
			}
		})
	}

	status, body := get(t, srv.URL+"/api/v1/incidents/"+id+"/timeline")
	var tl struct {
		Milestones struct {
			TimeToResolve float64 `json:"time_to_resolve_s"`
		} `json:"milestones"`
		Entries []struct{ Title string } `json:"entries"`
	}
	if status != 200 || json.Unmarshal([]byte(body), &tl) != nil || tl.Milestones.TimeToResolve != 600 || len(tl.Entries) != 5 {
		t.Errorf("timeline API: %d %s", status, body)
	}
	status, body = get(t, srv.URL+"/api/v1/reports?since=7d")
	var rep struct {
		Incidents int `json:"incidents"`
		MTTR      struct {
			N int `json:"n"`
		} `json:"mttr"`
	}
	if status != 200 || json.Unmarshal([]byte(body), &rep) != nil || rep.Incidents != 1 || rep.MTTR.N != 1 {
		t.Errorf("report API: %d %s", status, body)
	}
}
