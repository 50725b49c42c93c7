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
	"github.com/vigilops/vigil/internal/pgtest"
	"github.com/vigilops/vigil/store"
)

// replicaStores opens two stores on one database, as two replicas have them:
// on SQLite two handles on one file, on PostgreSQL two pools on one database.
func replicaStores(t *testing.T, engine store.Engine) [2]*store.Store {
	t.Helper()
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "vigil.db")
	if engine == store.Postgres {
		dsn = pgtest.SchemaDSN(t)
	}
	var out [2]*store.Store
	for i := range out {
		st, err := store.OpenDSN(dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		out[i] = st
	}
	return out
}

// A silence made through one replica's API, or expired there, is in force
// (or over) for alerts the other replica receives; a source alert one replica
// received inhibits targets the other receives.
func TestMutesHoldAcrossReplicas(t *testing.T) {
	for _, engine := range []store.Engine{store.SQLite, store.Postgres} {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			sts := replicaStores(t, engine)
			rules := []correlate.InhibitRule{{
				Source: mustMatchers(t, `severity="critical"`), Target: mustMatchers(t, `severity="warning"`), Equal: []string{"cluster"},
			}}
			var urls [2]string
			for i, st := range sts {
				sil, err := LoadSilences(ctx, st, slog.New(slog.DiscardHandler))
				if err != nil {
					t.Fatal(err)
				}
				inh, err := LoadInhibitions(ctx, st, rules)
				if err != nil {
					t.Fatal(err)
				}
				st.Mute(sil, inh)
				mux := http.NewServeMux()
				sil.Register(mux, func(h http.Handler) http.Handler { return h })
				mux.Handle("POST /api/v1/alerts/alertmanager", &Alertmanager{Store: st, GroupBy: []string{"alertname", "cluster"}, Logger: slog.New(slog.DiscardHandler)})
				srv := httptest.NewServer(mux)
				t.Cleanup(srv.Close)
				urls[i] = srv.URL
			}
			start := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
			alert := func(fp, name, severity, cluster string) string {
				return `{"version":"4","status":"firing","receiver":"vigil","groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am","groupKey":"k","alerts":[{"status":"firing","labels":{"alertname":"` + name + `","severity":"` + severity + `","cluster":"` + cluster + `"},"annotations":{},"startsAt":"` + start + `","endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"` + fp + `"}]}`
			}
			post := func(replica int, body string) map[string]any {
				t.Helper()
				code, ans := call(t, "POST", urls[replica]+"/api/v1/alerts/alertmanager", body)
				if code != http.StatusOK {
					t.Fatalf("replica %d: %d %v", replica, code, ans)
				}
				return ans
			}
			silenced := func(ans map[string]any) bool { return ans["silenced"] != nil }

			code, created := call(t, "POST", urls[0]+"/api/v1/silences", `{"matchers":["alertname=\"Noisy\""],"duration":"1h","created_by":"alice","comment":"known"}`)
			if code != http.StatusCreated {
				t.Fatalf("create silence on replica 0: %d %v", code, created)
			}
			if ans := post(1, alert("n1", "Noisy", "info", "eu")); !silenced(ans) || len(toStrings(ans["incidents"])) != 0 {
				t.Errorf("replica 1 let an alert through that replica 0's silence matches: %v", ans)
			}
			if _, list := call(t, "GET", urls[1]+"/api/v1/silences", ""); len(list["silences"].([]any)) != 1 {
				t.Errorf("replica 1 lists %v, want replica 0's silence", list)
			}
			id := created["id"].(string)
			if code, ans := call(t, "DELETE", urls[1]+"/api/v1/silences/"+id, ""); code != http.StatusOK {
				t.Fatalf("expire replica 0's silence through replica 1: %d %v", code, ans)
			}
			if ans := post(0, alert("n2", "Noisy", "info", "us")); silenced(ans) || len(toStrings(ans["incidents"])) != 1 {
				t.Errorf("replica 0 still silences after replica 1 expired the silence: %v", ans)
			}

			post(0, alert("c1", "ClusterDown", "critical", "eu"))
			if ans := post(1, alert("w1", "HighLatency", "warning", "eu")); !silenced(ans) {
				t.Errorf("replica 1 opened an incident for a warning that replica 0's critical alert inhibits: %v", ans)
			}
			if ans := post(1, alert("w2", "HighLatency", "warning", "us")); silenced(ans) {
				t.Errorf("a warning on another cluster was inhibited: %v", ans)
			}
		})
	}
}
