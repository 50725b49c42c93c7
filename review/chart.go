package review

import (
	"fmt"
	"html"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/incident"
)

// Chart shows an incident's signals on one time axis: a row per piece of
// evidence, drawn as its metric series where it has one, else as the intervals
// its alert was firing; and marks for the acts that changed the course.
type Chart struct {
	Start time.Time   `json:"start"`
	End   time.Time   `json:"end"`
	Rows  []ChartRow  `json:"rows"`
	Marks []ChartMark `json:"marks"`
}

// ChartRow is one piece of evidence.
type ChartRow struct {
	Label     string           `json:"label"`
	Series    *incident.Series `json:"series,omitempty"`
	Intervals []Interval       `json:"intervals,omitempty"`
}

// Interval is a span an alert was firing. Open intervals were still firing when
// the chart ends.
type Interval struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Open  bool      `json:"open,omitempty"`
}

// ChartMark is an act drawn as a vertical line.
type ChartMark struct {
	At    time.Time `json:"at"`
	Label string    `json:"label"`
	Kind  string    `json:"kind"`
}

// markKinds are the entries that become marks.
var markKinds = []string{KindAck, KindDecision, KindEscalation, KindResolution}

func buildChart(inc *incident.Incident, recs []record, entries []Entry) Chart {
	c := Chart{Rows: []ChartRow{}, Marks: []ChartMark{}}
	var times []time.Time
	for _, e := range entries {
		times = append(times, e.At)
		if slices.Contains(markKinds, e.Kind) || (e.Kind == KindRun && e.Status != "") {
			c.Marks = append(c.Marks, ChartMark{At: e.At, Label: markLabel(e), Kind: e.Kind})
		}
	}

	// Alert transitions per evidence, in chain order; evidence in the order it
	// was first seen, the projection's first.
	type change struct {
		at     time.Time
		firing bool
	}
	changes := map[string][]change{}
	var order []string
	for _, ev := range inc.Evidence {
		order = append(order, ev.ID)
	}
	for _, r := range recs {
		al, ok := r.details.(*audit.Alert)
		if !ok {
			continue
		}
		if !slices.Contains(order, al.Evidence) {
			order = append(order, al.Evidence)
		}
		changes[al.Evidence] = append(changes[al.Evidence], change{r.at, al.Status == incident.AlertFiring})
	}
	evidence := map[string]incident.Evidence{}
	for _, ev := range inc.Evidence {
		evidence[ev.ID] = ev
	}
	for _, id := range order {
		ev := evidence[id]
		row := ChartRow{Label: oneLine(strings.TrimSpace(id+" "+ev.Summary), 60)}
		if s := ev.Series; s != nil && len(s.Times) == len(s.Values) && finite(s.Values) >= 2 {
			row.Series = s
			times = append(times, time.Unix(s.Times[0], 0).UTC(), time.Unix(s.Times[len(s.Times)-1], 0).UTC())
		}
		var open *Interval
		for i, ch := range changes[id] {
			switch {
			case ch.firing && open == nil:
				start := ch.at
				// The first firing started when the alert says it did.
				if i == 0 && !ev.Start.IsZero() && ev.Start.Before(start) {
					start = ev.Start
				}
				open = &Interval{Start: start}
			case !ch.firing && open != nil:
				end := ch.at
				if i == len(changes[id])-1 && !ev.End.IsZero() && ev.End.After(open.Start) {
					end = ev.End
				}
				open.End = end
				row.Intervals = append(row.Intervals, *open)
				open = nil
			}
		}
		if open != nil {
			open.Open = true
			row.Intervals = append(row.Intervals, *open)
		}
		for _, iv := range row.Intervals {
			times = append(times, iv.Start)
			if !iv.End.IsZero() {
				times = append(times, iv.End)
			}
		}
		if row.Series != nil || len(row.Intervals) > 0 {
			c.Rows = append(c.Rows, row)
		}
	}
	times = slices.DeleteFunc(times, time.Time.IsZero)
	if len(times) == 0 {
		return c
	}
	c.Start, c.End = slices.MinFunc(times, time.Time.Compare), slices.MaxFunc(times, time.Time.Compare)
	if c.End.Sub(c.Start) < time.Minute {
		c.End = c.Start.Add(time.Minute)
	}
	for i := range c.Rows {
		for j := range c.Rows[i].Intervals {
			if iv := &c.Rows[i].Intervals[j]; iv.Open {
				iv.End = c.End
			}
		}
	}
	return c
}

func markLabel(e Entry) string {
	switch e.Kind {
	case KindAck:
		return "acked"
	case KindDecision:
		// "alice approved P1 (runbook)" → "approved P1"
		f := strings.Fields(e.Title)
		for i, w := range f {
			if (w == "approved" || w == "rejected") && i+1 < len(f) {
				return w + " " + f[i+1]
			}
		}
		if len(f) > 0 {
			return f[0] + " approved"
		}
	case KindRun:
		return "run " + e.Status
	case KindEscalation:
		return "escalated"
	case KindResolution:
		return strings.ToLower(e.Title)
	}
	return e.Kind
}

