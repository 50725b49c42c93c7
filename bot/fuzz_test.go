package bot

import (
	"strconv"
	"strings"
	"testing"
)

// actionID is the Action ID the formatter posts for a press.
func actionID(p Press) string {
	if p.RunID != "" {
		return p.Verb + ":" + p.RunID + "/" + p.StepID
	}
	if p.PlanHash != "" {
		return p.Verb + ":" + p.ProposalID + ":" + p.PlanHash
	}
	return p.Verb + ":" + p.ProposalID
}

// FuzzParseAction: an accepted Action ID names a proposal or a run step and
// is the id the formatter would post for that press; a refused one is quoted
// in the error. Run with
//
//	go test -run '^$' -fuzz '^FuzzParseAction$' -fuzztime 10s ./bot
func FuzzParseAction(f *testing.F) {
	for _, id := range []string{"approve:P1", "reject:P2:abc123", "approve:incident-1-x-run-1/promote", "rerun:incident-1-x-run-2/migrate",
		"markdone:r/s", "rerun:P1", "delete:P1", "approve:", "approve:/step", "nonsense"} {
		f.Add(id)
	}
	f.Fuzz(func(t *testing.T, id string) {
		p, err := ParseAction(id)
		if err != nil {
			if !strings.Contains(err.Error(), strconv.Quote(id)) {
				t.Fatalf("ParseAction(%q) error %q does not quote the id", id, err)
			}
			return
		}
		if p.ProposalID == "" && (p.RunID == "" || p.StepID == "") {
			t.Fatalf("ParseAction(%q) = %+v names neither a proposal nor a run step", id, p)
		}
		if got := actionID(p); got != id {
			t.Fatalf("ParseAction(%q) = %+v, which the formatter posts as %q", id, p, got)
		}
	})
}
