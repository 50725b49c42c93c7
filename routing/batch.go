package routing

import (
	"cmp"
	"fmt"
	"time"

	"github.com/vigilops/vigil/analyzers/correlate"
	"github.com/vigilops/vigil/incident"
)

// Batch is the routing of one batch: the View it reads, what it has decided
// so far, and the Plan it builds. Later items of a batch see what earlier ones
// decided through it, as if those were stored already.
type Batch struct {
	view View
	now  time.Time // when the batch arrived
	corr *Correlation
	plan Plan

	known    map[string]AlertState // alert states, as the batch leaves them
	groups   map[string]string     // group key → its open incident, as far as the batch has asked or decided
	services map[string]string     // service → the newest incident the batch opened about it
	signals  map[signalKey]bool    // the signals the batch stores
	next     int64                 // the next incident's number; 0 until read

	// The open incidents as correlation sees them: loaded from the view the
	// first time a signal needs correlating, then kept current as the batch
	// opens and joins incidents.
	open   []correlate.Open
	loaded bool
	index  map[string]int // incident → its position in open
	// touched: incident → its Touch in plan.Touched.
	touched map[string]int
	// grown are the incidents the batch opened, or gave a service they did
	// not have, since loading: only those can have become one with another
	// open incident.
	grown map[string]bool

	item Item // the item being routed, kept here so routing one allocates nothing
}

func newBatch(v View, now time.Time, corr *Correlation) *Batch {
	return &Batch{view: v, now: now, corr: corr}
}

// signalKey identifies a signal as deduplication does: kind, fingerprint and
// start (to the nanosecond, as the store keeps it).
type signalKey struct {
	kind incident.EventKind
	fp   string
	sec  int64
	nsec int
}

func keyOf(e *incident.Event) signalKey {
	return signalKey{kind: e.Kind, fp: e.Fingerprint, sec: e.StartsAt.Unix(), nsec: e.StartsAt.Nanosecond()}
}

// groupIncident returns the open incident alerts of a group key join, "" for
// none.
func (b *Batch) groupIncident(key string) (string, error) {
	if id := b.groups[key]; id != "" {
		return id, nil
	}
	id, err := b.view.GroupIncident(key)
	if err != nil {
		return "", fmt.Errorf("group %q: %w", key, err)
	}
	if id != "" {
		b.setGroup(key, id)
	}
	return id, nil
}

func (b *Batch) setGroup(key, id string) {
	if b.groups == nil {
		b.groups = map[string]string{}
	}
	b.groups[key] = id
}

// link routes a group key to an incident it joined.
func (b *Batch) link(key, id string) {
	b.setGroup(key, id)
	b.plan.Links = append(b.plan.Links, GroupLink{GroupKey: key, Incident: id})
}

// serviceIncident returns the newest open incident that concerns service, ""
// for none. Of the services the batch routes signals of, only those of the
// incidents it opened count before the batch is stored, as they do once it is.
func (b *Batch) serviceIncident(service string) (string, error) {
	if id := b.services[service]; id != "" {
		return id, nil
	}
	id, err := b.view.ServiceIncident(service)
	if err != nil {
		return "", fmt.Errorf("service %q: %w", service, err)
	}
	return id, nil
}

// signalStored reports whether e is stored, or the batch stores it.
func (b *Batch) signalStored(e *incident.Event) (bool, error) {
	if b.signals[keyOf(e)] {
		return true, nil
	}
	ok, err := b.view.SignalStored(e.Kind, e.Fingerprint, e.StartsAt)
	if err != nil {
		return false, fmt.Errorf("stored events: %w", err)
	}
	return ok, nil
}

// storeSignal records that the batch stores e.
func (b *Batch) storeSignal(e *incident.Event) {
	if b.signals == nil {
		b.signals = map[signalKey]bool{}
	}
	b.signals[keyOf(e)] = true
}

// openIncident opens an incident for a group, numbered after every incident
// stored and opened by the batch before it.
func (b *Batch) openIncident(key string, group, labels map[string]string) (string, error) {
	if b.next == 0 {
		last, err := b.view.MaxNumber()
		if err != nil {
			return "", fmt.Errorf("incident numbers: %w", err)
		}
		b.next = last + 1
	}
	num := b.next
	b.next++
	id := incident.NewID(num, group)
	svc := cmp.Or(group["service"], labels["service"])
	b.plan.Opened = append(b.plan.Opened, NewIncident{ID: id, Num: num, GroupKey: key, Group: group,
		Title: incident.TitleFor(group), Severity: labels["severity"], Service: svc})
	b.setGroup(key, id)
	if svc != "" {
		if b.services == nil {
			b.services = map[string]string{}
		}
		b.services[svc] = id
	}
	return id, nil
}
