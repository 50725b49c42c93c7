package runbooks

import (
	"context"
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/vigilops/vigil/incident"
)

// NotifyStep posts a message to the incident's thread, or to another channel.
//
//	steps:
//	  - id: tell-team
//	    run: notify
//	    channel: "#checkout"           # optional; default the incident's thread
//	    text: "Rolled back {{ .params.service }} to {{ .params.version }}"
type NotifyStep struct {
	Channel *Template
	Text    *Template
}

// NotifySpec is a rendered notify step.
type NotifySpec struct {
	Channel string `json:"channel,omitempty"` // empty: the incident's thread
	Text    string `json:"text"`
}

var _ StepType = (*NotifyStep)(nil)

func (*NotifyStep) options() []string { return execOptions }
func (*NotifyStep) fields() []string  { return []string{"channel", "text"} }

func (t *NotifyStep) decode(p *problems, f map[string]*yaml.Node, s *Step) {
	if f["text"] == nil {
		p.add(s.Pos, "step %s is missing \"text\"", s.ID)
	}
	t.Text = p.template(f["text"], "step "+s.ID+" text")
	t.Channel = p.template(f["channel"], "step "+s.ID+" channel")
}

func (t *NotifyStep) templates() []*Template { return []*Template{t.Channel, t.Text} }

func (t *NotifyStep) render(rc *renderContext, out *incident.Step) error {
	var spec NotifySpec
	var err error
	if spec.Channel, err = t.Channel.render(rc.data); err != nil {
		return fmt.Errorf("channel: %w", err)
	}
	if spec.Text, err = t.Text.render(rc.data); err != nil {
		return fmt.Errorf("text: %w", err)
	}
	where := "the incident thread"
	if spec.Channel != "" {
		where = spec.Channel
	}
	out.Spec, out.Display = marshalSpec(spec), fmt.Sprintf("notify %s: %q", where, oneLine(spec.Text))
	return nil
}

func (e Executor) runNotify(ctx context.Context, ref incident.RunRef, s NotifySpec, r *stepRun) outcome {
	if e.Notifier == nil {
		return outcome{exit: -1, err: "notify steps need a chat surface, and none is configured"}
	}
	if err := e.Notifier.Notify(ctx, ref, s.Channel, s.Text); err != nil {
		if ctx.Err() != nil {
			return outcome{exit: -1, err: r.ctxError(ctx, "")}
		}
		return outcome{exit: 1, err: err.Error()}
	}
	where := "the incident thread"
	if s.Channel != "" {
		where = s.Channel
	}
	return outcome{ok: true, out: r.text("posted to %s\n", where)}
}
