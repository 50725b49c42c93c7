package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/internal/httpx"
	"github.com/vigilops/vigil/store"
	"github.com/vigilops/vigil/workflows/contract"
)

func newServer(t *testing.T, tokens ...string) (*httptest.Server, *store.Store, *int) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	woken := new(int)
	h := &Alertmanager{Store: st, GroupBy: []string{"alertname", "service"}, Notify: func() { *woken++ }, Logger: slog.New(slog.DiscardHandler)}
	limited := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 4096)
		h.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(httpx.RequireBearer(tokens, limited))
	t.Cleanup(srv.Close)
	return srv, st, woken
}

func post(t *testing.T, url, body string, header ...string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("response is not JSON: %q", b)
	}
	return resp.StatusCode, out
}

func TestAlertmanagerReceiver(t *testing.T) {
	good, err := os.ReadFile("testdata/alertmanager-firing.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantInBody []string
	}{
		{name: "valid payload with unknown fields", body: string(good), wantStatus: 200, wantInBody: []string{`"accepted":2`, `"incident-1-highlatency-checkout"`}},
		{name: "empty body", body: "", wantStatus: 400, wantInBody: []string{"request body is empty"}},
		{name: "malformed json", body: `{"alerts": [}`, wantStatus: 400, wantInBody: []string{"malformed JSON at byte 13"}},
		{name: "wrong type", body: `{"alerts": "nope"}`, wantStatus: 400, wantInBody: []string{"field alerts: expected an array, got JSON string"}},
		{name: "trailing garbage", body: `{"alerts": []} {}`, wantStatus: 400, wantInBody: []string{"malformed JSON at byte 16", "after top-level value"}},
		{name: "too large", body: `{"alerts": [` + strings.Repeat(`{"status":"firing"},`, 400) + `]}`, wantStatus: 413, wantInBody: []string{"request body exceeds 4096 bytes"}},
		{name: "no alerts", body: `{"version":"4","alerts":[]}`, wantStatus: 422, wantInBody: []string{"alerts: is required"}},
		{name: "bad version", body: `{"version":"3","alerts":[{"status":"firing","labels":{"a":"b"},"startsAt":"2026-11-24T03:00:00Z"}]}`, wantStatus: 422, wantInBody: []string{`version: unsupported webhook version \"3\"`}},
		{name: "every bad field reported", body: `{"alerts":[{"status":"firing","labels":{"a":"b"},"startsAt":"2026-11-24T03:00:00Z"},{"status":"burning","labels":{},"startsAt":"yesterday","endsAt":"later"}]}`,
			wantStatus: 422, wantInBody: []string{`alerts[1].status: must be \"firing\" or \"resolved\", got \"burning\"`, "alerts[1].labels: is required", `alerts[1].startsAt: is required and must be an RFC 3339 time, got \"yesterday\"`, "alerts[1].endsAt", "nothing was accepted"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, st, woken := newServer(t)
			status, body := post(t, srv.URL, tt.body)
			raw, _ := json.Marshal(body)
			if status != tt.wantStatus {
				t.Errorf("status %d, want %d (%s)", status, tt.wantStatus, raw)
			}
			for _, w := range tt.wantInBody {
				if !strings.Contains(string(raw), w) {
					t.Errorf("body %s lacks %q", raw, w)
				}
			}
			out, err := st.Outbox(context.Background(), 10)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantStatus != 200 && (len(out) != 0 || *woken != 0) {
				t.Errorf("a rejected request stored %d deliveries or woke the dispatcher", len(out))
			}
		})
	}
}

