package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corr "github.com/vigilops/vigil/analyzers/correlate"
	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/bot/console"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/store"
	"github.com/vigilops/vigil/workflows/contract"
)

// TestAnnouncerOpensThreads drives the announcer against a real store: new
// incidents' threads open with their summary without any workflow, one merged
// away is announced resolved, and a thread the workflow already posted to is
// left alone.
func TestAnnouncerOpensThreads(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	c, err := corr.NewCorrelator(corr.DefaultConfig(), corr.NewGraph([][2]string{{"api", "db"}, {"web", "api"}}), nil)
	if err != nil {
		t.Fatal(err)
	}
	st.Correlate(c, nil)
	ctx := context.Background()
	t0 := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	in := func(fp, name, svc string, start time.Time) store.AlertIn {
		labels := map[string]string{"alertname": name, "service": svc, "severity": "critical"}
		key, group := groupOf([]string{"alertname", "service"}, labels)
		return store.AlertIn{Fingerprint: fp, Status: "firing", Labels: labels, StartsAt: start, GroupKey: key, GroupLabels: group}
	}
	ingest := func(alerts ...store.AlertIn) string {
		t.Helper()
		res, err := st.IngestAlerts(ctx, "alertmanager", alerts, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return res.Incidents[0]
	}
	checkout := ingest(in("c1", "HighLatency", "checkout", t0), in("c2", "HighLatency", "checkout", t0))
	web := ingest(in("w1", "HighLatency", "web", t0))
	db := ingest(in("d1", "DBDown", "db", t0.Add(-time.Minute)))
	if ingest(in("a1", "HighErrors", "api", t0)) != db {
		t.Fatal("the api alert should join the db incident and merge web's into it")
	}
	// The workflow of db got there first.
	if _, err := st.PutMessage(ctx, db, "summary", []byte(`{"title":"from the workflow"}`), time.Now()); err != nil {
		t.Fatal(err)
	}

	// Temporal is unreachable: threads open all the same.
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	d := NewDispatcher(st, unreachable{}, logger)
	d.Announcer = NewAnnouncer(st, console.Thread{Store: st}, logger)
	dctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); d.Run(dctx) }()
	d.Wake()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		news, err := st.Unannounced(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(news) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10s still unannounced: %d incidents", len(news))
		}
	}
	stop()
	<-done
	summary := func(id string) (bot.Message, string) {
		t.Helper()
		msgs, err := st.Messages(ctx, id)
		if err != nil || len(msgs) != 1 || msgs[0].Key != "summary" {
			t.Fatalf("thread of %s = %+v, %v; want just its summary", id, msgs, err)
		}
		var m bot.Message
		_ = json.Unmarshal(msgs[0].Body, &m)
		return m, string(msgs[0].Body)
	}
	if m, _ := summary(checkout); !strings.Contains(m.Title, "HighLatency") || !strings.Contains(fieldsOf(m), "Alerts firing=2 of 2") || !strings.Contains(fieldsOf(m), "Services=checkout") {
		t.Errorf("checkout announced as %+v, want its title, 2 of 2 alerts firing and its service", m)
	}
	if m, _ := summary(web); !strings.Contains(fieldsOf(m), "Status=resolved") || !strings.Contains(m.Text, "Merged into "+db) {
		t.Errorf("merged incident announced as %+v, want resolved, saying it merged into %s", m, db)
	}
	if _, body := summary(db); body != `{"title":"from the workflow"}` {
		t.Errorf("the workflow's summary of %s became %s; the announcer must not overwrite it", db, body)
	}
}

// unreachable is Temporal while it is down.
type unreachable struct{}

func (unreachable) Deliver(context.Context, contract.IncidentInput, []incident.Event) error {
	return errors.New("temporal: connection refused")
}

func fieldsOf(m bot.Message) string {
	var b strings.Builder
	for _, f := range m.Fields {
		b.WriteString(f.Label + "=" + f.Value + "\n")
	}
	return b.String()
}
