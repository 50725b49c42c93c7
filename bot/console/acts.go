package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/bot/commands"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/internal/httpx"
	"github.com/vigilops/vigil/store"
	"github.com/vigilops/vigil/workflows/contract"
)

// Acts, input answers and manual runs, from the API and the incident page. Every
// one is checked by the incident's workflow, which answers refusals with their
// reason; the console only establishes who is asking.

func (c *Console) registerActs(mux *http.ServeMux) {
	c.api(mux, "POST /api/v1/incidents/{id}/acts", c.apiAct)
	c.api(mux, "POST /api/v1/incidents/{id}/inputs", c.apiInput)
	c.api(mux, "POST /api/v1/runs", c.apiRun)
	c.page(mux, "POST /incidents/{id}/act", c.pageAct)
	c.page(mux, "POST /incidents/{id}/input", c.pageInput)
}

// ActRequestBody is the body of POST /api/v1/incidents/{id}/acts.
type ActRequestBody struct {
	Act      string `json:"act"`                // ack, assign, escalate, snooze, resolve, abort, note, step
	Text     string `json:"text,omitempty"`     // note, resolve and escalate reasons
	Assignee string `json:"assignee,omitempty"` // assign
	Duration string `json:"duration,omitempty"` // snooze, e.g. "30m"
	RunID    string `json:"run_id,omitempty"`   // step
	StepID   string `json:"step_id,omitempty"`  // step
	Choice   string `json:"choice,omitempty"`   // step: rerun | mark-done
	User     string `json:"user,omitempty"`     // development mode only
}

func (c *Console) apiAct(w http.ResponseWriter, r *http.Request) {
	var body ActRequestBody
	if err := httpx.DecodeJSON(r, &body); err != nil {
		httpx.WriteError(w, err)
		return
	}
	actor, problems := c.apiActor(r, body.User)
	req := contract.ActRequest{Actor: actor, Text: body.Text, Assignee: body.Assignee, RunID: body.RunID, StepID: body.StepID, Choice: body.Choice}
	if body.Duration != "" {
		d, err := time.ParseDuration(body.Duration)
		if err != nil {
			problems = append(problems, `duration: "`+body.Duration+`" is not a duration (e.g. 30m)`)
		}
		req.Duration = d
	}
	known := false
	for _, a := range contract.Acts {
		known = known || a == body.Act
	}
	if !known {
		problems = append(problems, "act: must be one of "+strings.Join(contract.Acts, ", "))
	}
	if len(problems) > 0 {
		httpx.WriteError(w, &httpx.Error{Status: http.StatusUnprocessableEntity, Message: "invalid act", Problems: problems})
		return
	}
	c.answer(w, r, func(ctx context.Context, id string) (contract.Answer, error) {
		return c.Decider.Act(ctx, id, body.Act, req)
	})
}

// InputRequestBody is the body of POST /api/v1/incidents/{id}/inputs.
type InputRequestBody struct {
	ProposalID string            `json:"proposal_id"`
	Answers    map[string]string `json:"answers"`
	User       string            `json:"user,omitempty"`
}

func (c *Console) apiInput(w http.ResponseWriter, r *http.Request) {
	var body InputRequestBody
	if err := httpx.DecodeJSON(r, &body); err != nil {
		httpx.WriteError(w, err)
		return
	}
	actor, problems := c.apiActor(r, body.User)
	if body.ProposalID == "" {
		problems = append(problems, `proposal_id: is required (e.g. "P2")`)
	}
	if len(body.Answers) == 0 {
		problems = append(problems, `answers: give at least one, e.g. {"replicas": "6"}`)
	}
	if len(problems) > 0 {
		httpx.WriteError(w, &httpx.Error{Status: http.StatusUnprocessableEntity, Message: "invalid input answers", Problems: problems})
		return
	}
	c.answer(w, r, func(ctx context.Context, id string) (contract.Answer, error) {
		return c.Decider.Input(ctx, id, contract.InputRequest{ProposalID: body.ProposalID, Answers: body.Answers, Actor: actor})
	})
}

// RunRequestBody is the body of POST /api/v1/runs: a manual run, proposed
// under the same approval policy as any other (the requester cannot approve
// it unless the runbook allows self-approval).
type RunRequestBody struct {
	Runbook string `json:"runbook"`
	Service string `json:"service"`
	User    string `json:"user,omitempty"`
}

func (c *Console) apiRun(w http.ResponseWriter, r *http.Request) {
	var body RunRequestBody
	if err := httpx.DecodeJSON(r, &body); err != nil {
		httpx.WriteError(w, err)
		return
	}
	actor, problems := c.apiActor(r, body.User)
	if body.Runbook == "" {
		problems = append(problems, "runbook: is required (a runbook id, e.g. restart-systemd-service)")
	}
	if body.Service == "" {
		problems = append(problems, "service: is required (the service to run it for)")
	}
	if len(problems) > 0 {
		httpx.WriteError(w, &httpx.Error{Status: http.StatusUnprocessableEntity, Message: "invalid run request", Problems: problems})
		return
	}
	if c.Runner == nil {
		httpx.WriteError(w, &httpx.Error{Status: http.StatusNotImplemented, Message: "manual runs are not available on this Vigil"})
		return
	}
	id, err := c.Runner.RequestRun(r.Context(), body.Runbook, body.Service, actor)
	if err != nil {
		c.fail(w, err)
		return
	}
	httpx.WriteJSON(w, http.StatusAccepted, map[string]string{
		"incident": id, "message": "The run of " + body.Runbook + " for " + body.Service + " was requested; it waits for an approver other than you in " + id + ".",
	})
}

