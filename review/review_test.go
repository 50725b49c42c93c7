package review

import (
	"bytes"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/internal/golden"
)

func d(s string) Duration {
	v, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return Duration(v)
}

func eqDur(p *Duration, want string) bool { return p != nil && *p == d(want) }

func TestTimelineSaysWhatHappened(t *testing.T) {
	var seq int64
	tl := BuildTimeline(diskIncident(&seq))
	m := tl.Milestones
	if !m.Detected.Equal(at("2026-11-24T03:00:00Z")) || !m.Opened.Equal(at("2026-11-24T03:00:05Z")) {
		t.Errorf("detected %s, opened %s", m.Detected, m.Opened)
	}
	if !eqDur(m.TimeToAck, "2m") || m.AckedBy != "Alice Ng (alice)" || m.AckFrom != AckFromAck {
		t.Errorf("ack: %v by %q from %q; want 2m by Alice Ng (alice) from the acknowledgement", m.TimeToAck, m.AckedBy, m.AckFrom)
	}
	if !eqDur(m.ApprovalWaited, "5m") || !eqDur(m.TimeToResolve, "5m13s") || !m.Mitigated.Equal(at("2026-11-24T03:05:13Z")) {
		t.Errorf("approval waited %v, resolved after %v, mitigated %s", m.ApprovalWaited, m.TimeToResolve, m.Mitigated)
	}
	byTitle := map[string]Entry{}
	for _, e := range tl.Entries {
		byTitle[e.Title] = e
	}
	checks := []struct {
		title string
		check func(Entry) bool
	}{
		{"First alert started", func(e Entry) bool { return e.Seq == 0 && e.Kind == KindDetection }},
		{"Incident opened", func(e Entry) bool { return eqDur(e.After, "5s") }},
		{"E1 firing", func(e Entry) bool { return e.Detail == "DiskFillingUp on db-1 (critical): disk 93% full" }},
		{"E3 added", func(e Entry) bool { return e.Kind == KindAlert && strings.Contains(e.Detail, "disk_used_ratio") }},
		{"bob rejected P2 (collect-diagnostics)", func(e Entry) bool {
			return e.Kind == KindDecision && eqDur(e.After, "4m") && e.Via == "console, console session" && e.Detail == "“not needed”"
		}},
		{"Alice Ng (alice) approved P1 (clean-temp-files)", func(e Entry) bool { return eqDur(e.After, "5m") && e.Via == "slack, slack request signature" }},
		{"Step delete-old-tmp succeeded (exit 0), attempt 2", func(e Entry) bool { return eqDur(e.Took, "1.85s") && e.Kind == KindStep }},
		{"Step verify-space succeeded (exit 0)", func(e Entry) bool { return e.Kind == KindVerification }},
		{"Run of clean-temp-files (P1) succeeded", func(e Entry) bool { return eqDur(e.Took, "6s") }},
		{"Note from Alice Ng (alice)", func(e Entry) bool { return e.Detail == "disk at 93%, tmp files from the nightly build" }},
		{"Resolved", func(e Entry) bool { return eqDur(e.After, "5m13s") }},
	}
	for _, c := range checks {
		e, ok := byTitle[c.title]
		if !ok || !c.check(e) {
			t.Errorf("entry %q = %+v (present %v)", c.title, e, ok)
		}
	}
	for i := 1; i < len(tl.Entries); i++ {
		if tl.Entries[i].At.Before(tl.Entries[i-1].At) {
			t.Errorf("entries out of time order at %d", i)
		}
	}
	if len(tl.Entries) != tl.Records+1 {
		t.Errorf("%d entries from %d records: every record should be one entry, plus the detection", len(tl.Entries), tl.Records)
	}

	c := tl.Chart
	if len(c.Rows) != 3 || c.Rows[2].Series == nil || len(c.Rows[0].Intervals) != 1 {
		t.Fatalf("chart rows = %+v", c.Rows)
	}
	// E1 fired from its own startsAt until its recorded end; E2 until Vigil
	// heard it resolve.
	if iv := c.Rows[0].Intervals[0]; !iv.Start.Equal(at("2026-11-24T03:00:00Z")) || !iv.End.Equal(at("2026-11-24T03:06:50Z")) || iv.Open {
		t.Errorf("E1 interval = %+v", iv)
	}
	if iv := c.Rows[1].Intervals[0]; !iv.Start.Equal(at("2026-11-24T03:00:02Z")) || !iv.End.Equal(at("2026-11-24T03:07:30Z")) {
		t.Errorf("E2 interval = %+v", iv)
	}
	if !c.Start.Equal(at("2026-11-24T02:58:00Z")) || !c.End.Equal(at("2026-11-24T03:07:30Z")) {
		t.Errorf("chart spans %s to %s", c.Start, c.End)
	}
}

