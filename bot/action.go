package bot

import (
	"fmt"
	"strings"
)

// Press is a button press decoded from its Action ID. Surfaces send the id back
// as it was posted; it carries only references, never a payload.
type Press struct {
	Verb       string // approve, reject, rerun, markdone
	ProposalID string // for a proposal's buttons
	PlanHash   string // the plan the button was shown with, if any
	RunID      string // for a run's gate and interrupted-step buttons
	StepID     string
}

// Verbs of button presses.
const (
	VerbApprove  = "approve"
	VerbReject   = "reject"
	VerbRerun    = "rerun"
	VerbMarkDone = "markdone"
)

// ParseAction decodes the Action IDs the formatter posts:
//
//	approve:P1  approve:P1:PLANHASH  reject:P1[:PLANHASH]   a proposal
//	approve:RUN/STEP  reject:RUN/STEP                       a gate of a run
//	rerun:RUN/STEP  markdone:RUN/STEP                       an interrupted step
func ParseAction(id string) (Press, error) {
	verb, ref, ok := strings.Cut(id, ":")
	if !ok || ref == "" {
		return Press{}, fmt.Errorf("there is no button %q", id)
	}
	p := Press{Verb: verb}
	if run, step, isRun := strings.Cut(ref, "/"); isRun {
		if run == "" || step == "" {
			return Press{}, fmt.Errorf("button %q names no run step", id)
		}
		p.RunID, p.StepID = run, step
		switch verb {
		case VerbApprove, VerbReject, VerbRerun, VerbMarkDone:
			return p, nil
		}
		return Press{}, fmt.Errorf("there is no button %q", id)
	}
	if verb != VerbApprove && verb != VerbReject {
		return Press{}, fmt.Errorf("there is no button %q", id)
	}
	var hasHash bool
	p.ProposalID, p.PlanHash, hasHash = strings.Cut(ref, ":")
	if p.ProposalID == "" || (hasHash && p.PlanHash == "") {
		return Press{}, fmt.Errorf("button %q names no proposal and plan", id)
	}
	return p, nil
}
