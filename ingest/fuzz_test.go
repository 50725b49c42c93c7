package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/analyzers/logmine"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/internal/httpx"
	"github.com/vigilops/vigil/signals"
	"github.com/vigilops/vigil/store"
)

// The fuzz targets of the ingest receivers. Each one feeds a body to a
// receiver as the HTTP layer would and checks what any body must get: an
// answer, never a panic; a JSON answer; a 2xx only when the input was taken
// whole, a 4xx that names the problem otherwise. Seeds are the fixtures of the
// receivers' tests. Run one with
//
//	go test -run '^$' -fuzz '^FuzzAlertmanagerPayload$' -fuzztime 10s ./ingest

// addFixtures seeds f with the files of testdata matching glob.
func addFixtures(f *testing.F, glob string) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", glob))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed files match testdata/%s", glob)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
}

// alertRecorder is an AlertStore that keeps what it is given.
type alertRecorder struct{ got []store.AlertIn }

func (r *alertRecorder) IngestAlerts(_ context.Context, _ string, alerts []store.AlertIn, _ time.Time) (store.IngestResult, error) {
	r.got = append(r.got, alerts...)
	return store.IngestResult{Accepted: len(alerts)}, nil
}

// serve sends body to h and returns the status and the decoded JSON answer.
func serve(t *testing.T, h http.Handler, target, contentType, body string) (int, httpx.Error, []byte) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var e httpx.Error
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("answer %d is not JSON: %q", rec.Code, rec.Body.Bytes())
	}
	if rec.Code >= 400 && e.Message == "" {
		t.Fatalf("answer %d names no problem: %s", rec.Code, rec.Body.Bytes())
	}
	return rec.Code, e, rec.Body.Bytes()
}

// FuzzAlertmanagerPayload: an accepted payload stores one well-formed alert
// per alert sent, and sending those alerts again stores the same alerts; a
// refused one is a 4xx whose problems are JSON paths into the payload.
func FuzzAlertmanagerPayload(f *testing.F) {
	addFixtures(f, "alertmanager-*.json")
	f.Add(`{"alerts":[{"status":"resolved","labels":{"a":"b"},"startsAt":"2026-01-02T03:04:05.999999999+01:00","endsAt":"2026-01-02T04:00:00Z"}]}`)
	f.Add(`{"version":"3","alerts":[{"status":"up","labels":{},"startsAt":"yesterday","endsAt":"x"}]}`)
	f.Add(`{"alerts":[]}`)
	f.Add(`[1,2]`)
	f.Fuzz(func(t *testing.T, body string) {
		st := &alertRecorder{}
		h := &Alertmanager{Store: st, GroupBy: []string{"alertname", "service"}, Logger: discard}
		status, e, answer := serve(t, h, "/api/v1/alerts/alertmanager", "application/json", body)
		if status != http.StatusOK {
			if status < 400 || status >= 500 {
				t.Fatalf("status %d for a payload: %s", status, answer)
			}
			if len(st.got) != 0 {
				t.Fatalf("refused payload stored %d alerts", len(st.got))
			}
			for _, p := range e.Problems {
				if !strings.HasPrefix(p, "alerts") && !strings.HasPrefix(p, "version") {
					t.Fatalf("problem %q names no field", p)
				}
			}
			return
		}
		var sent webhook
		if err := decodeAsServed(body, &sent); err != nil || len(sent.Alerts) != len(st.got) {
			t.Fatalf("payload of %d alerts stored %d", len(sent.Alerts), len(st.got))
		}
		resend := webhook{Version: "4"}
		for _, a := range st.got {
			if a.Status != incident.AlertFiring && a.Status != incident.AlertResolved {
				t.Fatalf("stored status %q", a.Status)
			}
			if len(a.Labels) == 0 || a.Fingerprint == "" || a.StartsAt.IsZero() || a.GroupKey == "" {
				t.Fatalf("stored alert lacks labels, fingerprint, start or group: %+v", a)
			}
			wa := webhookAlert{Status: a.Status, Labels: a.Labels, Annotations: a.Annotations,
				StartsAt: a.StartsAt.Format(time.RFC3339Nano), GeneratorURL: a.GeneratorURL, Fingerprint: a.Fingerprint}
			if !a.EndsAt.IsZero() {
				wa.EndsAt = a.EndsAt.Format(time.RFC3339Nano)
			}
			resend.Alerts = append(resend.Alerts, wa)
		}
		again, err := json.Marshal(resend)
		if err != nil {
			t.Fatal(err)
		}
		first := st.got
		st.got = nil
		if status, _, answer := serve(t, h, "/api/v1/alerts/alertmanager", "application/json", string(again)); status != http.StatusOK {
			t.Fatalf("resending the stored alerts: %d %s\n%s", status, answer, again)
		}
		for i, a := range st.got {
			b := first[i]
			if a.Fingerprint != b.Fingerprint || a.Status != b.Status || !maps.Equal(a.Labels, b.Labels) ||
				!a.StartsAt.Equal(b.StartsAt) || !a.EndsAt.Equal(b.EndsAt) || a.GroupKey != b.GroupKey {
				t.Fatalf("alert %d changed on resend:\n%+v\n%+v", i, b, a)
			}
		}
	})
}

