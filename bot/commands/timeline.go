package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/bot"
)

var timelineCommand = Command{
	Name:     "timeline",
	Usage:    "timeline [INCIDENT]",
	Summary:  "Show what happened so far, from the incident's audit trail.",
	Examples: []string{"timeline", "timeline incident-7-highlatency-checkout"},
	pattern:  regexp.MustCompile(`^(?i:timeline)(?:\s+(` + incidentRE + `))?$`),
	run: func(ctx context.Context, b *Bot, c Call, g []string) (bot.Message, error) {
		id, err := incidentFor(c, g[1], b.prefix+"timeline incident-7-highlatency-checkout")
		if err != nil {
			return bot.Message{}, err
		}
		return handleTimeline(ctx, b.deps.Incidents, b.deps.Audit, id)
	},
}

func handleTimeline(ctx context.Context, incs Incidents, audit AuditTrail, id string) (bot.Message, error) {
	if _, err := incs.Incident(ctx, id); err != nil {
		return bot.Message{}, err
	}
	recs, err := audit.AuditTrail(ctx, id)
	if err != nil {
		return bot.Message{}, err
	}
	return bot.Timeline(id, TimelineEntries(recs)), nil
}

// TimelineEntries turns audit records into timeline lines, with the details that
// matter to a reader (reason, proposal, comment, step and exit code) on one line.
func TimelineEntries(recs []audit.Record) []bot.TimelineEntry {
	out := make([]bot.TimelineEntry, 0, len(recs))
	for _, r := range recs {
		at, _ := time.Parse(time.RFC3339Nano, r.At)
		out = append(out, bot.TimelineEntry{At: at, Actor: r.Actor, Action: r.Action, Detail: detail(r.Details)})
	}
	return out
}

// detailKeys are the audit details worth a timeline line, in the order shown.
var detailKeys = []string{"proposal", "runbook", "step", "exit_code", "status", "comment", "reason", "text", "title"}

func detail(raw json.RawMessage) string {
	var d map[string]any
	if json.Unmarshal(raw, &d) != nil {
		return ""
	}
	var parts []string
	for _, k := range detailKeys {
		v, ok := d[k]
		if !ok {
			continue
		}
		s := strings.Join(strings.Fields(fmt.Sprint(v)), " ")
		if len(s) > 120 {
			s = s[:117] + "..."
		}
		parts = append(parts, k+"="+s)
	}
	return strings.Join(parts, " ")
}