func TestAckFallsBackToTheFirstDecision(t *testing.T) {
	var seq int64
	m := BuildTimeline(latencyIncident(&seq)).Milestones
	if !eqDur(m.TimeToAck, "10m31s") || m.AckFrom != AckFromDecision || m.AckedBy != "carol" {
		t.Errorf("ack = %v from %q by %q; want the approval at 10m31s", m.TimeToAck, m.AckFrom, m.AckedBy)
	}
	if m.TimeToResolve != nil {
		t.Errorf("an escalated incident has a time to resolve: %v", m.TimeToResolve)
	}
}

func TestReopenedIncidentResolvesAtItsLastResolution(t *testing.T) {
	var seq int64
	src := earlierIncident(&seq)
	tr := &trail{id: src.Incident.ID, seq: &seq, recs: src.Audit}
	tr.add(at("2026-11-01T10:00:00Z"), "system:ingest", "alert.firing", map[string]any{"evidence": "E1"})
	tr.add(at("2026-11-01T10:00:00Z"), "system:ingest", "incident.reopened", nil)
	if m := BuildTimeline(Source{Incident: src.Incident, Audit: tr.recs}).Milestones; !m.Resolved.IsZero() {
		t.Errorf("reopened incident counts as resolved at %s", m.Resolved)
	}
	tr.add(at("2026-11-01T10:20:00Z"), "system:ingest", "alert.resolved", map[string]any{"evidence": "E1"})
	tr.add(at("2026-11-01T10:20:00Z"), "system:ingest", "incident.resolved", map[string]any{"reason": "again"})
	tl := BuildTimeline(Source{Incident: src.Incident, Audit: tr.recs})
	if !eqDur(tl.Milestones.TimeToResolve, "1h20m") {
		t.Errorf("time to resolve = %v, want 1h20m (to the last resolution)", tl.Milestones.TimeToResolve)
	}
	if ivs := tl.Chart.Rows[0].Intervals; len(ivs) != 2 || tl.Entries[len(tl.Entries)-4].Title != "E1 firing again" {
		t.Errorf("intervals = %+v", ivs)
	}
}

func TestUnknownActionsStillAppear(t *testing.T) {
	var seq int64
	tr := &trail{id: "inc", seq: &seq}
	tr.add(at("2026-11-01T10:00:00Z"), "system:llm", "investigation.summarized", map[string]any{"summary": "the disk filled up"})
	tl := BuildTimeline(Source{Audit: tr.recs})
	if e := tl.Entries[0]; e.Kind != KindRecord || e.Title != "investigation.summarized" || e.Detail != "the disk filled up" || e.Actor != "Vigil (llm)" {
		t.Errorf("entry = %+v", e)
	}
}

