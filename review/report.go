package review

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/store"
)

// Query selects what a report covers.
type Query struct {
	Since, Until time.Time
	// Service keeps only incidents involving it (and its alerts); "" keeps all.
	Service string
	// Location is the zone for day buckets and the hour-of-day and day-of-week
	// cohorts; UTC when nil.
	Location *time.Location
}

// ReportInput is what a report is derived from: the incidents Vigil opened in
// the window and in the window of the same length before it (for trends), and
// the alert events received in each.
type ReportInput struct {
	Query
	Incidents, Previous []Source
	Events, PrevEvents  []store.EventCount
}

// AckDefinition says what the report counts as an acknowledgement.
const AckDefinition = "An incident counts as acknowledged at its first explicit acknowledgement, or at the first human decision on one of its proposals if that came first."

// Report summarises the incidents of a window.
type Report struct {
	Since   time.Time `json:"since"`
	Until   time.Time `json:"until"`
	Service string    `json:"service,omitempty"`
	Zone    string    `json:"zone"`

	Incidents int `json:"incidents"`
	Previous  int `json:"previous"` // in the window before
	Resolved  int `json:"resolved"`
	Escalated int `json:"escalated"` // escalated at least once
	Open      int `json:"open"`      // not resolved (yet)

	// MTTA is detection to acknowledgement (see AckDefinition); TimeToApprove is
	// how long an approved proposal waited for its approval; MTTR is detection
	// to resolution.
	MTTA          Stat   `json:"mtta"`
	TimeToApprove Stat   `json:"time_to_approve"`
	MTTR          Stat   `json:"mttr"`
	AckDefinition string `json:"ack_definition"`

	Noise Noise `json:"noise"`

	ByService  []Group       `json:"by_service"`
	BySeverity []Group       `json:"by_severity"`
	ByCause    []Group       `json:"by_cause"`
	Runbooks   []RunbookStat `json:"runbooks"`

	ByHour    []Bucket `json:"by_hour"`    // 24, by the hour the incident was detected
	ByWeekday []Bucket `json:"by_weekday"` // 7, Monday first
	// Trend counts incidents per day, or per week when the window is longer
	// than 62 days.
	Trend []Bucket `json:"trend"`

	List []IncidentRow `json:"list"`

	loc *time.Location // Zone, for rendering
}

// Stat summarises durations. Mean, Median and P90 are nil when N is 0.
type Stat struct {
	N      int       `json:"n"`
	Mean   *Duration `json:"mean_s,omitempty"`
	Median *Duration `json:"median_s,omitempty"`
	P90    *Duration `json:"p90_s,omitempty"`
}

// Noise sets what came in against what came out. AlertsIn counts alert events
// (an alert starting or resolving, deduplicated); Firing those that were an
// alert starting to fire. Reduction is the share of firing alerts that did not
// become an incident of their own: 1 - incidents/firing, nil without alerts.
type Noise struct {
	AlertsIn     int      `json:"alerts_in"`
	Firing       int      `json:"firing"`
	Incidents    int      `json:"incidents"`
	PerIncident  *float64 `json:"alerts_per_incident,omitempty"`
	Reduction    *float64 `json:"reduction,omitempty"`
	PrevAlertsIn int      `json:"previous_alerts_in"`
}

// Group is a cohort of incidents sharing a value.
type Group struct {
	Key          string    `json:"key"`
	Incidents    int       `json:"incidents"`
	Previous     int       `json:"previous"`
	Resolved     int       `json:"resolved"`
	MedianTTR    *Duration `json:"median_ttr_s,omitempty"`
	AlertsFiring int       `json:"alerts_firing,omitempty"` // by service only
}

// RunbookStat is what happened to one runbook's proposals and runs.
type RunbookStat struct {
	Runbook   string `json:"runbook"`
	Proposed  int    `json:"proposed"`
	Approved  int    `json:"approved"`
	Rejected  int    `json:"rejected"`
	Expired   int    `json:"expired"`
	Runs      int    `json:"runs"`
	Succeeded int    `json:"succeeded"`
	Failed    int    `json:"failed"` // runs that ended any other way
	// SuccessRate is Succeeded/Runs of the runs that finished; nil without any.
	SuccessRate *float64  `json:"success_rate,omitempty"`
	MeanRun     *Duration `json:"mean_run_s,omitempty"`
}

