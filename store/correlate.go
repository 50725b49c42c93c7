package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/vigilops/vigil/analyzers/correlate"
	"github.com/vigilops/vigil/incident"
)

// Correlation routes a signal that has no open incident of its own (by group
// key for alerts, by service for other signals) to an open incident it is
// connected to in time and through the service graph, instead of opening one.
type correlation struct {
	mu      sync.Mutex // the correlator and learner are not safe for concurrent use
	c       *correlate.Correlator
	learner *correlate.Learner
}

// Correlate makes ingest route through c; learner, which may be nil, is told
// of every firing alert so it learns which services alert together (c should
// have been built over it). Call it before the store is used concurrently;
// without it, alerts group by group key alone and signals by service alone.
func (s *Store) Correlate(c *correlate.Correlator, learner *correlate.Learner) {
	s.corr = &correlation{c: c, learner: learner}
}

// routing is one ingest transaction's view of the open incidents. It loads
// them the first time a signal needs correlating, keeps them current as the
// batch opens and joins incidents, and writes each touched incident's signal
// times and services once, at the end of the transaction.
type routing struct {
	corr *correlation
	now  time.Time // when the batch arrived
	// silenced, when set, says whether active silences mute an alert's labels.
	silenced func(labels map[string]string, at time.Time) bool
	groups   map[string]string // group key → its open incident, within this batch
	open     []correlate.Open  // nil until loaded
	loaded   bool
	index    map[string]int // incident id → position in open
	// touched incidents: the span of signal starts the batch added, and their
	// services new to them.
	touched map[string]*touch
	// grown are the incidents the batch opened or gave a service they did not
	// have: only those can have become one with another open incident.
	grown map[string]bool
}

type touch struct {
	first, last time.Time
	services    []string
}

func newRouting(corr *correlation, now time.Time) *routing {
	return &routing{corr: corr, now: now, groups: map[string]string{}, index: map[string]int{}, touched: map[string]*touch{}, grown: map[string]bool{}}
}

// join returns the open incident a signal without one of its own joins, or ""
// when it joins none (or correlation is off).
func (r *routing) join(ctx context.Context, tx *txn, kind correlate.Kind, service string, at time.Time) (string, error) {
	if r.corr == nil || r.corr.c == nil || service == "" {
		return "", nil
	}
	if err := r.load(ctx, tx); err != nil {
		return "", err
	}
	r.corr.mu.Lock()
	l, ok := r.corr.c.Join(correlate.Signal{Kind: kind, Service: service, At: at}, r.open)
	r.corr.mu.Unlock()
	if !ok {
		return "", nil
	}
	return l.Incident, nil
}

