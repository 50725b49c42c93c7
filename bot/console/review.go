package console

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"time"

	"github.com/vigilops/vigil/internal/httpx"
	"github.com/vigilops/vigil/review"
)

// The timeline and report pages, and their JSON. Timelines read what Reader
// has; reports need a store that can also list incidents by time and count
// events (review.ReportStore), which store.Store is.

// registerReview adds the timeline and report routes.
func (c *Console) registerReview(mux *http.ServeMux) {
	c.page(mux, "GET /incidents/{id}/timeline", c.pageTimeline)
	c.page(mux, "GET /reports", c.pageReport)
	c.api(mux, "GET /api/v1/incidents/{id}/timeline", c.apiTimeline)
	c.api(mux, "GET /api/v1/reports", c.apiReport)
}

// errNoReports is why reports are missing when the store cannot serve them.
var errNoReports = errors.New("reports need a store that lists incidents by time and counts events")

func (c *Console) timeline(ctx context.Context, id string) (review.Timeline, error) {
	src, err := review.LoadSource(ctx, c.Store, id)
	if err != nil {
		return review.Timeline{}, err
	}
	return review.BuildTimeline(src), nil
}

func (c *Console) pageTimeline(w http.ResponseWriter, r *http.Request) {
	tl, err := c.timeline(r.Context(), r.PathValue("id"))
	if err != nil {
		c.failPage(w, r, err)
		return
	}
	body, err := review.TimelineHTML(tl, time.UTC)
	if err != nil {
		c.failPage(w, r, err)
		return
	}
	c.render(w, r, "timeline.html", map[string]any{"Title": "Timeline: " + tl.Incident.Title, "ID": tl.Incident.ID, "Style": review.Style(), "Body": body})
}

func (c *Console) apiTimeline(w http.ResponseWriter, r *http.Request) {
	tl, err := c.timeline(r.Context(), r.PathValue("id"))
	if err != nil {
		c.fail(w, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, tl)
}

// reportQuery reads ?since=30d&service=S; since defaults to 30d.
func reportQuery(r *http.Request) (review.Query, string, error) {
	since := r.URL.Query().Get("since")
	if since == "" {
		since = "30d"
	}
	period, err := review.ParsePeriod(since)
	if err != nil {
		return review.Query{}, since, err
	}
	now := time.Now()
	return review.Query{Since: now.Add(-period), Until: now, Service: r.URL.Query().Get("service"), Location: time.UTC}, since, nil
}

func (c *Console) report(ctx context.Context, q review.Query) (review.Report, error) {
	st, ok := c.Store.(review.ReportStore)
	if !ok {
		return review.Report{}, errNoReports
	}
	in, err := review.LoadReport(ctx, st, q)
	if err != nil {
		return review.Report{}, err
	}
	return review.BuildReport(in), nil
}

func (c *Console) pageReport(w http.ResponseWriter, r *http.Request) {
	q, since, err := reportQuery(r)
	data := map[string]any{"Title": "Incident report", "Since": since, "Service": q.Service, "Style": review.Style()}
	if err != nil {
		w.WriteHeader(http.StatusUnprocessableEntity)
		data["Err"] = err.Error()
		c.render(w, r, "report.html", data)
		return
	}
	rep, err := c.report(r.Context(), q)
	if err != nil {
		c.failPage(w, r, err)
		return
	}
	var body template.HTML
	if body, err = review.ReportHTML(rep, true); err != nil {
		c.failPage(w, r, err)
		return
	}
	data["Body"] = body
	c.render(w, r, "report.html", data)
}

func (c *Console) apiReport(w http.ResponseWriter, r *http.Request) {
	q, _, err := reportQuery(r)
	if err != nil {
		httpx.WriteError(w, &httpx.Error{Status: http.StatusUnprocessableEntity, Message: "since: " + err.Error()})
		return
	}
	rep, err := c.report(r.Context(), q)
	if errors.Is(err, errNoReports) {
		httpx.WriteError(w, &httpx.Error{Status: http.StatusNotImplemented, Message: err.Error()})
		return
	}
	if err != nil {
		c.fail(w, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, rep)
}