func TestReportNumbers(t *testing.T) {
	rep := BuildReport(reportInput())
	if rep.Incidents != 2 || rep.Previous != 1 || rep.Resolved != 1 || rep.Open != 1 || rep.Escalated != 1 {
		t.Errorf("totals = %d incidents (%d before), %d resolved, %d open, %d escalated", rep.Incidents, rep.Previous, rep.Resolved, rep.Open, rep.Escalated)
	}
	// MTTA: 2m (ack) and 10m31s (first decision); mean 6m15.5s.
	if rep.MTTA.N != 2 || !eqDur(rep.MTTA.Mean, "6m15.5s") || !eqDur(rep.MTTA.Median, "2m") || !eqDur(rep.MTTA.P90, "10m31s") {
		t.Errorf("MTTA = %+v", rep.MTTA)
	}
	if rep.TimeToApprove.N != 2 || !eqDur(rep.TimeToApprove.Mean, "7m30s") {
		t.Errorf("time to approve = %+v, want 5m and 10m", rep.TimeToApprove)
	}
	if rep.MTTR.N != 1 || !eqDur(rep.MTTR.Mean, "5m13s") {
		t.Errorf("MTTR = %+v", rep.MTTR)
	}
	n := rep.Noise
	if n.AlertsIn != 13 || n.Firing != 10 || n.PrevAlertsIn != 2 || *n.PerIncident != 6.5 || *n.Reduction != 0.8 {
		t.Errorf("noise = %+v (per incident %v, reduction %v)", n, *n.PerIncident, *n.Reduction)
	}
	svc := map[string]Group{}
	for _, g := range rep.ByService {
		svc[g.Key] = g
	}
	if g := svc["db"]; g.Incidents != 1 || g.Previous != 1 || g.AlertsFiring != 5 || !eqDur(g.MedianTTR, "5m13s") {
		t.Errorf("db = %+v", g)
	}
	if g := svc["checkout"]; g.Incidents != 1 || g.Previous != 0 || g.Resolved != 0 || g.MedianTTR != nil {
		t.Errorf("checkout = %+v", g)
	}
	rb := map[string]RunbookStat{}
	for _, r := range rep.Runbooks {
		rb[r.Runbook] = r
	}
	if r := rb["clean-temp-files"]; r.Proposed != 1 || r.Approved != 1 || r.Runs != 1 || *r.SuccessRate != 1 || !eqDur(r.MeanRun, "6s") {
		t.Errorf("clean-temp-files = %+v", r)
	}
	if r := rb["restart-checkout"]; r.Runs != 1 || r.Failed != 1 || *r.SuccessRate != 0 {
		t.Errorf("restart-checkout = %+v", r)
	}
	if r := rb["collect-diagnostics"]; r.Rejected != 1 || r.Runs != 0 || r.SuccessRate != nil {
		t.Errorf("collect-diagnostics = %+v", r)
	}
	causes := map[string]int{}
	for _, g := range rep.ByCause {
		causes[g.Key] = g.Incidents
	}
	if causes["db-1"] != 1 || causes["checkout-db"] != 1 {
		t.Errorf("causes = %v", causes)
	}
	// 2026-11-23 14:10 is a Monday, 2026-11-24 03:00 a Tuesday.
	if rep.ByHour[3].Incidents != 1 || rep.ByHour[14].Incidents != 1 || rep.ByWeekday[0].Incidents != 1 || rep.ByWeekday[1].Incidents != 1 {
		t.Errorf("hour/weekday cohorts: 03h %d, 14h %d, Mon %d, Tue %d", rep.ByHour[3].Incidents, rep.ByHour[14].Incidents, rep.ByWeekday[0].Incidents, rep.ByWeekday[1].Incidents)
	}
	if len(rep.Trend) != 15 || rep.Trend[13].Incidents != 1 || rep.Trend[14].Incidents != 1 {
		t.Errorf("trend = %+v", rep.Trend)
	}

	in := reportInput()
	in.Service = "checkout"
	only := BuildReport(in)
	if only.Incidents != 1 || only.Previous != 0 || only.Noise.AlertsIn != 4 || len(only.Runbooks) != 1 {
		t.Errorf("checkout only: %d incidents, %d before, %d alerts, runbooks %+v", only.Incidents, only.Previous, only.Noise.AlertsIn, only.Runbooks)
	}

	in = reportInput()
	in.Location = time.FixedZone("UTC+10", 10*3600)
	if z := BuildReport(in); z.ByHour[13].Incidents != 1 || z.ByHour[0].Incidents != 1 {
		t.Errorf("in UTC+10 the incidents start at 13h and 00h: %+v", z.ByHour)
	}
}

func TestPostmortemDraft(t *testing.T) {
	var seq int64
	src := diskIncident(&seq)
	cp := &audit.Checkpoint{N: 42, Seq: seq, Hash: strings.Repeat("ab", 32), KeyID: "0123456789abcdef", Incident: src.Incident.ID}
	md := Postmortem(PostmortemInput{Source: src, Checkpoint: cp})
	for _, want := range []string{
		"# Postmortem: DiskFillingUp on db (incident-7-diskfillingup-db)",
		"From 2026-11-24 03:00:00 UTC, when the first alert started, to 2026-11-24 03:07:30 UTC, when the last one resolved: 7m30s.",
		"- Rejected by **bob** (via console, console session) at 2026-11-24 03:04:06 UTC, 4m00s after it was proposed: “not needed”.",
		"- Approved by **Alice Ng (alice)** (via slack, slack request signature) at 2026-11-24 03:05:06 UTC, 5m00s after it was proposed: “go \\<now>”.",
		"| delete-old-tmp | succeeded | 0 | 1.85s | `find /data -name '*.tmp' -delete` |",
		"Confirmed: **not yet**.",
		"- [ ] Confirm the root cause: the top-ranked candidate was **db-1** (score 0.82).",
		"- [ ] P2 (`collect-diagnostics`) was rejected by bob: “not needed”.",
		"sealed by signed checkpoint #42 (key 0123456789abcdef), which vouches for the audit trail through record 19",
		`| 1 | db-1 | 0.82 | fired first \| most alerts |`,
	} {
		if !strings.Contains(md, want) {
			t.Errorf("postmortem lacks %q", want)
		}
	}
	golden.Assert(t, filepath.Join("testdata", "postmortem.md"), []byte(md))

	seq = 0
	failed := Postmortem(PostmortemInput{Source: latencyIncident(&seq)})
	for _, want := range []string{
		"Run `incident-8-highlatency-checkout-run-1` did not succeed: step `restart` failed (exit 1).",
		"The incident escalated (Runbook restart-checkout (P1) failed. A human needs to look. (paged: group:oncall)): review why.",
		"an alert was still firing when this draft was written",
		"The audit trail is not signed, so this draft cites no checkpoint.",
	} {
		if !strings.Contains(failed, want) {
			t.Errorf("postmortem of the failed run lacks %q", want)
		}
	}
}