// load reads the open incidents, their signal times and services.
func (r *routing) load(ctx context.Context, tx *txn) error {
	if r.loaded {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `
		SELECT i.id, i.created_at, i.first_signal_at, i.last_signal_at, COALESCE(s.service, '')
		FROM incidents i LEFT JOIN incident_services s ON s.incident_id = i.id
		WHERE i.status <> 'resolved' ORDER BY i.num`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, created, first, last, svc string
		if err := rows.Scan(&id, &created, &first, &last, &svc); err != nil {
			return err
		}
		i, ok := r.index[id]
		if !ok {
			start, end := parseTS(first), parseTS(last)
			if _, ours := r.touched[id]; start.IsZero() && !ours {
				// No signal times stored: an incident from before they were.
				start, end = parseTS(created), parseTS(created)
			}
			i = len(r.open)
			r.index[id] = i
			r.open = append(r.open, correlate.Open{ID: id, Start: start, Last: end})
		}
		if svc != "" {
			r.open[i].Services = append(r.open[i].Services, svc)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	r.loaded = true
	// What this batch did before loading is already in the rows, except the
	// times and services it has yet to write.
	for id, t := range r.touched {
		r.extend(id, t.first, t.last, t.services...)
	}
	return nil
}

// saw records that an incident took in a signal of service starting at at.
func (r *routing) saw(id, service string, at time.Time) {
	t := r.touched[id]
	if t == nil {
		t = &touch{first: at, last: at}
		r.touched[id] = t
	}
	if !at.IsZero() {
		if t.first.IsZero() || at.Before(t.first) {
			t.first = at
		}
		if at.After(t.last) {
			t.last = at
		}
	}
	if service != "" && !slices.Contains(t.services, service) {
		t.services = append(t.services, service)
	}
	if r.loaded {
		r.extend(id, at, at, service)
	}
}

// extend widens a loaded incident's window and services; an incident the
// batch opened is added.
func (r *routing) extend(id string, first, last time.Time, services ...string) {
	i, ok := r.index[id]
	if !ok {
		i = len(r.open)
		r.index[id] = i
		r.open = append(r.open, correlate.Open{ID: id, Start: first, Last: last})
		r.grown[id] = true
	}
	o := &r.open[i]
	if !first.IsZero() && (o.Start.IsZero() || first.Before(o.Start)) {
		o.Start = first
	}
	if last.After(o.Last) {
		o.Last = last
	}
	for _, s := range services {
		if s != "" && !slices.Contains(o.Services, s) {
			o.Services = append(o.Services, s)
			r.grown[id] = true
		}
	}
}

// flush writes the touched incidents' signal times and new services, then
// merges open incidents that the batch made one.
func (r *routing) flush(ctx context.Context, tx *txn) error {
	for id, t := range r.touched {
		if !t.first.IsZero() {
			if _, err := tx.ExecContext(ctx, `
				UPDATE incidents SET
					first_signal_at = CASE WHEN first_signal_at = '' OR first_signal_at > ?1 THEN ?1 ELSE first_signal_at END,
					last_signal_at = CASE WHEN last_signal_at < ?2 THEN ?2 ELSE last_signal_at END
				WHERE id = ?3`, ts(t.first), ts(t.last), id); err != nil {
				return err
			}
		}
		for _, svc := range t.services {
			if _, err := tx.ExecContext(ctx, `INSERT INTO incident_services (incident_id, service) VALUES (?, ?) ON CONFLICT DO NOTHING`, id, svc); err != nil {
				return err
			}
		}
	}
	return r.merge(ctx, tx)
}

// merge finds open incidents that are one now that the batch opened or grew
// some, and merges each into the earliest of its group: the later incident is
// resolved, its events, alerts, groups and services move to the earlier one
// (its events are delivered again, to that incident's workflow), and both get
// a merge notice through the outbox, saying why, for their threads.
func (r *routing) merge(ctx context.Context, tx *txn) error {
	if len(r.grown) == 0 || !r.loaded || r.corr == nil || r.corr.c == nil {
		return nil
	}
	// Only an incident that opened or grew can have become one with another,
	// and only with one that overlaps it in time and has a service within
	// reach of one of its services. Merges is asked about those alone.
	reach := map[string]bool{}
	var lo, hi time.Time
	r.corr.mu.Lock()
	for id := range r.grown {
		o := r.open[r.index[id]]
		for _, svc := range o.Services {
			for _, s := range r.corr.c.Reach(svc) {
				reach[s] = true
			}
		}
		if lo.IsZero() || o.Start.Before(lo) {
			lo = o.Start
		}
		if o.Last.After(hi) {
			hi = o.Last
		}
	}
	r.corr.mu.Unlock()
	window := r.corr.c.Config().Window
	var near []correlate.Open
	for _, o := range r.open {
		if !r.grown[o.ID] && (o.Last.Before(lo.Add(-window)) || o.Start.After(hi.Add(window)) ||
			!slices.ContainsFunc(o.Services, func(s string) bool { return reach[s] })) {
			continue
		}
		near = append(near, o)
	}
	if len(near) < 2 {
		return nil
	}
	r.corr.mu.Lock()
	merges := r.corr.c.Merges(near)
	r.corr.mu.Unlock()
	for _, m := range merges {
		if err := mergeIncident(ctx, tx, m, r.now); err != nil {
			return fmt.Errorf("merge %s into %s: %w", m.From, m.Into, err)
		}
		r.absorb(m.From, m.Into)
	}
	return nil
}

// absorb updates the batch's view after From merged into Into.
func (r *routing) absorb(from, into string) {
	i, ok := r.index[from]
	if !ok {
		return
	}
	f := r.open[i]
	r.extend(into, f.Start, f.Last, f.Services...)
	r.open = slices.Delete(r.open, i, i+1)
	delete(r.index, from)
	for id, j := range r.index {
		if j > i {
			r.index[id] = j - 1
		}
	}
	for key, id := range r.groups {
		if id == from {
			r.groups[key] = into
		}
	}
}

// mergeIncident moves everything of m.From to m.Into and queues the notices.
func mergeIncident(ctx context.Context, tx *txn, m correlate.Merge, now time.Time) error {
	stmts := []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO incident_groups (group_key, incident_id)
			SELECT group_key, ?2 FROM incidents WHERE id = ?1
			UNION SELECT group_key, ?2 FROM incident_groups WHERE incident_id = ?1
			ON CONFLICT DO NOTHING`, []any{m.From, m.Into}},
		{`INSERT INTO incident_services (incident_id, service) SELECT ?2, service FROM incident_services WHERE incident_id = ?1 ON CONFLICT DO NOTHING`, []any{m.From, m.Into}},
		{`UPDATE events SET incident_id = ?2, delivered_at = NULL WHERE incident_id = ?1`, []any{m.From, m.Into}},
		{`UPDATE alerts SET incident_id = ?2 WHERE incident_id = ?1`, []any{m.From, m.Into}},
		{`UPDATE incidents SET
			first_signal_at = (SELECT MIN(first_signal_at) FROM incidents WHERE id IN (?1, ?2) AND first_signal_at <> ''),
			last_signal_at = (SELECT MAX(last_signal_at) FROM incidents WHERE id IN (?1, ?2)),
			updated_at = ?3
			WHERE id = ?2`, []any{m.From, m.Into, ts(now)}},
		{`UPDATE incidents SET status = 'resolved', merged_into = ?2, updated_at = ?3 WHERE id = ?1`, []any{m.From, m.Into, ts(now)}},
	}
	for _, st := range stmts {
		if _, err := tx.ExecContext(ctx, st.sql, st.args...); err != nil {
			return err
		}
	}
	why := m.Why()
	notices := []struct{ incident, fp, summary, label, other string }{
		{m.From, "merge:" + m.From + ">" + m.Into, fmt.Sprintf("Merged into %s: %s.", m.Into, why), "into", m.Into},
		{m.Into, "merge:" + m.From + "<" + m.Into, fmt.Sprintf("%s merged into this incident: %s.", m.From, why), "from", m.From},
	}
	for _, n := range notices {
		// A notice is neither firing nor resolved, so a finished incident's
		// notice is dropped on reroute rather than opening a new incident.
		e := incident.Event{Kind: incident.KindMerge, Fingerprint: n.fp, StartsAt: now,
			Labels: map[string]string{n.label: n.other}, Summary: n.summary}
		if err := insertSignal(ctx, tx, "correlate", e, n.incident, now); err != nil {
			return err
		}
	}
	return nil
}

// observe tells the learner that service alerted at at.
func (r *routing) observe(service string, at time.Time) {
	if r.corr == nil || r.corr.learner == nil || service == "" || at.IsZero() {
		return
	}
	r.corr.mu.Lock()
	r.corr.learner.Observe(service, at)
	r.corr.mu.Unlock()
}

// groupIncident returns the open incident that alerts of a group key join:
// the group's own, or one it joined through correlation.
func groupIncident(ctx context.Context, tx *txn, key string) (string, error) {
	var id string
	err := tx.QueryRowContext(ctx, `
		SELECT id FROM (
			SELECT id, num FROM incidents WHERE group_key = ?1 AND status <> 'resolved'
			UNION ALL
			SELECT i.id, i.num FROM incident_groups g JOIN incidents i ON i.id = g.incident_id
			WHERE g.group_key = ?1 AND i.status <> 'resolved'
		) AS open_groups ORDER BY num DESC LIMIT 1`, key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}
