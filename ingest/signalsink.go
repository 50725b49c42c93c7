package ingest

import (
	"context"
	"strconv"
	"time"

	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/signals"
	"github.com/vigilops/vigil/store"
)

// SignalStore is where non-alert events go: store.Store.
type SignalStore interface {
	IngestEvents(ctx context.Context, source string, signals []store.SignalIn, now time.Time) (store.IngestResult, error)
}

var (
	_ SignalStore       = (*store.Store)(nil)
	_ signals.EventSink = (*SignalSink)(nil)
)

// SignalSink hands the signal pipelines' events to the store. It groups each
// event by the GroupBy labels, the way alerts are grouped, for the incident
// the event would open; the store decides whether it joins an open incident
// of its service instead. Open says which kinds may open an incident of their
// own; a resolved event never does.
type SignalSink struct {
	Store   SignalStore
	GroupBy []string
	Open    map[incident.EventKind]bool
}

// IngestEvents stores events; see signals.EventSink.
func (s *SignalSink) IngestEvents(ctx context.Context, source string, events []incident.Event, now time.Time) (store.IngestResult, error) {
	in := make([]store.SignalIn, len(events))
	for i, e := range events {
		key, group := groupOf(s.GroupBy, e.Labels)
		in[i] = store.SignalIn{Event: e, MayOpen: s.Open[e.Kind] && e.Status != incident.AlertResolved, GroupKey: key, GroupLabels: group}
	}
	return s.Store.IngestEvents(ctx, source, in, now)
}

// groupOf returns the group key and labels of a label set: the key alerts of
// the same labels get from the Alertmanager receiver.
func groupOf(groupBy []string, labels map[string]string) (string, map[string]string) {
	group := make(map[string]string, len(groupBy))
	key := make([]byte, 0, 64)
	for _, l := range groupBy {
		v, ok := labels[l]
		if ok {
			group[l] = v
		}
		key = append(key, l...)
		key = append(key, '=')
		key = strconv.AppendQuote(key, v)
		key = append(key, ',')
	}
	return string(key), group
}
