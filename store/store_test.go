package store

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/internal/pgtest"
)

// The store's tests are its contract: each that opens a store with openTest
// runs once per engine, through eachEngine, as subtests named after the
// engine. openTest opens the engine its test's name says.

// eachEngine runs f as subtests "sqlite" and "postgres". The PostgreSQL one
// skips, saying why, when no server answers (internal/pgtest).
func eachEngine(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for _, e := range []Engine{SQLite, Postgres} {
		t.Run(string(e), f)
	}
}

// openTest opens an empty store on the engine of the eachEngine subtest t is
// in (SQLite outside one), closed when t ends.
func openTest(t *testing.T) *Store {
	t.Helper()
	return openReplicas(t, 1)[0]
}

// openReplicas opens n stores on one empty database, as n replicas (or, on
// SQLite, n processes on one file) would; each is closed when t ends.
func openReplicas(t *testing.T, n int) []*Store {
	t.Helper()
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "vigil.db")
	if testEngine(t) == Postgres {
		dsn = pgtest.SchemaDSN(t)
	}
	out := make([]*Store, n)
	for i := range out {
		s, err := OpenDSN(dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		out[i] = s
	}
	return out
}

// testEngine is the engine eachEngine gave t or its parent tests.
func testEngine(t *testing.T) Engine {
	for _, part := range strings.Split(t.Name(), "/") {
		if part == string(Postgres) {
			return Postgres
		}
	}
	return SQLite
}

var t0 = time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)

func alert(fp, name, svc, status string, start time.Time) AlertIn {
	g := map[string]string{"alertname": name, "service": svc}
	return AlertIn{
		Fingerprint: fp, Status: status, StartsAt: start,
		Labels:   map[string]string{"alertname": name, "service": svc, "instance": fp, "severity": "critical"},
		GroupKey: name + "/" + svc, GroupLabels: g,
	}
}

func TestIngestDedupAndGrouping(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		s := openTest(t)
		ctx := context.Background()
		type step struct {
			alerts        []AlertIn
			wantAccepted  int
			wantDups      int
			wantIncidents []string
		}
		steps := []step{
			// Two alerts of one group open one incident; another group opens another.
			{alerts: []AlertIn{alert("a1", "HighLatency", "checkout", "firing", t0), alert("a2", "HighLatency", "checkout", "firing", t0), alert("b1", "DiskFull", "db", "firing", t0)},
				wantAccepted: 3, wantIncidents: []string{"incident-1-highlatency-checkout", "incident-2-diskfull-db"}},
			// Alertmanager resends: duplicates, nothing stored.
			{alerts: []AlertIn{alert("a1", "HighLatency", "checkout", "firing", t0), alert("b1", "DiskFull", "db", "firing", t0)}, wantDups: 2},
			// A new alert of an open group joins it.
			{alerts: []AlertIn{alert("a3", "HighLatency", "checkout", "firing", t0.Add(time.Minute))}, wantAccepted: 1, wantIncidents: []string{"incident-1-highlatency-checkout"}},
			// A resolve goes to the alert's incident; resending it is a duplicate.
			{alerts: []AlertIn{alert("a1", "HighLatency", "checkout", "resolved", t0), alert("a1", "HighLatency", "checkout", "resolved", t0)}, wantAccepted: 1, wantDups: 1, wantIncidents: []string{"incident-1-highlatency-checkout"}},
			// A resolve for an alert never seen is kept but opens nothing.
			{alerts: []AlertIn{alert("z9", "Other", "x", "resolved", t0)}, wantAccepted: 1},
		}
		for i, st := range steps {
			res, err := s.IngestAlerts(ctx, "alertmanager", st.alerts, t0)
			if err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			if res.Accepted != st.wantAccepted || res.Duplicates != st.wantDups || !reflect.DeepEqual(res.Incidents, st.wantIncidents) {
				t.Errorf("step %d: got %+v, want accepted %d dups %d incidents %v", i, res, st.wantAccepted, st.wantDups, st.wantIncidents)
			}
		}
		out, err := s.Outbox(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != 2 || out[0].IncidentID != "incident-1-highlatency-checkout" || len(out[0].Events) != 4 || len(out[1].Events) != 1 {
			t.Fatalf("outbox = %+v, want 4 events for incident 1 then 1 for incident 2", out)
		}
		if out[0].GroupLabels["service"] != "checkout" || out[0].Events[0].Labels["instance"] != "a1" {
			t.Errorf("outbox lost labels: %+v", out[0])
		}
		if err := s.MarkDelivered(ctx, out[:1], t0); err != nil {
			t.Fatal(err)
		}
		if out, _ = s.Outbox(ctx, 100); len(out) != 1 || out[0].IncidentID != "incident-2-diskfull-db" {
			t.Errorf("after delivery outbox = %+v", out)
		}
		inc, err := s.Incident(ctx, "incident-1-highlatency-checkout")
		if err != nil || inc.Title != "HighLatency on checkout" || inc.Status != incident.StatusOpen || inc.Severity != "critical" {
			t.Errorf("incident = %+v, %v", inc, err)
		}
	})
}

