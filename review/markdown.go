package review

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// mdWriter writes Markdown, remembering the first write error so callers check
// once at the end.
type mdWriter struct {
	w   io.Writer
	err error
}

func (m *mdWriter) f(format string, args ...any) {
	if m.err == nil {
		_, m.err = fmt.Fprintf(m.w, format, args...)
	}
}

// row writes one table row; cells are escaped for a table.
func (m *mdWriter) row(cells ...string) {
	for i, c := range cells {
		cells[i] = mdCell(c)
	}
	m.f("| %s |\n", strings.Join(cells, " | "))
}

// header writes a table's header row and separator.
func (m *mdWriter) header(cells ...string) {
	m.row(cells...)
	seps := make([]string, len(cells))
	for i := range seps {
		seps[i] = "---"
	}
	m.f("|%s|\n", strings.Join(seps, "|"))
}

// mdCell keeps text on one table cell: no newlines, pipes escaped.
func mdCell(s string) string {
	return strings.ReplaceAll(mdText(strings.Join(strings.Fields(s), " ")), "|", `\|`)
}

// mdText escapes recorded text for Markdown: a < would otherwise start an HTML
// tag that renderers such as GitHub's drop from view.
func mdText(s string) string { return strings.ReplaceAll(s, "<", `\<`) }

// mdCode puts text in a code span, unless it holds a backtick.
func mdCode(s string) string {
	if s == "" || strings.Contains(s, "`") {
		return s
	}
	return "`" + s + "`"
}

// writeTimelineMarkdown writes a timeline; postmortems reuse its table.
func writeTimelineMarkdown(w io.Writer, tl Timeline, loc *time.Location) error {
	m := &mdWriter{w: w}
	inc := tl.Incident
	m.f("# Timeline: %s\n\n", inc.Title)
	m.f("%s · severity %s · services %s · %s\n", inc.ID, orDash(inc.Severity), orDash(strings.Join(inc.Services, ", ")), inc.Status)
	if inc.Reason != "" {
		m.f("\n%s\n", mdText(inc.Reason))
	}
	m.f("\n## Milestones\n\n")
	writeMilestones(m, tl.Milestones, loc)
	m.f("\n## What happened\n\n")
	writeEntries(m, tl.Entries, loc)
	m.f("\nDerived from %d audit record(s); times are %s.\n", tl.Records, zoneName(loc))
	return m.err
}

func writeMilestones(m *mdWriter, ms Milestones, loc *time.Location) {
	m.header("Milestone", "When", "After detection")
	since := func(t time.Time) string {
		if d := span(ms.Detected, t); d != nil {
			return d.String()
		}
		return ""
	}
	m.row("Detected (first alert started)", clock(ms.Detected, loc), "")
	for _, r := range milestoneRows(ms) {
		m.row(r.name, clock(r.at, loc), since(r.at))
	}
}

type milestoneRow struct {
	name string
	at   time.Time
}

// milestoneRows are the milestones after detection that happened, in time order.
func milestoneRows(ms Milestones) []milestoneRow {
	rows := []milestoneRow{
		{"Opened by Vigil", ms.Opened},
		{ackLabel(ms), ms.Acked},
		{"First proposal", ms.FirstProposal},
		{approvalLabel(ms), ms.Approved},
		{"Mitigated (a runbook succeeded)", ms.Mitigated},
		{"Resolved", ms.Resolved},
	}
	rows = slices.DeleteFunc(rows, func(r milestoneRow) bool { return r.at.IsZero() })
	slices.SortStableFunc(rows, func(a, b milestoneRow) int { return a.at.Compare(b.at) })
	return rows
}

func ackLabel(ms Milestones) string {
	s := "Acknowledged"
	if ms.AckedBy != "" {
		s += " by " + ms.AckedBy
	}
	if ms.AckFrom == AckFromDecision {
		s += " (first decision; no earlier acknowledgement)"
	}
	return s
}

func approvalLabel(ms Milestones) string {
	if ms.ApprovalWaited != nil {
		return "First approval (the proposal waited " + ms.ApprovalWaited.String() + ")"
	}
	return "First approval"
}

func writeEntries(m *mdWriter, entries []Entry, loc *time.Location) {
	m.header("When", "What", "Who", "Timing")
	for _, e := range entries {
		what := e.Title
		if e.Detail != "" {
			what += " — " + e.Detail
		}
		who := e.Actor
		if e.Via != "" {
			who += " (via " + e.Via + ")"
		}
		m.row(clock(e.At, loc), what, who, timing(e))
	}
}

// timing says how long an entry took, or how long it waited.
func timing(e Entry) string {
	switch {
	case e.Took != nil:
		return "took " + e.Took.String()
	case e.After != nil && e.Kind == KindDecision:
		return e.After.String() + " after the proposal"
	case e.After != nil:
		return e.After.String() + " after detection"
	}
	return ""
}

func zoneName(loc *time.Location) string {
	if loc == nil {
		return "UTC"
	}
	return loc.String()
}