// SVG geometry, in user units.
const (
	svgWidth  = 760.0
	svgLabelW = 190.0 // left column for row labels
	svgRight  = 16.0
	svgTop    = 48.0 // room for three lines of mark labels
	svgRowH   = 30.0
	svgAxisH  = 26.0
	svgCharW  = 5.6 // average width of a label character at 11px
)

// SVG draws the chart as an inline SVG document, or "" when there is nothing
// to draw. Times on the axis are in loc (UTC when nil). The output depends only
// on the chart, so it can be compared byte for byte.
func (c Chart) SVG(loc *time.Location) string {
	if len(c.Rows) == 0 {
		return ""
	}
	if loc == nil {
		loc = time.UTC
	}
	plotW := svgWidth - svgLabelW - svgRight
	total := c.End.Sub(c.Start).Seconds()
	x := func(t time.Time) float64 {
		f := t.Sub(c.Start).Seconds() / total
		return svgLabelW + math.Max(0, math.Min(1, f))*plotW
	}
	bottom := svgTop + float64(len(c.Rows))*svgRowH
	height := bottom + svgAxisH
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="vigil-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="Signals of the incident over time">`,
		svgWidth, height, svgWidth, height)
	b.WriteString(`<title>Signals of the incident over time</title>`)
	for i, row := range c.Rows {
		top := svgTop + float64(i)*svgRowH
		fmt.Fprintf(&b, `<g class="row"><rect class="band" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, svgLabelW, top+2, plotW, svgRowH-4)
		fmt.Fprintf(&b, `<text class="label" x="4" y="%.1f">%s</text>`, top+svgRowH/2+4, html.EscapeString(oneLine(row.Label, 30)))
		for _, iv := range row.Intervals {
			cls := "firing"
			if iv.Open {
				cls += " open"
			}
			x1, x2 := x(iv.Start), x(iv.End)
			fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s</title></rect>`,
				cls, x1, top+8, math.Max(x2-x1, 1.5), svgRowH-16, html.EscapeString(intervalTitle(iv, loc)))
		}
		if s := row.Series; s != nil {
			b.WriteString(seriesPath(s, x, top+5, svgRowH-10))
		}
		b.WriteString(`</g>`)
	}
	// Mark labels go on the first of three lines where they do not overlap the
	// label before them; a mark with no room keeps its line and tooltip only.
	var lineEnd [3]float64
	for _, m := range c.Marks {
		mx := x(m.At)
		fmt.Fprintf(&b, `<g class="mark %s"><line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, m.Kind, mx, svgTop-4, mx, bottom)
		for i := range lineEnd {
			if mx+2 >= lineEnd[i] {
				lineEnd[i] = mx + 2 + float64(len(m.Label))*svgCharW + 6
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s</text>`, mx+2, 12+float64(i)*13, html.EscapeString(m.Label))
				break
			}
		}
		fmt.Fprintf(&b, `<title>%s</title></g>`, html.EscapeString(m.Label+" at "+m.At.In(loc).Format("15:04:05 MST")))
	}
	layout := "15:04"
	switch span := c.End.Sub(c.Start); {
	case span <= 10*time.Minute:
		layout = "15:04:05"
	case span > 24*time.Hour:
		layout = "Jan 2 15:04"
	}
	for i := range 5 {
		t := c.Start.Add(time.Duration(float64(c.End.Sub(c.Start)) * float64(i) / 4))
		tx := x(t)
		anchor := "middle"
		switch i {
		case 0:
			anchor = "start"
		case 4:
			anchor = "end"
		}
		fmt.Fprintf(&b, `<g class="tick"><line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/><text x="%.1f" y="%.1f" text-anchor="%s">%s</text></g>`,
			tx, bottom, tx, bottom+4, tx, bottom+17, anchor, t.In(loc).Format(layout))
	}
	fmt.Fprintf(&b, `<text class="zone" x="4" y="%.1f">%s</text>`, bottom+17, html.EscapeString(c.Start.In(loc).Format("2006-01-02 MST")))
	b.WriteString(`</svg>`)
	return b.String()
}

func intervalTitle(iv Interval, loc *time.Location) string {
	s := "firing " + iv.Start.In(loc).Format("15:04:05")
	if iv.Open {
		return s + " – still firing"
	}
	return s + " – " + iv.End.In(loc).Format("15:04:05") + " (" + Duration(iv.End.Sub(iv.Start)).String() + ")"
}

// finite counts the values that can be drawn (not NaN or infinite).
func finite(vs []float64) int {
	n := 0
	for _, v := range vs {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			n++
		}
	}
	return n
}

// seriesPath draws a series as a line scaled to the row's band, skipping values
// that are not finite.
func seriesPath(s *incident.Series, x func(time.Time) float64, top, h float64) string {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range s.Values {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	span := hi - lo
	if span == 0 {
		span = 1
	}
	var pts []string
	for i, t := range s.Times {
		if v := s.Values[i]; !math.IsNaN(v) && !math.IsInf(v, 0) {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(time.Unix(t, 0)), top+h-(v-lo)/span*h))
		}
	}
	title := fmt.Sprintf("%s: %g to %g", s.Name, lo, hi)
	return fmt.Sprintf(`<polyline class="series" points="%s"><title>%s</title></polyline>`, strings.Join(pts, " "), html.EscapeString(title))
}