func TestResolvedIncidentGetsNoNewAlerts(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		s := openTest(t)
		ctx := context.Background()
		if _, err := s.IngestAlerts(ctx, "am", []AlertIn{alert("a1", "HighLatency", "checkout", "firing", t0)}, t0); err != nil {
			t.Fatal(err)
		}
		inc := incident.Incident{ID: "incident-1-highlatency-checkout", Status: incident.StatusResolved, Title: "HighLatency on checkout", UpdatedAt: t0,
			Alerts: []incident.Alert{{Fingerprint: "a1", Status: "firing", StartsAt: t0}}} // resolved by hand while it fires
		if err := s.SaveIncident(ctx, inc, 1); err != nil {
			t.Fatal(err)
		}
		// The same alert firing again (new start) opens a new incident.
		res, err := s.IngestAlerts(ctx, "am", []AlertIn{alert("a1", "HighLatency", "checkout", "firing", t0.Add(time.Hour))}, t0)
		if err != nil || !reflect.DeepEqual(res.Incidents, []string{"incident-2-highlatency-checkout"}) {
			t.Fatalf("refire: %+v, %v", res, err)
		}
	})
}

// TestResolveBehindRoutingKeepsTheIncidentOpen: the workflow resolves its
// incident on the alert states it has seen while the store has already routed
// a new firing to it. The save keeps the incident open, so the group's next
// alert joins it rather than opening a second incident beside the one the
// workflow reopens when the firing reaches it.
func TestResolveBehindRoutingKeepsTheIncidentOpen(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		s := openTest(t)
		ctx := context.Background()
		id := "incident-1-highlatency-checkout"
		for _, a := range []AlertIn{
			alert("a1", "HighLatency", "checkout", "firing", t0),
			alert("a1", "HighLatency", "checkout", "resolved", t0),
			alert("a1", "HighLatency", "checkout", "firing", t0.Add(time.Hour)), // fires again before the save below
		} {
			if res, err := s.IngestAlerts(ctx, "am", []AlertIn{a}, t0); err != nil || !reflect.DeepEqual(res.Incidents, []string{id}) {
				t.Fatalf("ingest %s %s: %+v, %v", a.Fingerprint, a.Status, res, err)
			}
		}
		seen := []incident.Alert{{Fingerprint: "a1", Status: "resolved", StartsAt: t0}}
		if err := s.SaveIncident(ctx, incident.Incident{ID: id, Status: incident.StatusResolved, Alerts: seen, UpdatedAt: t0}, 1); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Incident(ctx, id); got.Status == incident.StatusResolved {
			t.Fatalf("a resolve behind routing closed the incident: %+v", got)
		}
		res, err := s.IngestAlerts(ctx, "am", []AlertIn{alert("a2", "HighLatency", "checkout", "firing", t0.Add(time.Hour))}, t0)
		if err != nil || !reflect.DeepEqual(res.Incidents, []string{id}) {
			t.Fatalf("the group's next alert: %+v, %v; want it to join %s", res, err, id)
		}
		// Once the workflow has seen everything, its resolve holds.
		seen = []incident.Alert{{Fingerprint: "a1", Status: "firing", StartsAt: t0.Add(time.Hour)}, {Fingerprint: "a2", Status: "firing", StartsAt: t0.Add(time.Hour)}}
		if err := s.SaveIncident(ctx, incident.Incident{ID: id, Status: incident.StatusResolved, Alerts: seen, UpdatedAt: t0}, 2); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Incident(ctx, id); got.Status != incident.StatusResolved {
			t.Errorf("a resolve on every alert state did not hold: %s", got.Status)
		}
	})
}

func TestRerouteAfterWorkflowFinished(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		s := openTest(t)
		ctx := context.Background()
		if _, err := s.IngestAlerts(ctx, "am", []AlertIn{alert("a1", "X", "y", "firing", t0), alert("a2", "X", "y", "firing", t0)}, t0); err != nil {
			t.Fatal(err)
		}
		out, _ := s.Outbox(ctx, 10)
		newID, err := s.Reroute(ctx, out[0], t0)
		if err != nil || newID != "incident-2-x-y" {
			t.Fatalf("Reroute = %q, %v", newID, err)
		}
		old, _ := s.Incident(ctx, "incident-1-x-y")
		if old.Status != incident.StatusResolved {
			t.Errorf("old incident status %s, want resolved", old.Status)
		}
		out, _ = s.Outbox(ctx, 10)
		if len(out) != 1 || out[0].IncidentID != newID || len(out[0].Events) != 2 {
			t.Errorf("outbox after reroute = %+v", out)
		}
	})
}

