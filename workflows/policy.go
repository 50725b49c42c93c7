package workflows

import (
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/vigilops/vigil/incident"
)

// Refusal types. The decide validator rejects with a temporal ApplicationError of
// one of these types; surfaces map them to their own answers (HTTP status codes).
const (
	RefusedBadRequest = "BadRequest"
	RefusedForbidden  = "Forbidden"
	RefusedNotFound   = "NotFound"
	RefusedConflict   = "Conflict"
)

func refuse(kind, format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), kind, nil)
}

// CheckDecision is the approval policy: it returns nil when req may be applied to
// inc now, or a refusal whose message tells the human why and what to do.
func CheckDecision(inc *incident.Incident, req DecideRequest) error {
	if req.Decision != incident.Approve && req.Decision != incident.Reject {
		return refuse(RefusedBadRequest, "decision must be %q or %q, not %q", incident.Approve, incident.Reject, req.Decision)
	}
	if req.Actor.User == "" {
		return refuse(RefusedForbidden, "no verified user identity came with this decision")
	}
	if inc.Status == incident.StatusResolved {
		return refuse(RefusedConflict, "incident %s is resolved; there is nothing left to decide", inc.ID)
	}
	p := inc.Proposal(req.ProposalID)
	if p == nil {
		ids := make([]string, len(inc.Proposals))
		for i, q := range inc.Proposals {
			ids[i] = q.ID
		}
		return refuse(RefusedNotFound, "incident %s has no proposal %q (proposals: %s)", inc.ID, req.ProposalID, orNone(ids))
	}
	if p.Status != incident.ProposalPending {
		return refuse(RefusedConflict, "%s (%s) is already %s", p.ID, p.RunbookID, p.Status)
	}
	if !slices.Contains(p.Allowed, req.Actor.User) {
		return refuse(RefusedForbidden, "%s may not decide %s (%s): its approvers are %s", req.Actor.User, p.ID, p.RunbookID, strings.Join(p.Approvers, ", "))
	}
	return nil
}

func orNone(ss []string) string {
	if len(ss) == 0 {
		return "none"
	}
	return strings.Join(ss, ", ")
}