// Bucket is a count of incidents.
type Bucket struct {
	Label     string    `json:"label"`
	Start     time.Time `json:"start,omitzero"`
	Incidents int       `json:"incidents"`
}

// IncidentRow is one incident of the window.
type IncidentRow struct {
	ID            string    `json:"id"`
	Title         string    `json:"title"`
	Severity      string    `json:"severity"`
	Services      []string  `json:"services"`
	Status        string    `json:"status"`
	Detected      time.Time `json:"detected"`
	TimeToAck     *Duration `json:"time_to_ack_s,omitempty"`
	TimeToResolve *Duration `json:"time_to_resolve_s,omitempty"`
	Cause         string    `json:"cause"`
	Runbooks      []string  `json:"runbooks"`
}

// noneKey groups incidents without a value.
const noneKey = "(none)"

// reviewed is an incident with what the report needs from its trail.
type reviewed struct {
	inc       incident.Incident
	m         Milestones
	cause     string
	escalated bool
	runbooks  []string // run, in order
}

func review(src Source) reviewed {
	tl := BuildTimeline(src)
	rv := reviewed{inc: src.Incident, m: tl.Milestones, cause: cause(src)}
	for _, e := range tl.Entries {
		rv.escalated = rv.escalated || e.Kind == KindEscalation
	}
	for _, r := range decode(src.Audit) {
		if run, ok := r.details.(*audit.RunStart); ok {
			rv.runbooks = append(rv.runbooks, run.Runbook)
		}
	}
	return rv
}

// cause is the incident's root cause: one a human confirmed (cause.confirmed),
// else the top candidate of the latest ranking.
func cause(src Source) string {
	top := ""
	for _, r := range decode(src.Audit) {
		if r.Action == "cause.confirmed" { // not written by this version; read if present
			return r.str("component")
		}
		if ranked, ok := r.details.(*audit.Ranked); ok {
			top = ranked.Top
		}
	}
	if top == "" && len(src.Incident.Candidates) > 0 {
		top = src.Incident.Candidates[0].Component
	}
	return cmp.Or(top, noneKey)
}

// BuildReport derives a report from its input.
func BuildReport(in ReportInput) Report {
	loc := in.Location
	if loc == nil {
		loc = time.UTC
	}
	keep := func(srcs []Source) []reviewed {
		var out []reviewed
		for _, s := range srcs {
			if in.Service == "" || slices.Contains(s.Incident.Services, in.Service) {
				out = append(out, review(s))
			}
		}
		return out
	}
	cur, prev := keep(in.Incidents), keep(in.Previous)
	rep := Report{
		Since: in.Since, Until: in.Until, Service: in.Service, Zone: loc.String(),
		Incidents: len(cur), Previous: len(prev), AckDefinition: AckDefinition,
		Runbooks: []RunbookStat{}, List: []IncidentRow{}, loc: loc,
	}
	var tta, ttap, ttr []time.Duration
	for _, rv := range cur {
		switch {
		case rv.inc.Status == incident.StatusResolved:
			rep.Resolved++
		default:
			rep.Open++
		}
		if rv.escalated {
			rep.Escalated++
		}
		if d := rv.m.TimeToAck; d != nil {
			tta = append(tta, time.Duration(*d))
		}
		if d := rv.m.ApprovalWaited; d != nil {
			ttap = append(ttap, time.Duration(*d))
		}
		if d := rv.m.TimeToResolve; d != nil {
			ttr = append(ttr, time.Duration(*d))
		}
		rep.List = append(rep.List, IncidentRow{
			ID: rv.inc.ID, Title: rv.inc.Title, Severity: cmp.Or(rv.inc.Severity, noneKey), Services: nonNil(rv.inc.Services),
			Status: string(rv.inc.Status), Detected: rv.inc.DetectedAt, TimeToAck: rv.m.TimeToAck, TimeToResolve: rv.m.TimeToResolve,
			Cause: rv.cause, Runbooks: nonNil(rv.runbooks),
		})
	}
	rep.MTTA, rep.TimeToApprove, rep.MTTR = stat(tta), stat(ttap), stat(ttr)
	rep.Noise = noise(in, len(cur))
	rep.ByService = groups(cur, prev, func(rv reviewed) []string { return rv.inc.Services })
	rep.BySeverity = groups(cur, prev, func(rv reviewed) []string { return []string{rv.inc.Severity} })
	rep.ByCause = groups(cur, prev, func(rv reviewed) []string { return []string{rv.cause} })
	firing := map[string]int{}
	for _, e := range in.Events {
		if e.Status == incident.AlertFiring {
			firing[cmp.Or(e.Service, noneKey)] += e.Count
		}
	}
	for i := range rep.ByService {
		rep.ByService[i].AlertsFiring = firing[rep.ByService[i].Key]
	}
	var curSrc []Source
	for _, s := range in.Incidents {
		if in.Service == "" || slices.Contains(s.Incident.Services, in.Service) {
			curSrc = append(curSrc, s)
		}
	}
	rep.Runbooks = runbookStats(curSrc)
	rep.ByHour, rep.ByWeekday, rep.Trend = cohorts(in.Query, loc, cur)
	return rep
}