func TestGoldenRenderings(t *testing.T) {
	var seq int64
	tl := BuildTimeline(diskIncident(&seq))
	rep := BuildReport(reportInput())
	for _, f := range []Format{Markdown, JSON, HTML} {
		var b bytes.Buffer
		if err := WriteTimeline(&b, f, tl, nil); err != nil {
			t.Fatal(err)
		}
		golden.Assert(t, filepath.Join("testdata", "timeline."+string(f)), b.Bytes())
		b.Reset()
		if err := WriteReport(&b, f, rep); err != nil {
			t.Fatal(err)
		}
		golden.Assert(t, filepath.Join("testdata", "report."+string(f)), b.Bytes())
	}
	var b bytes.Buffer
	if err := WriteTimeline(&b, JSON, tl, nil); err != nil {
		t.Fatal(err)
	}
	var back struct{ Entries []Entry }
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || len(back.Entries) != len(tl.Entries) {
		t.Errorf("timeline JSON does not read back: %v", err)
	}
}

func TestHTMLEscapesRecordedText(t *testing.T) {
	var seq int64
	src := diskIncident(&seq)
	src.Incident.Evidence[0].Summary = `<script>alert("x")</script>`
	tr := &trail{id: src.Incident.ID, seq: &seq, recs: src.Audit}
	tr.add(at("2026-11-24T03:09:00Z"), "user:mallory", "incident.note", map[string]any{"text": `<img src=x onerror=alert(1)>`})
	var b bytes.Buffer
	if err := WriteTimeline(&b, HTML, BuildTimeline(Source{Incident: src.Incident, Audit: tr.recs}), nil); err != nil {
		t.Fatal(err)
	}
	if s := b.String(); strings.Contains(s, "<script>alert") || strings.Contains(s, "<img src=x") {
		t.Errorf("recorded text reached the page unescaped")
	}
}

func TestParsePeriod(t *testing.T) {
	for in, want := range map[string]time.Duration{"30d": 30 * 24 * time.Hour, "2w": 14 * 24 * time.Hour, "12h": 12 * time.Hour, "90m": 90 * time.Minute, "1h30m": 90 * time.Minute} {
		if got, err := ParsePeriod(in); err != nil || got != want {
			t.Errorf("ParsePeriod(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "d", "-3d", "0d", "thirty days"} {
		if _, err := ParsePeriod(bad); err == nil {
			t.Errorf("ParsePeriod(%q) succeeded", bad)
		}
	}
}

func TestDurationString(t *testing.T) {
	for in, want := range map[string]string{"850ms": "850ms", "1.854s": "1.85s", "42.4s": "42s", "3m12s": "3m12s", "2h5m": "2h05m", "50h": "2d2h", "-30s": "-30s"} {
		if got := d(in).String(); got != want {
			t.Errorf("%s prints %q, want %q", in, got, want)
		}
	}
}

func TestChartSkipsValuesItCannotDraw(t *testing.T) {
	var seq int64
	src := diskIncident(&seq)
	s := src.Incident.Evidence[2].Series
	s.Values[3], s.Values[4] = math.NaN(), math.Inf(1)
	svg := BuildTimeline(src).Chart.SVG(nil)
	if strings.Contains(svg, "NaN") || strings.Contains(svg, "Inf") || !strings.Contains(svg, `<polyline class="series"`) {
		t.Errorf("series with NaN and Inf drew as: %s", svg[strings.Index(svg, "<polyline"):][:200])
	}
}
