package review

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
)

// Format is an output format of timelines and reports.
type Format string

// Formats.
const (
	Markdown Format = "md"
	JSON     Format = "json"
	HTML     Format = "html"
)

// ParseFormat reads md, json or html.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case Markdown, JSON, HTML:
		return f, nil
	}
	return "", fmt.Errorf("format %q: use md, json or html", s)
}

//go:embed templates
var templates embed.FS

var pages = template.Must(template.New("").ParseFS(templates, "templates/*.html"))

// Style is the stylesheet of the HTML renderings, for pages that embed them.
func Style() template.CSS {
	b, err := templates.ReadFile("templates/style.css")
	if err != nil {
		panic(err) // embedded at build time
	}
	return template.CSS(b) // our own stylesheet, embedded at build time
}

// WriteTimeline renders a timeline; times are in loc (UTC when nil).
func WriteTimeline(w io.Writer, f Format, tl Timeline, loc *time.Location) error {
	switch f {
	case JSON:
		return writeJSON(w, tl)
	case HTML:
		body, err := TimelineHTML(tl, loc)
		if err != nil {
			return err
		}
		return writePage(w, "Timeline: "+tl.Incident.Title, body)
	default:
		return writeTimelineMarkdown(w, tl, loc)
	}
}

// WriteReport renders a report.
func WriteReport(w io.Writer, f Format, rep Report) error {
	switch f {
	case JSON:
		return writeJSON(w, rep)
	case HTML:
		body, err := ReportHTML(rep, false)
		if err != nil {
			return err
		}
		return writePage(w, "Incident report", body)
	default:
		return writeReportMarkdown(w, rep)
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writePage wraps a fragment in a standalone HTML document (styles inline, no
// outside references), so a file can be mailed or archived as is.
func writePage(w io.Writer, title string, body template.HTML) error {
	return pages.ExecuteTemplate(w, "page", map[string]any{
		"Title": title, "Style": Style(), "Body": body,
	})
}

func execute(name string, data any) (template.HTML, error) {
	var b strings.Builder
	if err := pages.ExecuteTemplate(&b, name, data); err != nil {
		return "", fmt.Errorf("review: render %s: %w", name, err)
	}
	return template.HTML(b.String()), nil // produced by html/template, so escaped
}

type milestoneView struct{ Name, When, After string }

type entryView struct {
	When, Kind, Title, Detail, Who, Via, Timing, Status string
}

// TimelineHTML renders a timeline as an HTML fragment (a <section> styled by
// Style) with the chart inline.
func TimelineHTML(tl Timeline, loc *time.Location) (template.HTML, error) {
	inc, ms := tl.Incident, tl.Milestones
	var milestones []milestoneView
	add := func(name string, at time.Time) {
		if at.IsZero() {
			return
		}
		after := ""
		if d := span(ms.Detected, at); d != nil && !at.Equal(ms.Detected) {
			after = d.String()
		}
		milestones = append(milestones, milestoneView{name, clock(at, loc), after})
	}
	add("Detected (first alert started)", ms.Detected)
	for _, r := range milestoneRows(ms) {
		add(r.name, r.at)
	}
	var entries []entryView
	for _, e := range tl.Entries {
		entries = append(entries, entryView{
			When: clock(e.At, loc), Kind: e.Kind, Title: e.Title, Detail: e.Detail, Who: e.Actor, Via: e.Via, Timing: timing(e), Status: e.Status,
		})
	}
	return execute("timeline", map[string]any{
		"ID": inc.ID, "Title": inc.Title, "Severity": orDash(inc.Severity), "Services": orDash(strings.Join(inc.Services, ", ")),
		"Status": inc.Status, "Reason": inc.Reason, "Zone": zoneName(loc), "Records": tl.Records,
		// Chart.SVG escapes every text it draws.
		"SVG":        template.HTML(tl.Chart.SVG(loc)),
		"Milestones": milestones, "Entries": entries,
	})
}

type groupRow struct {
	Key, Trend, Resolved, MedianTTR, Alerts string
	Incidents, Previous                     int
	Share                                   string
}

type bucketView struct {
	Label     string
	Incidents int
	Share     string
}

// ReportHTML renders a report as an HTML fragment. With links, incident ids link
// to their console timeline pages.
func ReportHTML(rep Report, links bool) (template.HTML, error) {
	loc := rep.location()
	type total struct{ Name, Now, Before string }
	totals := []total{
		{"Incidents", fmt.Sprint(rep.Incidents), fmt.Sprintf("%d (%s)", rep.Previous, trend(rep.Incidents, rep.Previous))},
		{"Resolved", fmt.Sprint(rep.Resolved), ""},
		{"Not resolved", fmt.Sprint(rep.Open), ""},
		{"Escalated at least once", fmt.Sprint(rep.Escalated), ""},
		{"Alert events in", fmt.Sprint(rep.Noise.AlertsIn), fmt.Sprintf("%d (%s)", rep.Noise.PrevAlertsIn, trend(rep.Noise.AlertsIn, rep.Noise.PrevAlertsIn))},
	}
	type timeRow struct {
		Name              string
		N                 int
		Mean, Median, P90 string
	}
	var times []timeRow
	for _, s := range []struct {
		name string
		s    Stat
	}{{"Time to acknowledge (MTTA)", rep.MTTA}, {"Time a proposal waited for approval", rep.TimeToApprove}, {"Time to resolve (MTTR)", rep.MTTR}} {
		times = append(times, timeRow{s.name, s.s.N, durStr(s.s.Mean), durStr(s.s.Median), durStr(s.s.P90)})
	}
	type groupView struct {
		Title, Key string
		Alerts     bool
		Rows       []groupRow
	}
	group := func(title, key string, gs []Group, alerts bool) groupView {
		g := groupView{Title: title, Key: key, Alerts: alerts}
		most := 1
		for _, x := range gs {
			most = max(most, x.Incidents)
		}
		for _, x := range gs {
			g.Rows = append(g.Rows, groupRow{
				Key: x.Key, Incidents: x.Incidents, Previous: x.Previous, Trend: trend(x.Incidents, x.Previous),
				Resolved: fmt.Sprint(x.Resolved), MedianTTR: durStr(x.MedianTTR), Alerts: fmt.Sprint(x.AlertsFiring), Share: share(x.Incidents, most),
			})
		}
		return g
	}
	buckets := func(bs []Bucket) []bucketView {
		most := 1
		for _, b := range bs {
			most = max(most, b.Incidents)
		}
		out := make([]bucketView, len(bs))
		for i, b := range bs {
			out[i] = bucketView{b.Label, b.Incidents, share(b.Incidents, most)}
		}
		return out
	}
	type runbookRow struct {
		RunbookStat
		Rate, MeanRun string
	}
	var runbooks []runbookRow
	for _, r := range rep.Runbooks {
		runbooks = append(runbooks, runbookRow{r, pct(r.SuccessRate), durStr(r.MeanRun)})
	}
	type listRow struct{ ID, Detected, Severity, Services, Status, ToAck, ToResolve, Cause, Runbooks string }
	var list []listRow
	for _, r := range rep.List {
		list = append(list, listRow{r.ID, clock(r.Detected, loc), r.Severity, strings.Join(r.Services, ", "), r.Status,
			durStr(r.TimeToAck), durStr(r.TimeToResolve), r.Cause, strings.Join(r.Runbooks, ", ")})
	}
	noiseText := fmt.Sprintf("%d alert event(s) in (%d of them alerts starting to fire), %d incident(s) out", rep.Noise.AlertsIn, rep.Noise.Firing, rep.Noise.Incidents)
	if p := rep.Noise.PerIncident; p != nil {
		noiseText += fmt.Sprintf("; %.1f alert events per incident", *p)
	}
	if r := rep.Noise.Reduction; r != nil {
		noiseText += fmt.Sprintf("; noise reduction %.1f%% (firing alerts that did not become an incident of their own)", *r*100)
	}
	return execute("report", map[string]any{
		"Service": rep.Service, "Since": clock(rep.Since, loc), "Until": clock(rep.Until, loc), "Zone": rep.Zone,
		"Totals": totals, "Times": times, "AckDefinition": rep.AckDefinition, "Noise": noiseText + ".",
		"Groups": []groupView{
			group("By service", "Service", rep.ByService, true),
			group("By severity", "Severity", rep.BySeverity, false),
			group("By root cause", "Cause (confirmed, else top-ranked)", rep.ByCause, false),
		},
		"Runbooks": runbooks,
		"Cohorts": []map[string]any{
			{"Title": "Incidents by hour of day", "Buckets": buckets(rep.ByHour)},
			{"Title": "Incidents by day of week", "Buckets": buckets(rep.ByWeekday)},
		},
		"Trend": buckets(rep.Trend), "List": list, "Links": links,
	})
}

// share is n/most with two decimals, for CSS bar lengths.
func share(n, most int) string { return fmt.Sprintf("%.2f", float64(n)/float64(most)) }
