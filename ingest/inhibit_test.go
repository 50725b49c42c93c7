package ingest

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigilops/vigil/analyzers/correlate"
	"github.com/vigilops/vigil/runbooks"
	"github.com/vigilops/vigil/store"
)

func mustMatchers(t *testing.T, texts ...string) correlate.Matchers {
	t.Helper()
	var ms correlate.Matchers
	for _, s := range texts {
		m, err := runbooks.ParseMatcher(s)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	return ms
}

// While a critical alert fires on a cluster, new warnings on the same cluster
// are stored but open nothing; other clusters' warnings do; after a restart the
// firing source still inhibits.
func TestInhibitionAtIngest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.db")
	rules := []correlate.InhibitRule{{
		Source: mustMatchers(t, `severity="critical"`), Target: mustMatchers(t, `severity="warning"`), Equal: []string{"cluster"},
	}}
	serve := func(st *store.Store) *httptest.Server {
		in, err := LoadInhibitions(context.Background(), st, rules)
		if err != nil {
			t.Fatal(err)
		}
		st.Mute(in)
		srv := httptest.NewServer(&Alertmanager{Store: st, GroupBy: []string{"alertname", "cluster"}, Logger: slog.New(slog.DiscardHandler)})
		t.Cleanup(srv.Close)
		return srv
	}
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(st)
	start := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	ends := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	alert := func(fp, name, severity, cluster string) string {
		return `{"version":"4","status":"firing","receiver":"vigil","groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am","groupKey":"k","alerts":[{"status":"firing","labels":{"alertname":"` + name + `","severity":"` + severity + `","cluster":"` + cluster + `"},"annotations":{},"startsAt":"` + start + `","endsAt":"` + ends + `","generatorURL":"","fingerprint":"` + fp + `"}]}`
	}
	steps := []struct {
		name          string
		body          string
		wantIncidents int
		wantSilenced  float64
	}{
		{"the source opens its incident", alert("c1", "ClusterDown", "critical", "eu"), 1, 0},
		{"a warning on the same cluster is inhibited", alert("w1", "HighLatency", "warning", "eu"), 0, 1},
		{"a warning on another cluster is not", alert("w2", "HighLatency", "warning", "us"), 1, 0},
	}
	for _, s := range steps {
		code, ans := call(t, "POST", srv.URL, s.body)
		if code != http.StatusOK || len(toStrings(ans["incidents"])) != s.wantIncidents || (ans["silenced"] != nil) != (s.wantSilenced > 0) {
			t.Errorf("%s: %d %v", s.name, code, ans)
		}
	}
	_ = st.Close()

	st2, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	srv2 := serve(st2)
	code, ans := call(t, "POST", srv2.URL, alert("w3", "DiskSlow", "warning", "eu"))
	if code != http.StatusOK || ans["silenced"] != float64(1) {
		t.Errorf("after a restart, a warning on the cluster still down: %d %v, want it inhibited", code, ans)
	}
}