func TestIngestIsAllOrNothing(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		s := openTest(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := s.IngestAlerts(ctx, "am", []AlertIn{alert("a1", "X", "y", "firing", t0)}, t0); err == nil {
			t.Fatal("ingest with a cancelled context succeeded")
		}
		out, err := s.Outbox(context.Background(), 10)
		if err != nil || len(out) != 0 {
			t.Errorf("a failed ingest left %d deliveries behind (%v)", len(out), err)
		}
	})
}

func TestSaveIncidentIgnoresStaleVersions(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		s := openTest(t)
		ctx := context.Background()
		if _, err := s.IngestAlerts(ctx, "am", []AlertIn{alert("a1", "X", "y", "firing", t0)}, t0); err != nil {
			t.Fatal(err)
		}
		id := "incident-1-x-y"
		if err := s.SaveIncident(ctx, incident.Incident{ID: id, Status: incident.StatusAwaitingApproval, Title: "new"}, 5); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveIncident(ctx, incident.Incident{ID: id, Status: incident.StatusOpen, Title: "old"}, 4); err != nil {
			t.Fatal(err)
		}
		got, _ := s.Incident(ctx, id)
		if got.Status != incident.StatusAwaitingApproval || got.Title != "new" {
			t.Errorf("stale save overwrote: %+v", got)
		}
		if err := s.SaveIncident(ctx, incident.Incident{ID: "nope"}, 1); !errors.Is(err, ErrNotFound) {
			t.Errorf("save unknown incident: %v, want ErrNotFound", err)
		}
		list, err := s.ListIncidents(ctx, IncidentFilter{Status: incident.StatusAwaitingApproval})
		if err != nil || len(list) != 1 {
			t.Errorf("list = %v, %v", list, err)
		}
	})
}

func TestMessagesAreIdempotentByKey(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		s := openTest(t)
		ctx := context.Background()
		id1, _ := s.PutMessage(ctx, "inc", "summary", []byte(`{"text":"v1"}`), t0)
		_, _ = s.PutMessage(ctx, "inc", "evidence", []byte(`{"text":"e"}`), t0)
		id3, _ := s.PutMessage(ctx, "inc", "summary", []byte(`{"text":"v2"}`), t0.Add(time.Second))
		if id1 != id3 {
			t.Errorf("re-post with same key made a new message (%d vs %d)", id1, id3)
		}
		msgs, err := s.Messages(ctx, "inc")
		if err != nil || len(msgs) != 2 || string(msgs[0].Body) != `{"text":"v2"}` || msgs[1].Key != "evidence" {
			t.Errorf("messages = %+v, %v", msgs, err)
		}
		// A batch keeps the same meaning: a new key adds, a known key edits in place.
		err = s.PutMessages(ctx, []MessageIn{
			{IncidentID: "inc", Key: "evidence", Body: []byte(`{"text":"e2"}`)},
			{IncidentID: "inc", Key: "note-1", Body: []byte(`{"text":"n"}`)},
		}, t0.Add(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		msgs, err = s.Messages(ctx, "inc")
		if err != nil || len(msgs) != 3 || string(msgs[1].Body) != `{"text":"e2"}` || msgs[2].Key != "note-1" || msgs[0].ID != id1 {
			t.Errorf("after a batch, messages = %+v, %v", msgs, err)
		}
	})
}

func TestAuditChainDetectsTampering(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		tests := []struct {
			name   string
			tamper string
			want   string
		}{
			{name: "intact"},
			{name: "altered details", tamper: `UPDATE audit SET details = '{"user":"mallory"}' WHERE seq = 2`, want: "audit record 2: content does not match its hash"},
			{name: "altered actor", tamper: `UPDATE audit SET actor = 'user:mallory' WHERE seq = 3`, want: "audit record 3: content does not match"},
			{name: "deleted record", tamper: `DELETE FROM audit WHERE seq = 2`, want: "audit record 2: missing"},
			{name: "rehashed record", tamper: `UPDATE audit SET action = 'x', hash = 'f00' WHERE seq = 1`, want: "audit record 1: content does not match"},
			{name: "invalid json", tamper: `UPDATE audit SET details = '{' WHERE seq = 1`, want: "audit record 1: details are not valid JSON"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := openTest(t)
				ctx := context.Background()
				for i, act := range []string{"incident.opened", "decision.approve", "step.finished", "incident.resolved"} {
					e := audit.Entry{Key: "k" + act, Incident: "inc-1", At: t0.Add(time.Duration(i) * time.Second), Actor: "user:alice", Action: act, Details: map[string]any{"n": i, "why": "<test>"}}
					if _, err := s.AppendAudit(ctx, e); err != nil {
						t.Fatal(err)
					}
					// A retried append with the same key records nothing new.
					if r, err := s.AppendAudit(ctx, e); err != nil || r.Seq != int64(i+1) {
						t.Fatalf("idempotent append: seq %d, %v", r.Seq, err)
					}
				}
				if tt.tamper != "" {
					if _, err := s.db.Exec(tt.tamper); err != nil {
						t.Fatal(err)
					}
				}
				n, err := s.VerifyAudit(ctx)
				if tt.want == "" {
					if err != nil || n != 4 {
						t.Fatalf("verify intact chain: %d, %v", n, err)
					}
					return
				}
				var ce *audit.ChainError
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("verify = %v, want %q", err, tt.want)
				}
			})
		}
	})
}

