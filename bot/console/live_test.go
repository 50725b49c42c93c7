package console

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/store"
)

// richer saves the incident again with evidence, a candidate and an audit trail.
func richer(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	inc, err := st.Incident(ctx, incID)
	if err != nil {
		t.Fatal(err)
	}
	inc.Severity, inc.Services = "critical", []string{"checkout"}
	inc.Evidence = []incident.Evidence{{ID: "E2", Kind: incident.KindMetricAnomaly, Summary: "p99 latency 3.2x its baseline",
		Series: &incident.Series{Name: "http_p99_seconds", Times: []int64{0, 60, 120, 180}, Values: []float64{0.2, 0.25, 0.9, 1.4}}}}
	inc.Candidates = []incident.Candidate{{Component: "checkout-db", Score: 0.71, Reason: "anomalous first",
		Factors: []incident.Factor{{Name: "anomaly", Weight: 0.5, Value: 0.9, Evidence: []string{"E2"}}}}}
	inc.UpdatedAt = time.Now()
	if err := st.SaveIncident(ctx, inc, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AppendAudit(ctx, audit.Entry{Key: "a1", Incident: incID, At: time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC),
		Actor: "system:ingest", Action: "incident.opened", Details: map[string]any{"title": "HighLatency on checkout"}}); err != nil {
		t.Fatal(err)
	}
}

func TestIncidentPanels(t *testing.T) {
	srv, _, st := setupConsole(t, nil)
	richer(t, st)
	status, body := do(t, "GET", srv.URL+"/incidents/"+incID, "")
	for _, want := range []string{
		`<section class="panel" aria-label="Evidence">`,
		`<svg class="spark" viewBox="0 0 240 48"`, "<figcaption>http_p99_seconds</figcaption>",
		"<b>checkout-db</b> <span class=\"score\">0.71</span>",
		`<td class="bar"><span style="width: 90%"></span></td><td>0.90 × 0.50</td>`,
		"<b>incident.opened</b> <span class=\"meta\">system:ingest</span>",
		"title=HighLatency on checkout",
		`<a href="#m-proposal-P1"><b>P1</b></a>`,
	} {
		if status != 200 || !strings.Contains(body, want) {
			t.Errorf("incident page lacks %q", want)
		}
	}
}

func TestListFilters(t *testing.T) {
	srv, _, st := setupConsole(t, nil)
	richer(t, st)
	tests := []struct {
		query string
		found bool
	}{
		{"", true},
		{"?service=checkout", true},
		{"?service=payments", false},
		{"?severity=critical&status=awaiting_approval", true},
		{"?severity=warning", false},
		{"?since=1h", true},
	}
	for _, tt := range tests {
		status, body := do(t, "GET", srv.URL+"/"+tt.query, "")
		if status != 200 || strings.Contains(body, `href="/incidents/`+incID+`"`) != tt.found {
			t.Errorf("list%s: %d, want found=%v", tt.query, status, tt.found)
		}
		status, body = do(t, "GET", srv.URL+"/api/v1/incidents"+tt.query, "")
		if status != 200 || strings.Contains(body, incID) != tt.found {
			t.Errorf("API list%s: %d, want found=%v", tt.query, status, tt.found)
		}
	}
}

// TestLiveThread reads the event stream of the incident page: it starts with the
// thread as it is and sends it again when a message is posted.
func TestLiveThread(t *testing.T) {
	srv, _, st := setupConsole(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/incidents/"+incID+"/live", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	events := make(chan string)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var ev strings.Builder
		for sc.Scan() {
			line := sc.Text()
			if line == "" && ev.Len() > 0 {
				events <- ev.String()
				ev.Reset()
				continue
			}
			if d, ok := strings.CutPrefix(line, "data: "); ok {
				ev.WriteString(d + "\n")
			}
		}
		close(events)
	}()
	next := func() string {
		select {
		case e := <-events:
			return e
		case <-ctx.Done():
			t.Fatal("no event")
			return ""
		}
	}
	if first := next(); !strings.Contains(first, "P1 · Proposed") {
		t.Errorf("first event lacks the thread:\n%s", first)
	}
	if err := (Thread{Store: st}).Post(ctx, incID, "note-1", bot.Status("Escalated", "A human needs to look.")); err != nil {
		t.Fatal(err)
	}
	if second := next(); !strings.Contains(second, "A human needs to look.") {
		t.Errorf("update lacks the new message:\n%s", second)
	}
}