func stat(ds []time.Duration) Stat {
	s := Stat{N: len(ds)}
	if len(ds) == 0 {
		return s
	}
	slices.Sort(ds)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	mean, median, p90 := Duration(sum/time.Duration(len(ds))), Duration(rank(ds, 0.5)), Duration(rank(ds, 0.9))
	s.Mean, s.Median, s.P90 = &mean, &median, &p90
	return s
}

// rank is the nearest-rank percentile of sorted durations.
func rank(sorted []time.Duration, p float64) time.Duration {
	i := int(p*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func noise(in ReportInput, incidents int) Noise {
	n := Noise{Incidents: incidents}
	count := func(events []store.EventCount) (all, firing int) {
		for _, e := range events {
			if in.Service != "" && e.Service != in.Service {
				continue
			}
			all += e.Count
			if e.Status == incident.AlertFiring {
				firing += e.Count
			}
		}
		return all, firing
	}
	n.AlertsIn, n.Firing = count(in.Events)
	n.PrevAlertsIn, _ = count(in.PrevEvents)
	if incidents > 0 {
		per := float64(n.AlertsIn) / float64(incidents)
		n.PerIncident = &per
	}
	if n.Firing > 0 {
		red := 1 - float64(incidents)/float64(n.Firing)
		n.Reduction = &red
	}
	return n
}

// groups counts incidents by the values keys gives each, biggest first.
func groups(cur, prev []reviewed, keys func(reviewed) []string) []Group {
	by := map[string]*Group{}
	ttr := map[string][]time.Duration{}
	get := func(k string) *Group {
		k = cmp.Or(k, noneKey)
		if by[k] == nil {
			by[k] = &Group{Key: k}
		}
		return by[k]
	}
	each := func(rv reviewed, f func(*Group)) {
		ks := keys(rv)
		if len(ks) == 0 {
			ks = []string{""}
		}
		for _, k := range ks {
			f(get(k))
		}
	}
	for _, rv := range cur {
		each(rv, func(g *Group) {
			g.Incidents++
			if rv.inc.Status == incident.StatusResolved {
				g.Resolved++
			}
			if d := rv.m.TimeToResolve; d != nil {
				ttr[g.Key] = append(ttr[g.Key], time.Duration(*d))
			}
		})
	}
	for _, rv := range prev {
		each(rv, func(g *Group) { g.Previous++ })
	}
	out := []Group{}
	for _, k := range slices.Sorted(maps.Keys(by)) {
		g := *by[k]
		if s := stat(ttr[k]); s.Median != nil {
			g.MedianTTR = s.Median
		}
		out = append(out, g)
	}
	slices.SortStableFunc(out, func(a, b Group) int { return b.Incidents - a.Incidents })
	return out
}

// runbookStats follows each runbook's proposals, decisions and runs through the
// incidents' trails.
func runbookStats(srcs []Source) []RunbookStat {
	by := map[string]*RunbookStat{}
	var durations = map[string][]time.Duration{}
	get := func(rb string) *RunbookStat {
		rb = cmp.Or(rb, noneKey)
		if by[rb] == nil {
			by[rb] = &RunbookStat{Runbook: rb}
		}
		return by[rb]
	}
	for _, src := range srcs {
		runbookOf := map[string]string{} // proposal → runbook
		started := map[string]time.Time{}
		runOf := map[string]string{} // run → runbook
		for _, r := range decode(src.Audit) {
			switch d := r.details.(type) {
			case *audit.Offered:
				runbookOf[d.Proposal] = d.Runbook
				get(d.Runbook).Proposed++
			case *audit.Decision:
				if d.Decision == incident.Reject {
					get(runbookOf[d.Proposal]).Rejected++
				} else {
					get(runbookOf[d.Proposal]).Approved++
				}
			case *audit.Expired:
				get(runbookOf[d.Proposal]).Expired++
			case *audit.RunStart:
				runOf[d.Run], started[d.Run] = d.Runbook, r.at
				get(d.Runbook).Runs++
			case *audit.RunEnd:
				run := d.Run
				st := get(runOf[run])
				if d.Status == string(incident.ProposalSucceeded) {
					st.Succeeded++
				} else {
					st.Failed++
				}
				if !started[run].IsZero() {
					durations[st.Runbook] = append(durations[st.Runbook], r.at.Sub(started[run]))
				}
			}
		}
	}
	out := []RunbookStat{}
	for _, k := range slices.Sorted(maps.Keys(by)) {
		st := *by[k]
		if done := st.Succeeded + st.Failed; done > 0 {
			rate := float64(st.Succeeded) / float64(done)
			st.SuccessRate = &rate
		}
		st.MeanRun = stat(durations[k]).Mean
		out = append(out, st)
	}
	return out
}

// cohorts buckets incidents by hour of day and day of week of detection, and
// per day (or week) over the window.
func cohorts(q Query, loc *time.Location, cur []reviewed) (hours, weekdays, trend []Bucket) {
	hours = make([]Bucket, 24)
	for h := range hours {
		hours[h].Label = time.Date(2000, 1, 1, h, 0, 0, 0, time.UTC).Format("15h")
	}
	weekdays = make([]Bucket, 7)
	for i := range weekdays {
		weekdays[i].Label = time.Weekday((i + 1) % 7).String()[:3]
	}
	// Buckets are calendar days (or weeks from Monday) in loc, whatever their
	// length in hours across a DST change.
	days, layout := 1, "Jan 2"
	start := startOfDay(q.Since, loc)
	if q.Until.Sub(q.Since) > 62*24*time.Hour {
		days, layout = 7, "wk of Jan 2"
		start = start.AddDate(0, 0, -((int(start.Weekday()) + 6) % 7))
	}
	for t := start; t.Before(q.Until); t = t.AddDate(0, 0, days) {
		trend = append(trend, Bucket{Label: t.Format(layout), Start: t})
	}
	for _, rv := range cur {
		at := rv.m.Detected
		if at.IsZero() {
			continue
		}
		lt := at.In(loc)
		hours[lt.Hour()].Incidents++
		weekdays[(int(lt.Weekday())+6)%7].Incidents++
		i := 0
		for i+1 < len(trend) && !at.Before(trend[i+1].Start) {
			i++
		}
		if len(trend) > 0 {
			trend[i].Incidents++
		}
	}
	return hours, weekdays, trend
}

func startOfDay(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// location is the zone the report was built for.
func (r Report) location() *time.Location {
	if r.loc == nil {
		return time.UTC
	}
	return r.loc
}
