package main

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/vigilops/vigil/store"
)

// newClient is an HTTP client that keeps a connection per sender.
func newClient(senders int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = senders, senders
	return &http.Client{Transport: t, Timeout: time.Minute}
}

// observation is what Vigil made of the storm, read from its store.
type observation struct {
	// Incidents are the ids of every incident, in opening order.
	Incidents []string
	// Assigned maps an alert's fingerprint to the first incident (in opening
	// order) whose projection holds it.
	Assigned map[string]string
	// Summaries holds when each incident's "summary" message was first
	// posted: the thread's opening, by the announcer or the workflow,
	// whichever came first.
	Summaries map[string]time.Time
	// Enriched holds when each incident's workflow first posted a message of
	// its own beyond the summary (the evidence it posts in its first task).
	Enriched map[string]time.Time
	// HandOvers are the dispatcher's first deliveries to each incident.
	HandOvers map[string]handOver
	// OutboxEmpty is whether every stored event was delivered.
	OutboxEmpty bool
	// Drained is whether the outbox emptied, every incident posted its
	// summary and every alert reached an incident before the deadline.
	Drained bool
}

// observe waits until the outbox is empty, every incident has posted its
// summary and every alert of truth is in an incident's projection, or until
// deadline, and returns what it saw then. known are the incidents the
// answers named. Reading every projection is costly, so while Vigil still
// works it only polls the outbox and the known incidents' summaries, and
// reads the projections when those are done: rerouting may have opened
// incidents no answer named, and projections lag behind the summaries.
func observe(ctx context.Context, st *store.Store, truth map[string]string, known []string, deadline time.Time) (observation, error) {
	obs := observation{Incidents: known, Summaries: map[string]time.Time{}, Enriched: map[string]time.Time{}}
	for {
		pending, err := st.Outbox(ctx, 1)
		if err != nil {
			return obs, err
		}
		obs.OutboxEmpty = len(pending) == 0
		if err := obs.readSummaries(ctx, st); err != nil {
			return obs, err
		}
		late := time.Now().After(deadline)
		if (obs.OutboxEmpty && obs.posted()) || late {
			if err := obs.readProjections(ctx, st); err != nil {
				return obs, err
			}
			obs.Drained = obs.OutboxEmpty && obs.posted() && len(obs.Assigned) >= len(truth)
			if obs.Drained || late {
				return obs, nil
			}
		}
		select {
		case <-ctx.Done():
			return obs, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// posted reports whether every incident has its summary and its workflow's
// first posts.
func (obs *observation) posted() bool {
	return len(obs.Summaries) == len(obs.Incidents) && len(obs.Enriched) == len(obs.Incidents)
}

// readSummaries looks for the summary and the workflow's first posts of every
// incident that lacks them.
func (obs *observation) readSummaries(ctx context.Context, st *store.Store) error {
	for _, id := range obs.Incidents {
		_, summarised := obs.Summaries[id]
		if _, ok := obs.Enriched[id]; ok && summarised {
			continue
		}
		msgs, err := st.Messages(ctx, id)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			switch {
			case m.Key == "summary":
				obs.Summaries[id] = m.CreatedAt
			case obs.Enriched[id].IsZero() || m.CreatedAt.Before(obs.Enriched[id]):
				obs.Enriched[id] = m.CreatedAt
			}
		}
	}
	return nil
}

// readProjections lists every incident in opening order and assigns each
// alert to the first incident holding it, then reads the new incidents'
// summaries.
func (obs *observation) readProjections(ctx context.Context, st *store.Store) error {
	incs, err := st.ListIncidents(ctx, store.IncidentFilter{Limit: 1 << 30})
	if err != nil {
		return err
	}
	slices.Reverse(incs) // newest first → opening order
	obs.Incidents, obs.Assigned = nil, map[string]string{}
	for _, inc := range incs {
		obs.Incidents = append(obs.Incidents, inc.ID)
		for _, a := range inc.Alerts {
			if _, ok := obs.Assigned[a.Fingerprint]; !ok {
				obs.Assigned[a.Fingerprint] = inc.ID
			}
		}
	}
	return obs.readSummaries(ctx, st)
}