// apiActor is the authenticated caller; in production a body user that is not
// the caller is a mistake to report, not an identity to take.
func (c *Console) apiActor(r *http.Request, given string) (incident.Actor, []string) {
	actor := c.actor(r, "api", given)
	if given != "" && given != actor.User {
		return actor, []string{"user: is set by authentication; omit it (you are " + actor.User + ")"}
	}
	return actor, nil
}

// answer runs f on the incident of the path and writes its answer or refusal.
func (c *Console) answer(w http.ResponseWriter, r *http.Request, f func(context.Context, string) (contract.Answer, error)) {
	id := r.PathValue("id")
	if _, err := c.Store.Incident(r.Context(), id); err != nil {
		c.fail(w, err)
		return
	}
	res, err := f(r.Context(), id)
	if err != nil {
		c.fail(w, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, res)
}

// pageAct handles the incident page's act buttons (ack, escalate, resolve,
// note, snooze, abort).
func (c *Console) pageAct(w http.ResponseWriter, r *http.Request) {
	c.pageDo(w, r, func(ctx context.Context, id string, f url.Values, actor incident.Actor) (contract.Answer, error) {
		req := contract.ActRequest{Actor: actor, Text: strings.TrimSpace(f.Get("text"))}
		if d := f.Get("duration"); d != "" {
			dur, err := time.ParseDuration(d)
			if err != nil {
				return contract.Answer{}, &contract.Refusal{Kind: contract.RefusedBadRequest, Message: d + " is not a duration (e.g. 30m)"}
			}
			req.Duration = dur
		}
		return c.Decider.Act(ctx, id, f.Get("act"), req)
	})
}

// pageInput handles a proposal's input form: fields named answer_NAME.
func (c *Console) pageInput(w http.ResponseWriter, r *http.Request) {
	c.pageDo(w, r, func(ctx context.Context, id string, f url.Values, actor incident.Actor) (contract.Answer, error) {
		answers := map[string]string{}
		for k, v := range f {
			if name, ok := strings.CutPrefix(k, "answer_"); ok && len(v) > 0 && strings.TrimSpace(v[0]) != "" {
				answers[name] = strings.TrimSpace(v[0])
			}
		}
		return c.Decider.Input(ctx, id, contract.InputRequest{ProposalID: f.Get("proposal"), Answers: answers, Actor: actor})
	})
}

// pageDecide handles every button of the thread: the value is a bot.Action ID
// (a proposal's or a run gate's approve/reject, an interrupted step's choice),
// applied exactly as a Slack press is.
func (c *Console) pageDecide(w http.ResponseWriter, r *http.Request) {
	c.pageDo(w, r, func(ctx context.Context, id string, f url.Values, actor incident.Actor) (contract.Answer, error) {
		p, err := bot.ParseAction(f.Get("action"))
		if err != nil {
			return contract.Answer{}, &contract.Refusal{Kind: contract.RefusedBadRequest, Message: err.Error()}
		}
		return commands.Apply(ctx, c.Decider, c.Decider, id, p, f.Get("comment"), actor)
	})
}

// pageDo reads a form, runs f for the incident of the path, and returns to the
// incident page with the answer or the refusal shown.
func (c *Console) pageDo(w http.ResponseWriter, r *http.Request, f func(context.Context, string, url.Values, incident.Actor) (contract.Answer, error)) {
	id := r.PathValue("id")
	back := "/incidents/" + url.PathEscape(id)
	if err := r.ParseForm(); err != nil {
		http.Redirect(w, r, back+"?err="+url.QueryEscape("could not read the form: "+err.Error()), http.StatusSeeOther)
		return
	}
	res, err := func() (contract.Answer, error) {
		if _, err := c.Store.Incident(r.Context(), id); err != nil {
			return contract.Answer{}, err
		}
		return f(r.Context(), id, r.PostForm, c.actor(r, "console", ""))
	}()
	if err != nil {
		var refusal *contract.Refusal
		msg := "internal error; see Vigil's log"
		switch {
		case errors.As(err, &refusal):
			msg = refusal.Message
		case errors.Is(err, contract.ErrIncidentClosed), errors.Is(err, store.ErrNotFound):
			msg = err.Error()
		default:
			c.Logger.Error("console", "incident", id, "err", err)
		}
		http.Redirect(w, r, back+"?err="+url.QueryEscape(msg), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, back+"?msg="+url.QueryEscape(res.Message), http.StatusSeeOther)
}
