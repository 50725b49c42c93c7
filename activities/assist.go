package activities

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/vigilops/vigil/assist"
	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/incident"
)

// AssistStore is the part of the store the assistant uses: the audit trail,
// to record every exchange with the model and to total what an incident's
// model requests have spent.
type AssistStore interface {
	AppendAudit(ctx context.Context, e audit.Entry) (audit.Record, error)
	AuditTrail(ctx context.Context, incidentID string) ([]audit.Record, error)
}

// Assist holds the investigation assistant's activities. They are kept apart
// from Activities because only they talk to a model, and they hold nothing
// that could act: no workflow client, no chat surface, no step runner. Their
// only outputs are a message for the caller to show and an audit record.
type Assist struct {
	// Assistant must be set; without a model configured it is an assistant
	// that is off, and every brief and answer is Vigil's own.
	Assistant *assist.Assistant
	Store     AssistStore
	Logger    *slog.Logger
}

// Audit actions of the assistant. Their details hold the redacted prompt, the
// model's outputs, the validation problems, the model, tokens, latency and
// outcome (see assist.Exchange), plus what was shown ("brief" or "answer").
const (
	ActionAssistBrief = "assist.brief"
	ActionAssistAsk   = "assist.ask"
)

// actorAssist records briefs, which no person asked for.
const actorAssist = "system:assist"

// BriefInput asks for an incident's brief.
type BriefInput struct {
	// Key is unique per brief and the same on retries: the brief's audit
	// record is appended under it, and a retry returns the brief that record
	// holds instead of asking the model again.
	Key      string
	Incident incident.Incident
}

// BriefResult is the brief to post to the incident's thread (under the key
// "brief", so each new brief edits the last) and how it was obtained.
type BriefResult struct {
	Message bot.Message
	// Outcome is an assist.Outcome: ok, repaired or cached when the model
	// wrote the brief; otherwise the message is Vigil's own and says why.
	Outcome string
}

// BriefIncident writes the incident's brief with the model, or Vigil's own
// when the assistant is off or its answer cannot be used, and records the
// exchange in the audit trail (except when off: then nothing left the
// process). It fails only when the audit trail cannot be read or written, or
// the activity's context ends; a model failure is an outcome, not an error.
func (s *Assist) BriefIncident(ctx context.Context, in BriefInput) (BriefResult, error) {
	inc := &in.Incident
	spent := 0
	if s.Assistant.Enabled() {
		trail, err := s.Store.AuditTrail(ctx, inc.ID)
		if err != nil {
			return BriefResult{}, fmt.Errorf("brief of %s: %w", inc.ID, err)
		}
		spent = spentIn(trail)
	}
	res, err := s.Assistant.Brief(ctx, inc, spent)
	if err != nil {
		return BriefResult{}, fmt.Errorf("brief of %s: %w", inc.ID, err)
	}
	shown := assistRecord{Exchange: res.Exchange, Brief: &res.Brief}
	if res.Exchange.Outcome != assist.OutcomeOff {
		if shown, err = s.record(ctx, in.Key, inc.ID, actorAssist, ActionAssistBrief, shown, nil); err != nil {
			return BriefResult{}, err
		}
	}
	s.logger().Info("incident brief", "incident", inc.ID, "outcome", shown.Outcome, "tokens", shown.Tokens, "latency_ms", shown.LatencyMS)
	b := briefText(*shown.Brief)
	m := bot.OwnBrief(b, shown.Reason)
	if shown.Outcome.ByModel() {
		m = bot.ModelBrief(b, shown.Model)
	}
	return BriefResult{Message: m, Outcome: string(shown.Outcome)}, nil
}

// Ask answers a question asked in an incident's thread from the incident's
// evidence and audit timeline, with citations, and records the exchange under
// the asker's name. It implements the chat commands' Asker. The answer is a
// message and nothing else: it cannot change the incident.
func (s *Assist) Ask(ctx context.Context, inc incident.Incident, question string, actor incident.Actor) (bot.Message, error) {
	var trail []audit.Record
	if s.Assistant.Enabled() {
		var err error
		if trail, err = s.Store.AuditTrail(ctx, inc.ID); err != nil {
			return bot.Message{}, fmt.Errorf("ask about %s: %w", inc.ID, err)
		}
	}
	res, err := s.Assistant.Ask(ctx, &inc, timeline(trail), question, spentIn(trail))
	if err != nil {
		return bot.Message{}, fmt.Errorf("ask about %s: %w", inc.ID, err)
	}
	shown := assistRecord{Exchange: res.Exchange, Answer: &res.Answer, Brief: &res.Own}
	if res.Exchange.Outcome != assist.OutcomeOff {
		// Asks come from people, not the workflow, and are never retried by
		// Temporal, so a random key is unique enough.
		key := inc.ID + "/" + ActionAssistAsk + "/" + rand.Text()
		extra := map[string]any{"question": s.Assistant.Redact(question), "asked_by": actor}
		if shown, err = s.record(ctx, key, inc.ID, auditActorOf(actor), ActionAssistAsk, shown, extra); err != nil {
			return bot.Message{}, err
		}
	}
	s.logger().Info("question answered", "incident", inc.ID, "user", actor.User, "outcome", shown.Outcome, "tokens", shown.Tokens, "latency_ms", shown.LatencyMS)
	// The reply quotes the question as redacted: secrets stay out of chat even
	// when someone pastes one into a question.
	q := s.Assistant.Redact(question)
	if shown.Outcome.ByModel() && shown.Answer != nil {
		a := shown.Answer
		return bot.ModelAnswer(q, a.Answer, a.Answerable, a.Citations, a.Proposals, shown.Model), nil
	}
	return bot.OwnAnswer(q, briefText(*shown.Brief), shown.Reason), nil
}

