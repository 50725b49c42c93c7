package review

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/store"
)

// SourceStore is what the review of one incident reads.
type SourceStore interface {
	Incident(ctx context.Context, id string) (incident.Incident, error)
	AuditTrail(ctx context.Context, incidentID string) ([]audit.Record, error)
}

// ReportStore is what a report reads.
type ReportStore interface {
	SourceStore
	IncidentsOpened(ctx context.Context, since, until time.Time) ([]incident.Incident, error)
	CountEvents(ctx context.Context, since, until time.Time) ([]store.EventCount, error)
}

var _ ReportStore = (*store.Store)(nil)

// LoadSource reads an incident and its audit trail.
func LoadSource(ctx context.Context, st SourceStore, id string) (Source, error) {
	inc, err := st.Incident(ctx, id)
	if err != nil {
		return Source{}, err
	}
	recs, err := st.AuditTrail(ctx, id)
	if err != nil {
		return Source{}, err
	}
	return Source{Incident: inc, Audit: recs}, nil
}

// LoadReport reads what a report of q needs: the incidents opened in the window
// and in the window of the same length before it, with their audit trails, and
// the alert events of both.
func LoadReport(ctx context.Context, st ReportStore, q Query) (ReportInput, error) {
	in := ReportInput{Query: q}
	before := q.Since.Add(-q.Until.Sub(q.Since))
	var err error
	if in.Incidents, err = loadOpened(ctx, st, q.Since, q.Until); err != nil {
		return in, err
	}
	if in.Previous, err = loadOpened(ctx, st, before, q.Since); err != nil {
		return in, err
	}
	if in.Events, err = st.CountEvents(ctx, q.Since, q.Until); err != nil {
		return in, err
	}
	in.PrevEvents, err = st.CountEvents(ctx, before, q.Since)
	return in, err
}

func loadOpened(ctx context.Context, st ReportStore, since, until time.Time) ([]Source, error) {
	incs, err := st.IncidentsOpened(ctx, since, until)
	if err != nil {
		return nil, err
	}
	out := make([]Source, 0, len(incs))
	for _, inc := range incs {
		recs, err := st.AuditTrail(ctx, inc.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, Source{Incident: inc, Audit: recs})
	}
	return out, nil
}

// ParsePeriod reads a look-back period: a number and a unit, m (minutes), h, d
// or w (weeks), e.g. 30d; or anything time.ParseDuration reads.
func ParsePeriod(s string) (time.Duration, error) {
	units := map[string]time.Duration{"m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}
	for suffix, unit := range units {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			if v, err := strconv.Atoi(n); err == nil && v > 0 {
				return time.Duration(v) * unit, nil
			}
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d, nil
	}
	return 0, fmt.Errorf("period %q: use a positive number and a unit, e.g. 30d, 12h, 2w", s)
}