func TestStepRuns(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		s := openTest(t)
		ctx := context.Background()
		if _, err := s.StepRun(ctx, "k"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown step run: %v", err)
		}
		if err := s.StartStep(ctx, "k", "inc", "run", "step", t0); err != nil {
			t.Fatal(err)
		}
		r, err := s.StepRun(ctx, "k")
		if err != nil || !r.FinishedAt.IsZero() || r.Result != nil || !r.StartedAt.Equal(t0) {
			t.Fatalf("started run = %+v, %v", r, err)
		}
		res := incident.StepResult{StepID: "step", Status: incident.StepSucceeded, Output: "ok", FinishedAt: t0.Add(time.Second)}
		if err := s.FinishStep(ctx, "k", res); err != nil {
			t.Fatal(err)
		}
		r, _ = s.StepRun(ctx, "k")
		if r.Result == nil || r.Result.Output != "ok" || r.FinishedAt.IsZero() {
			t.Errorf("finished run = %+v", r)
		}
	})
}

// TestUnannouncedIncidents: a new incident is listed with its events until
// its thread has a message; adding a message never overwrites one posted.
func TestUnannouncedIncidents(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		s := openTest(t)
		ctx := context.Background()
		res, err := s.IngestAlerts(ctx, "am", []AlertIn{
			alert("a1", "HighLatency", "checkout", "firing", t0), alert("a2", "HighLatency", "checkout", "firing", t0),
			alert("b1", "DiskFull", "db", "firing", t0),
		}, t0)
		if err != nil {
			t.Fatal(err)
		}
		checkout, db := res.Outcomes[0].Incident, res.Outcomes[2].Incident
		news, err := s.Unannounced(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(news) != 2 || news[0].IncidentID != checkout || news[1].IncidentID != db || len(news[0].Events) != 2 || !news[0].New {
			t.Fatalf("unannounced = %+v, want %s with 2 events, then %s", news, checkout, db)
		}
		// Delivering does not announce: the list is about the thread.
		if err := s.MarkDelivered(ctx, news, t0); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PutMessage(ctx, db, "summary", []byte(`{"title":"workflow"}`), t0); err != nil {
			t.Fatal(err)
		}
		err = s.AddMessages(ctx, []MessageIn{
			{IncidentID: checkout, Key: "summary", Body: []byte(`{"title":"announced"}`)},
			{IncidentID: db, Key: "summary", Body: []byte(`{"title":"announced"}`)},
		}, t0.Add(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		news, err = s.Unannounced(ctx, 10)
		if err != nil || len(news) != 0 {
			t.Fatalf("unannounced after posting = %+v, %v; want none", news, err)
		}
		for id, want := range map[string]string{checkout: `{"title":"announced"}`, db: `{"title":"workflow"}`} {
			msgs, err := s.Messages(ctx, id)
			if err != nil || len(msgs) != 1 || string(msgs[0].Body) != want {
				t.Errorf("thread of %s = %+v, %v; want one message %s", id, msgs, err, want)
			}
		}
	})
}

// TestIngestSpooledRecordsPosition: routing from a spool stores the alerts
// and moves the spool's position to the entry given.
func TestIngestSpooledRecordsPosition(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		s := openTest(t)
		ctx := context.Background()
		if pos, err := s.SpoolPosition(ctx, "am"); err != nil || pos != 0 {
			t.Fatalf("position before any routing = %d, %v; want 0", pos, err)
		}
		if _, err := s.IngestSpooled(ctx, "am", 7, "alertmanager", []AlertIn{alert("a1", "DiskFull", "db", "firing", t0)}, t0); err != nil {
			t.Fatal(err)
		}
		if pos, err := s.SpoolPosition(ctx, "am"); err != nil || pos != 7 {
			t.Errorf("position after routing up to 7 = %d, %v", pos, err)
		}
		out, err := s.Outbox(ctx, 10)
		if err != nil || len(out) != 1 || len(out[0].Events) != 1 {
			t.Errorf("outbox = %+v, %v; want the routed alert", out, err)
		}
	})
}