// assistRecord is an exchange and what was shown, as the audit record holds it.
type assistRecord struct {
	assist.Exchange
	Brief  *assist.Brief  `json:"brief,omitempty"`
	Answer *assist.Answer `json:"answer,omitempty"`
}

// record appends the exchange to the audit trail and returns what the trail
// holds under key: the record just written or, on a retry, the first one. So
// the thread always shows what the audit trail says was shown.
func (s *Assist) record(ctx context.Context, key, incidentID, actor, action string, r assistRecord, extra map[string]any) (assistRecord, error) {
	details := r.Details()
	details["by_model"] = r.Outcome.ByModel()
	if r.Outcome.ByModel() && r.Answer != nil {
		details["answer"] = r.Answer
	} else if r.Brief != nil {
		details["brief"] = r.Brief
	}
	for k, v := range extra {
		details[k] = v
	}
	rec, err := s.Store.AppendAudit(ctx, audit.Entry{Key: key, Incident: incidentID, At: time.Now(), Actor: actor, Action: action, Details: details})
	if err != nil {
		return assistRecord{}, fmt.Errorf("audit %s of %s: %w", action, incidentID, err)
	}
	var got assistRecord
	if err := json.Unmarshal(rec.Details, &got); err != nil {
		return assistRecord{}, fmt.Errorf("audit record %d (%s of %s): %w", rec.Seq, action, incidentID, err)
	}
	if got.Brief == nil {
		got.Brief = &assist.Brief{}
	}
	return got, nil
}

// spentIn totals the tokens an incident's model requests spent, from their
// audit records. Keeping the count in the trail makes the budget hold across
// restarts and workers, for briefs and asks alike.
func spentIn(trail []audit.Record) int {
	total := 0
	for _, r := range trail {
		if !strings.HasPrefix(r.Action, "assist.") {
			continue
		}
		var d struct {
			Tokens int `json:"tokens"`
		}
		if json.Unmarshal(r.Details, &d) == nil {
			total += d.Tokens
		}
	}
	return total
}

// timelineKeys are the audit details worth a timeline line for the model.
var timelineKeys = []string{"evidence", "summary", "proposal", "runbook", "step", "exit_code", "status", "comment", "reason", "text", "title", "top", "score"}

// timeline turns the audit trail into the timeline an ask sees. The
// assistant's own records are left out: they would feed its earlier prompts
// and outputs back to it.
func timeline(trail []audit.Record) []assist.TimelineEntry {
	var out []assist.TimelineEntry
	for _, r := range trail {
		if strings.HasPrefix(r.Action, "assist.") {
			continue
		}
		at, _ := time.Parse(time.RFC3339Nano, r.At)
		var d map[string]any
		_ = json.Unmarshal(r.Details, &d) // details that are not an object have nothing to show
		var parts []string
		for _, k := range timelineKeys {
			if v, ok := d[k]; ok {
				parts = append(parts, k+"="+strings.Join(strings.Fields(fmt.Sprint(v)), " "))
			}
		}
		out = append(out, assist.TimelineEntry{At: at, Actor: r.Actor, Action: r.Action, Detail: strings.Join(parts, " ")})
	}
	return out
}

func briefText(b assist.Brief) bot.BriefText {
	t := bot.BriefText{Summary: b.Summary, OpenQuestions: b.OpenQuestions}
	for _, h := range b.Hypotheses {
		t.Hypotheses = append(t.Hypotheses, bot.Hypothesis{Component: h.Component, Statement: h.Statement, Evidence: h.Evidence, Proposals: h.Proposals})
	}
	return t
}

// auditActorOf is how the audit trail names a person (user:ID) or Vigil itself.
func auditActorOf(a incident.Actor) string {
	if strings.HasPrefix(a.User, "system:") {
		return a.User
	}
	return "user:" + a.User
}

func (s *Assist) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}