// writeReportMarkdown writes a report.
func writeReportMarkdown(w io.Writer, rep Report) error {
	m := &mdWriter{w: w}
	loc := rep.location()
	m.f("# Incident report: %s to %s", rep.Since.In(loc).Format("2006-01-02 15:04"), rep.Until.In(loc).Format("2006-01-02 15:04 MST"))
	if rep.Service != "" {
		m.f(", service %s", rep.Service)
	}
	m.f("\n\n")
	m.header("", "This period", "Previous period")
	m.row("Incidents", fmt.Sprint(rep.Incidents), fmt.Sprintf("%d (%s)", rep.Previous, trend(rep.Incidents, rep.Previous)))
	m.row("Resolved", fmt.Sprint(rep.Resolved), "")
	m.row("Not resolved", fmt.Sprint(rep.Open), "")
	m.row("Escalated at least once", fmt.Sprint(rep.Escalated), "")
	m.row("Alert events in", fmt.Sprint(rep.Noise.AlertsIn), fmt.Sprintf("%d (%s)", rep.Noise.PrevAlertsIn, trend(rep.Noise.AlertsIn, rep.Noise.PrevAlertsIn)))

	m.f("\n## Response times\n\n")
	m.header("", "n", "mean", "median", "p90")
	for _, s := range []struct {
		name string
		s    Stat
	}{{"Time to acknowledge (MTTA)", rep.MTTA}, {"Time a proposal waited for approval", rep.TimeToApprove}, {"Time to resolve (MTTR)", rep.MTTR}} {
		m.row(s.name, fmt.Sprint(s.s.N), durStr(s.s.Mean), durStr(s.s.Median), durStr(s.s.P90))
	}
	m.f("\nTimes run from detection (the first alert's start). %s\n", rep.AckDefinition)

	m.f("\n## Noise\n\n")
	m.f("%d alert event(s) in (%d of them alerts starting to fire), %d incident(s) out", rep.Noise.AlertsIn, rep.Noise.Firing, rep.Noise.Incidents)
	if p := rep.Noise.PerIncident; p != nil {
		m.f("; %.1f alert events per incident", *p)
	}
	if r := rep.Noise.Reduction; r != nil {
		m.f("; noise reduction %.1f%% (firing alerts that did not become an incident of their own)", *r*100)
	}
	m.f(".\n")

	writeGroups(m, "By service", "Service", rep.ByService, true)
	writeGroups(m, "By severity", "Severity", rep.BySeverity, false)
	writeGroups(m, "By root cause", "Cause (confirmed, else top-ranked)", rep.ByCause, false)

	m.f("\n## Runbooks\n\n")
	if len(rep.Runbooks) == 0 {
		m.f("No runbook was proposed.\n")
	} else {
		m.header("Runbook", "Proposed", "Approved", "Rejected", "Expired", "Runs", "Succeeded", "Failed", "Success rate", "Mean run")
		for _, r := range rep.Runbooks {
			m.row(r.Runbook, fmt.Sprint(r.Proposed), fmt.Sprint(r.Approved), fmt.Sprint(r.Rejected), fmt.Sprint(r.Expired),
				fmt.Sprint(r.Runs), fmt.Sprint(r.Succeeded), fmt.Sprint(r.Failed), pct(r.SuccessRate), durStr(r.MeanRun))
		}
	}

	m.f("\n## When incidents start (%s)\n\n", rep.Zone)
	writeBuckets(m, rep.ByHour)
	m.f("\n")
	writeBuckets(m, rep.ByWeekday)
	m.f("\n## Trend\n\n")
	m.header("From", "Incidents", "")
	for _, b := range rep.Trend {
		m.row(b.Label, fmt.Sprint(b.Incidents), strings.Repeat("█", b.Incidents))
	}

	m.f("\n## Incidents\n\n")
	if len(rep.List) == 0 {
		m.f("None.\n")
		return m.err
	}
	m.header("Detected", "Incident", "Severity", "Services", "Status", "To ack", "To resolve", "Cause", "Runbooks run")
	for _, r := range rep.List {
		m.row(clock(r.Detected, loc), r.ID, r.Severity, strings.Join(r.Services, ", "), r.Status, durStr(r.TimeToAck), durStr(r.TimeToResolve), r.Cause, strings.Join(r.Runbooks, ", "))
	}
	return m.err
}

func writeGroups(m *mdWriter, title, key string, gs []Group, alerts bool) {
	m.f("\n## %s\n\n", title)
	if len(gs) == 0 {
		m.f("None.\n")
		return
	}
	cols := []string{key, "Incidents", "Previous", "Trend", "Resolved", "Median time to resolve"}
	if alerts {
		cols = append(cols, "Alerts firing")
	}
	m.header(cols...)
	for _, g := range gs {
		row := []string{g.Key, fmt.Sprint(g.Incidents), fmt.Sprint(g.Previous), trend(g.Incidents, g.Previous), fmt.Sprint(g.Resolved), durStr(g.MedianTTR)}
		if alerts {
			row = append(row, fmt.Sprint(g.AlertsFiring))
		}
		m.row(row...)
	}
}

func writeBuckets(m *mdWriter, bs []Bucket) {
	labels := make([]string, len(bs))
	counts := make([]string, len(bs))
	for i, b := range bs {
		labels[i], counts[i] = b.Label, fmt.Sprint(b.Incidents)
	}
	m.header(labels...)
	m.row(counts...)
}

// trend compares a count with the previous period's.
func trend(now, before int) string {
	switch {
	case now > before:
		return fmt.Sprintf("▲ %d", now-before)
	case now < before:
		return fmt.Sprintf("▼ %d", before-now)
	}
	return "="
}

func durStr(d *Duration) string {
	if d == nil {
		return "-"
	}
	return d.String()
}

func pct(f *float64) string {
	if f == nil {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", *f*100)
}
