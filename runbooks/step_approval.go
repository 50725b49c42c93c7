package runbooks

import (
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/vigilops/vigil/incident"
)

// ApprovalStep is a gate in the middle of a runbook: the workflow holds the run
// there until the runbook's approval policy is satisfied again. Use it before the
// point of no return, after the checks that tell the approvers it is safe.
//
//	steps:
//	  - id: go-no-go
//	    run: approval
//	    message: "Replication lag is shown above. Fail over to {{ .params.candidate }}?"
type ApprovalStep struct {
	Message *Template
}

// ApprovalSpec is a rendered approval step.
type ApprovalSpec struct {
	Message string `json:"message,omitempty"`
}

var _ StepType = (*ApprovalStep)(nil)

func (*ApprovalStep) options() []string { return nil }
func (*ApprovalStep) fields() []string  { return []string{"message"} }

func (t *ApprovalStep) decode(p *problems, f map[string]*yaml.Node, s *Step) {
	t.Message = p.template(f["message"], "step "+s.ID+" message")
	s.Timeout = 0 // a gate waits as long as the approval policy says
}

func (t *ApprovalStep) templates() []*Template { return []*Template{t.Message} }

func (t *ApprovalStep) render(rc *renderContext, out *incident.Step) error {
	m, err := t.Message.render(rc.data)
	if err != nil {
		return fmt.Errorf("message: %w", err)
	}
	out.Spec, out.Display = marshalSpec(ApprovalSpec{Message: m}), "wait for approval"
	if m != "" {
		out.Display += fmt.Sprintf(": %q", oneLine(m))
	}
	return nil
}
