package ingest

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/runbooks"
	"github.com/vigilops/vigil/store"
	"github.com/vigilops/vigil/workflows/contract"
)

// Library is the runbook library in force.
type Library interface {
	Current() *runbooks.Library
}

// Manual takes people's requests to run a runbook for a service ("run R for S"
// in chat, POST /api/v1/runs). A request is stored as a manual event, durably,
// before it is answered: it joins the incident open for the service, or opens
// one, and the incident proposes the runbook under its approval policy, with
// the requester recorded so they cannot approve their own request.
type Manual struct {
	Store    SignalStore
	Runbooks Library
	// Notify wakes the dispatcher after a request is stored.
	Notify func()
}

var serviceRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

// RequestRun stores a request and returns the incident it belongs to. Unknown
// runbooks and malformed service names are refused with a reason.
func (m *Manual) RequestRun(ctx context.Context, runbookID, service string, actor incident.Actor) (string, error) {
	if actor.User == "" {
		return "", &contract.Refusal{Kind: contract.RefusedForbidden, Message: "no verified user identity came with this request"}
	}
	lib := m.Runbooks.Current()
	if lib.Get(runbookID) == nil {
		ids := make([]string, len(lib.Runbooks))
		for i, rb := range lib.Runbooks {
			ids[i] = rb.ID
		}
		return "", &contract.Refusal{Kind: contract.RefusedNotFound, Message: fmt.Sprintf("there is no runbook %q; known runbooks: %s", runbookID, strings.Join(ids, ", "))}
	}
	if !serviceRE.MatchString(service) {
		return "", &contract.Refusal{Kind: contract.RefusedBadRequest, Message: fmt.Sprintf("%q is not a service name (letters, digits, '.', '_', '-')", service)}
	}
	now := time.Now()
	e := incident.Event{
		Kind: incident.KindManual, Status: incident.AlertFiring, StartsAt: now.UTC(),
		Fingerprint: "manual:" + runbookID + ":" + service + ":" + actor.User + ":" + strconv.FormatInt(now.UnixNano(), 36),
		Labels:      map[string]string{"runbook": runbookID, "service": service, "requested_by": actor.User},
		Annotations: map[string]string{"requested_by_name": actor.Name(), "surface": actor.Surface, "verification": actor.Verification},
		Summary:     fmt.Sprintf("%s asked to run %s for %s", actor.Name(), runbookID, service),
	}
	res, err := m.Store.IngestEvents(ctx, "manual", []store.SignalIn{{
		Event: e, MayOpen: true, GroupKey: "manual:" + runbookID + ":" + service,
		GroupLabels: map[string]string{"runbook": runbookID, "service": service},
	}}, now)
	if err != nil {
		return "", fmt.Errorf("request to run %s for %s: %w", runbookID, service, err)
	}
	if m.Notify != nil {
		m.Notify()
	}
	if len(res.Incidents) == 0 {
		return "", fmt.Errorf("request to run %s for %s: stored but joined no incident", runbookID, service)
	}
	return res.Incidents[0], nil
}
