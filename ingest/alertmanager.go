// Package ingest receives signals over HTTP, validates and normalises them, stores
// them durably, and only then acknowledges. A dispatcher delivers stored events to
// incident workflows from the store's outbox, so nothing accepted is lost if
// Temporal is briefly unreachable or Vigil restarts.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/internal/httpx"
	"github.com/vigilops/vigil/store"
)

// AlertStore is where accepted alerts go.
type AlertStore interface {
	IngestAlerts(ctx context.Context, source string, alerts []store.AlertIn, now time.Time) (store.IngestResult, error)
}

// Alertmanager receives Alertmanager webhook notifications (payload version 4).
type Alertmanager struct {
	Store AlertStore
	// GroupBy lists the labels whose values put alerts in the same incident.
	GroupBy []string
	// Notify is called after a batch is stored, to wake the dispatcher.
	Notify func()
	Logger *slog.Logger
}

// webhook is the Alertmanager webhook payload, version 4. Unknown fields are
// ignored so newer Alertmanagers keep working.
type webhook struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []webhookAlert    `json:"alerts"`
}

type webhookAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     string            `json:"startsAt"`
	EndsAt       string            `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// Accepted is the body of a successful response.
type Accepted struct {
	Accepted   int      `json:"accepted"`
	Duplicates int      `json:"duplicates"`
	Incidents  []string `json:"incidents"`
	// Silenced counts accepted alerts that an active silence kept from any
	// incident (see /api/v1/silences).
	Silenced int `json:"silenced,omitempty"`
	// Queued counts accepted alerts held in the spool (ingest.spool), to be
	// deduplicated and routed right after the answer: the counts above and
	// the incidents are then unknown yet.
	Queued int `json:"queued,omitempty"`
}

// ServeHTTP handles POST /api/v1/alerts/alertmanager.
func (h *Alertmanager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var p webhook
	if err := httpx.DecodeJSON(r, &p); err != nil {
		httpx.WriteError(w, err)
		return
	}
	alerts, err := h.normalise(&p)
	if err != nil {
		httpx.WriteError(w, err)
		return
	}
	res, err := h.Store.IngestAlerts(r.Context(), "alertmanager", alerts, time.Now())
	if err != nil {
		h.Logger.Error("ingest: store alerts", "err", err)
		msg := "alerts could not be stored; nothing was accepted, retry later"
		if errors.Is(err, errSpoolFull) {
			msg = err.Error()
		}
		httpx.WriteError(w, &httpx.Error{Status: http.StatusServiceUnavailable, Message: msg})
		return
	}
	if res.Accepted > res.Queued && h.Notify != nil { // queued alerts wake it once routed
		h.Notify()
	}
	if p.TruncatedAlerts > 0 {
		h.Logger.Warn("ingest: Alertmanager truncated alerts; raise max_alerts on the receiver", "truncated", p.TruncatedAlerts, "group", p.GroupKey)
	}
	h.Logger.Info("ingest: alerts", "accepted", res.Accepted, "duplicates", res.Duplicates, "silenced", res.Silenced, "queued", res.Queued, "incidents", res.Incidents)
	if res.Incidents == nil {
		res.Incidents = []string{}
	}
	httpx.WriteJSON(w, http.StatusOK, Accepted{Accepted: res.Accepted, Duplicates: res.Duplicates, Incidents: res.Incidents, Silenced: res.Silenced, Queued: res.Queued})
}

// normalise validates the payload and turns it into store input. Every problem is
// reported with the JSON path of the offending field.
func (h *Alertmanager) normalise(p *webhook) ([]store.AlertIn, error) {
	var problems []string
	bad := func(path, format string, args ...any) {
		problems = append(problems, path+": "+fmt.Sprintf(format, args...))
	}
	if p.Version != "" && p.Version != "4" {
		bad("version", "unsupported webhook version %q; Vigil accepts Alertmanager's version 4", p.Version)
	}
	if len(p.Alerts) == 0 {
		bad("alerts", "is required and must hold at least one alert")
	}
	out := make([]store.AlertIn, 0, len(p.Alerts))
	for i, a := range p.Alerts {
		path := fmt.Sprintf("alerts[%d]", i)
		if a.Status != incident.AlertFiring && a.Status != incident.AlertResolved {
			bad(path+".status", "must be \"firing\" or \"resolved\", got %q", a.Status)
		}
		if len(a.Labels) == 0 {
			bad(path+".labels", "is required and must not be empty")
		}
		starts, err := time.Parse(time.RFC3339Nano, a.StartsAt)
		if err != nil || starts.Year() <= 1 {
			bad(path+".startsAt", "is required and must be an RFC 3339 time, got %q", a.StartsAt)
		}
		var ends time.Time
		if a.EndsAt != "" {
			if ends, err = time.Parse(time.RFC3339Nano, a.EndsAt); err != nil {
				bad(path+".endsAt", "must be an RFC 3339 time, got %q", a.EndsAt)
			}
			if ends.Year() <= 1 { // Alertmanager sends 0001-01-01T00:00:00Z for "unset"
				ends = time.Time{}
			}
		}
		fp := a.Fingerprint
		if fp == "" {
			fp = Fingerprint(a.Labels)
		}
		key, group := groupOf(h.GroupBy, a.Labels)
		out = append(out, store.AlertIn{
			Fingerprint: fp, Status: a.Status, Labels: a.Labels, Annotations: a.Annotations,
			StartsAt: starts, EndsAt: ends, GeneratorURL: a.GeneratorURL,
			GroupKey: key, GroupLabels: group,
		})
	}
	if len(problems) > 0 {
		return nil, &httpx.Error{Status: http.StatusUnprocessableEntity, Message: "invalid Alertmanager payload; nothing was accepted", Problems: problems}
	}
	return out, nil
}

// Fingerprint identifies an alert by its label set the way Alertmanager does
// (FNV-1a 64 over sorted name/value pairs), so payloads with and without a
// fingerprint deduplicate alike.
func Fingerprint(labels map[string]string) string {
	h := fnv.New64a()
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		h.Write([]byte(k))
		h.Write([]byte{0xff})
		h.Write([]byte(labels[k]))
		h.Write([]byte{0xff})
	}
	return fmt.Sprintf("%016x", h.Sum64())
}