// FuzzMetricsBody: an accepted batch counts every sample as accepted or a
// duplicate; a refused one stores nothing and names samples[i] fields.
func FuzzMetricsBody(f *testing.F) {
	now := time.Now().Unix()
	f.Add(`{"samples":[{"metric":"http_latency_p99","labels":{"service":"checkout"},"timestamp":` + jsonNum(now-60) + `,"value":0.21},` +
		`{"metric":"http_latency_p99","labels":{"service":"checkout"},"timestamp":"` + time.Unix(now-30, 0).UTC().Format(time.RFC3339) + `","value":"0.23"}]}`)
	f.Add(`{"samples":[{"metric":"a:b","timestamp":` + jsonNum(now) + `.5,"value":"NaN"},{"metric":"a:b","timestamp":` + jsonNum(now) + `.5,"value":"+Inf"}]}`)
	f.Add(`{"samples":[{"metric":"1x","labels":{"__n":"\xff"},"timestamp":-1,"value":1e400}]}`)
	f.Add(`{"samples":[]}`)
	f.Add(`{"samples":[{"metric":"m","timestamp":null,"value":null}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		sink := &eventSink{}
		m, err := signals.NewMetrics("metrics", signals.MetricsConfig{}, sink)
		if err != nil {
			t.Fatal(err)
		}
		status, e, answer := serve(t, &Metrics{Pipeline: m, Logger: discard}, "/api/v1/metrics", "application/json", body)
		if status != http.StatusOK {
			if status < 400 || status >= 500 {
				t.Fatalf("status %d: %s", status, answer)
			}
			if m.Series() != 0 {
				t.Fatalf("refused batch made %d series", m.Series())
			}
			for _, p := range e.Problems {
				if !strings.HasPrefix(p, "samples") {
					t.Fatalf("problem %q names no sample", p)
				}
			}
			return
		}
		var got SignalsAccepted
		if err := json.Unmarshal(answer, &got); err != nil {
			t.Fatal(err)
		}
		var sent metricsBody
		if err := decodeAsServed(body, &sent); err != nil || got.Accepted+got.Duplicates != len(sent.Samples) {
			t.Fatalf("batch of %d samples: %d accepted, %d duplicates", len(sent.Samples), got.Accepted, got.Duplicates)
		}
		if got.Events != len(sink.stored()) {
			t.Fatalf("answer counts %d events, %d stored", got.Events, len(sink.stored()))
		}
	})
}

// decodeAsServed decodes body the way the receivers do.
func decodeAsServed(body string, v any) error {
	return httpx.DecodeJSON(httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body)), v)
}

func jsonNum(n int64) string { b, _ := json.Marshal(n); return string(b) }

// logContentTypes are the Content-Types FuzzLogsBody picks from.
var logContentTypes = []string{"", "text/plain", "application/x-ndjson", "application/json; charset=utf-8", "text/plain; charset"}

// FuzzLogsBody: an accepted body is taken line by line (every line in text
// mode, every non-blank line in JSON mode); a refused one stores nothing and
// its problems name body lines.
func FuzzLogsBody(f *testing.F) {
	recent := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	f.Add("source=checkout&env=prod", uint8(1), "INFO started\r\nERROR db down\n\nlast line without newline")
	f.Add("source=hdfs&format="+url.QueryEscape("<Date> <Time> <Level> <Component>: <Content>"), uint8(0), "081109 203615 INFO dfs.DataNode: Receiving block\n")
	f.Add("env=prod", uint8(2), `{"message":"db down","level":"error","source":"checkout","timestamp":"`+recent+`"}`+"\n\n"+`{"message":"ok","source":"api","labels":{"pod":"api-1"}}`)
	f.Add("source=a", uint8(2), `{"message":"ok"}`+"\n"+`{"level":"info"}`+"\n"+`{"message":`+"\n"+`{"message":"x","timestamp":"soon"} {}`+"\n"+`{"message":"x","labels":{"__x":"y"}}`)
	f.Add("source=a&source=b&format=%3CA%3E+%3CA%3E", uint8(4), "hello")
	f.Fuzz(func(t *testing.T, query string, ct uint8, body string) {
		sink := &eventSink{}
		l := signals.NewLogs("logs", signals.LogsConfig{Detector: logmine.DetectorConfig{Interval: time.Minute, WarmUp: time.Nanosecond}}, sink)
		contentType := logContentTypes[int(ct)%len(logContentTypes)]
		status, e, answer := serve(t, &Logs{Pipeline: l, Logger: discard}, "/api/v1/logs?"+url.PathEscape(query), contentType, body)
		if status != http.StatusOK {
			if status < 400 || status >= 500 {
				t.Fatalf("status %d: %s", status, answer)
			}
			for _, p := range e.Problems {
				if !strings.HasPrefix(p, "line ") && !strings.HasPrefix(p, "… and ") {
					t.Fatalf("problem %q names no line", p)
				}
			}
			if len(sink.stored()) != 0 {
				t.Fatalf("refused body stored %d events", len(sink.stored()))
			}
			return
		}
		var got SignalsAccepted
		if err := json.Unmarshal(answer, &got); err != nil {
			t.Fatal(err)
		}
		lines := splitLines([]byte(body))
		want := len(lines)
		if strings.HasPrefix(contentType, "application/") {
			want = 0
			for _, l := range lines {
				if strings.TrimSpace(l) != "" {
					want++
				}
			}
		}
		if got.Accepted != want {
			t.Fatalf("body of %d lines (%s): %d accepted", want, contentType, got.Accepted)
		}
	})
}

// githubEvents are the X-GitHub-Event values FuzzGitHubPayload picks from.
var githubEvents = []string{"deployment", "deployment_status", "push", "pull_request", "ping", "issues", ""}

// FuzzGitHubPayload: a payload either makes changes of configured services,
// each a well-formed change event, or is ignored with a reason, or is refused
// with a 400 that names the event; its form-encoded delivery reads the same.
func FuzzGitHubPayload(f *testing.F) {
	for i, name := range []string{"deployment", "deployment-status", "push", "pull-request-merged"} {
		b, err := os.ReadFile(filepath.Join("testdata", "github-"+name+".json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), string(b))
	}
	f.Add(uint8(4), `{"zen":"Keep it logically awesome."}`)
	f.Add(uint8(2), `{"ref":"refs/tags/v1","after":"abc","repository":{"full_name":"acme/checkout"},"commits":[{}]}`)
	f.Add(uint8(3), `{"action":"closed","pull_request":{"merged":true},"repository":{}}`)
	f.Fuzz(func(t *testing.T, ev uint8, payload string) {
		event := githubEvents[int(ev)%len(githubEvents)]
		h := &GitHub{Catalog: testCatalog(), Logger: discard}
		form := url.Values{"payload": {payload}}.Encode()
		if got, err := webhookPayload("application/x-www-form-urlencoded", []byte(form)); payload != "" && (err != nil || string(got) != payload) {
			t.Fatalf("form-encoded payload reads %q, %v", got, err)
		}
		cs, ignored, err := h.changes(event, []byte(payload))
		if err != nil {
			var he *httpx.Error
			if !errors.As(err, &he) || he.Status != http.StatusBadRequest {
				t.Fatalf("refusal is not a 400: %v", err)
			}
			if event != "" && !strings.Contains(he.Message, event) {
				t.Fatalf("refusal %q does not name the %s event", he.Message, event)
			}
			return
		}
		if len(cs) == 0 {
			if ignored == "" {
				t.Fatalf("%s payload neither made changes nor said why not", event)
			}
			return
		}
		for _, c := range cs {
			if c.Repo == "" || c.ID == "" {
				t.Fatalf("change lacks repo or id: %+v", c)
			}
			// A repository that builds no service keeps its change unattributed.
			services := testCatalog().Services(c.Repo)
			known := len(services) == 0 && c.Service == "" && !strings.Contains(c.ID, "@")
			for _, s := range services {
				known = known || (s.Name == c.Service && strings.HasSuffix(c.ID, "@"+s.Name))
			}
			if !known {
				t.Fatalf("change %s attributed to %q, not a service of %s", c.ID, c.Service, c.Repo)
			}
			e := c.Event(time.Time{})
			if e.Kind != incident.KindChange || e.Fingerprint != c.ID || e.Labels["repo"] != c.Repo || e.Summary == "" {
				t.Fatalf("change event malformed: %+v", e)
			}
		}
	})
}