func TestAlertmanagerDedupAndNormalisation(t *testing.T) {
	good, _ := os.ReadFile("testdata/alertmanager-firing.json")
	srv, st, woken := newServer(t)
	if status, _ := post(t, srv.URL, string(good)); status != 200 {
		t.Fatal(status)
	}
	status, body := post(t, srv.URL, string(good))
	if status != 200 || body["accepted"] != 0.0 || body["duplicates"] != 2.0 {
		t.Errorf("resend: %d %v, want 0 accepted 2 duplicates", status, body)
	}
	if *woken != 1 {
		t.Errorf("dispatcher woken %d times, want 1 (duplicates need no delivery)", *woken)
	}
	out, _ := st.Outbox(context.Background(), 10)
	if len(out) != 1 || len(out[0].Events) != 2 {
		t.Fatalf("outbox = %+v", out)
	}
	e0, e1 := out[0].Events[0], out[0].Events[1]
	if e0.Fingerprint != "c0ffee0000000001" || !e0.EndsAt.IsZero() || e0.Labels["instance"] != "checkout-1" {
		t.Errorf("event 0 = %+v", e0)
	}
	// Without a fingerprint in the payload, Vigil computes Alertmanager's.
	if e1.Fingerprint != Fingerprint(e1.Labels) || len(e1.Fingerprint) != 16 || !e1.StartsAt.Equal(time.Date(2026, 11, 24, 3, 1, 0, 123e6, time.UTC)) {
		t.Errorf("event 1 = %+v", e1)
	}
	if out[0].GroupLabels["alertname"] != "HighLatency" || out[0].GroupLabels["service"] != "checkout" {
		t.Errorf("group labels = %v", out[0].GroupLabels)
	}
}

func TestBearerAuth(t *testing.T) {
	good, _ := os.ReadFile("testdata/alertmanager-firing.json")
	srv, st, _ := newServer(t, "t0ken")
	for _, h := range [][]string{nil, {"Authorization", "Bearer wrong"}, {"Authorization", "t0ken"}} {
		if status, body := post(t, srv.URL, string(good), h...); status != 401 || !strings.Contains(body["error"].(string), "bearer token") {
			t.Errorf("header %v: %d %v, want 401", h, status, body)
		}
	}
	if out, _ := st.Outbox(context.Background(), 10); len(out) != 0 {
		t.Error("unauthenticated request stored alerts")
	}
	if status, _ := post(t, srv.URL, string(good), "Authorization", "Bearer t0ken"); status != 200 {
		t.Errorf("valid token: %d", status)
	}
}

func TestFingerprintMatchesAlertmanager(t *testing.T) {
	// Known answers computed with prometheus/common v0.73.1:
	// model.LabelSet{...}.Fingerprint().String(), which Alertmanager uses.
	for want, ls := range map[string]map[string]string{
		"e46aaa9fcf75dd34": {"alertname": "Test"},
		"6d0181b725a54201": {"alertname": "HighLatency", "service": "checkout"},
	} {
		if got := Fingerprint(ls); got != want {
			t.Errorf("Fingerprint(%v) = %s, want %s", ls, got, want)
		}
	}
	a := Fingerprint(map[string]string{"a": "1", "b": "2"})
	if a != Fingerprint(map[string]string{"b": "2", "a": "1"}) || a == Fingerprint(map[string]string{"a": "12"}) {
		t.Error("fingerprint depends on map order or collides on concatenation")
	}
}

// deliverer records deliveries and fails or closes on demand.
type deliverer struct {
	mu     sync.Mutex
	got    map[string]int
	fail   error
	closed map[string]bool
}

func (d *deliverer) Deliver(_ context.Context, in contract.IncidentInput, events []incident.Event) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail != nil {
		return d.fail
	}
	if d.closed[in.ID] {
		return contract.ErrIncidentClosed
	}
	if d.got == nil {
		d.got = map[string]int{}
	}
	d.got[in.ID] += len(events)
	return nil
}

func TestDispatcher(t *testing.T) {
	good, _ := os.ReadFile("testdata/alertmanager-firing.json")
	srv, st, _ := newServer(t)
	post(t, srv.URL, string(good))
	ctx := context.Background()

	to := &deliverer{fail: errors.New("temporal unavailable")}
	d := NewDispatcher(st, to, slog.New(slog.DiscardHandler))
	if err := d.drain(ctx); err == nil {
		t.Fatal("drain succeeded while delivery fails")
	}
	if out, _ := st.Outbox(ctx, 10); len(out) != 1 {
		t.Fatal("a failed delivery was taken out of the outbox")
	}

	// The incident's workflow finished meanwhile: events move to a new incident.
	to.fail, to.closed = nil, map[string]bool{"incident-1-highlatency-checkout": true}
	if err := d.drain(ctx); err != nil {
		t.Fatal(err)
	}
	if to.got["incident-2-highlatency-checkout"] != 2 {
		t.Errorf("delivered %v, want 2 events to incident-2", to.got)
	}
	if out, _ := st.Outbox(ctx, 10); len(out) != 0 {
		t.Errorf("outbox not empty after delivery: %+v", out)
	}
}
