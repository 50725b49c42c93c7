package store

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

func TestPruneEventsKeepsTheOutboxAndRecordsIt(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		s := openTest(t)
		ctx := context.Background()
		old, recent := t0, t0.Add(60*24*time.Hour)
		if _, err := s.IngestAlerts(ctx, "am", []AlertIn{alert("a1", "X", "y", "firing", old), alert("b1", "Z", "w", "firing", old)}, old); err != nil {
			t.Fatal(err)
		}
		out, _ := s.Outbox(ctx, 10)
		a1 := Delivery{IncidentID: out[0].IncidentID, Events: out[0].Events[:1]}
		if err := s.MarkDelivered(ctx, []Delivery{a1}, old); err != nil { // a1 delivered, b1 still waiting
			t.Fatal(err)
		}
		if _, err := s.IngestAlerts(ctx, "am", []AlertIn{alert("a1", "X", "y", "resolved", old)}, recent); err != nil {
			t.Fatal(err)
		}
		now := recent.Add(time.Hour)
		n, err := s.PruneEvents(ctx, now.Add(-30*24*time.Hour), now)
		if err != nil || n != 1 {
			t.Fatalf("prune = %d, %v; want the one old delivered event", n, err)
		}
		var left int
		if err := s.db.QueryRow(`SELECT count(*) FROM events`).Scan(&left); err != nil || left != 2 {
			t.Fatalf("%d events left, want the undelivered one and the recent one (%v)", left, err)
		}
		recs, err := s.AuditTrail(ctx, "")
		if err != nil || len(recs) != 1 || recs[0].Action != "events.pruned" || recs[0].Actor != "system:retention" {
			t.Fatalf("audit of the pruning = %+v, %v", recs, err)
		}
		var d map[string]any
		if err := json.Unmarshal(recs[0].Details, &d); err != nil || d["count"] != 1.0 {
			t.Errorf("pruning details = %s", recs[0].Details)
		}
		if n, err := s.PruneEvents(ctx, now.Add(-30*24*time.Hour), now.Add(time.Minute)); err != nil || n != 0 {
			t.Errorf("second prune = %d, %v", n, err)
		}
		if recs, _ := s.AuditTrail(ctx, ""); len(recs) != 1 {
			t.Errorf("a prune of nothing was recorded: %d records", len(recs))
		}
	})
}
