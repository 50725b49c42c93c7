package bot

import (
	"fmt"
	"strings"
)

// Messages of the investigation assistant. Model-written text is always marked
// as such (title and footer) so nobody mistakes it for Vigil's own findings,
// and when the model's text is not shown the message says why. None of these
// messages carries actions: nothing a model writes can approve or run anything.

// KindBrief is the incident brief, edited in place as the evidence changes.
const KindBrief Kind = "brief"

// Hypothesis is one explanation a brief offers, with the evidence it rests on
// and the proposals (already made by the runbook matcher) that address it.
type Hypothesis struct {
	Component string
	Statement string
	Evidence  []string
	Proposals []string
}

// BriefText is what a brief says.
type BriefText struct {
	Summary       string
	Hypotheses    []Hypothesis
	OpenQuestions []string
}

// modelFooter marks model-written messages.
const modelFooter = "Written by a language model from this incident's evidence; check its citations. It cannot approve or run anything."

// ModelBrief shows a brief the model wrote.
func ModelBrief(b BriefText, model string) Message {
	return Message{
		Kind:   KindBrief,
		Title:  fmt.Sprintf("Brief · model-written (%s)", model),
		Text:   briefBody(b, "Hypotheses"),
		Footer: modelFooter,
	}
}

// OwnBrief shows Vigil's own brief, built without a model, and says why the
// model's is not shown (reason, e.g. "timeout after 20s" or "off").
func OwnBrief(b BriefText, reason string) Message {
	return Message{
		Kind:   KindBrief,
		Title:  "Brief · Vigil's own summary",
		Text:   fmt.Sprintf("Model summary unavailable (%s); showing Vigil's own summary.\n\n", reason) + briefBody(b, "Candidates"),
		Footer: "Built by Vigil from the evidence and its root-cause ranking.",
	}
}

// ModelAnswer shows the model's answer to a question asked in a thread, with
// what it cites. answerable is false when the model found that the evidence
// and timeline do not answer the question.
func ModelAnswer(question, answer string, answerable bool, citations, proposals []string, model string) Message {
	var b strings.Builder
	fmt.Fprintf(&b, "Q: %s\n\n", question)
	if !answerable {
		b.WriteString("The evidence and timeline do not answer this. ")
	}
	b.WriteString(answer)
	var refs []string
	if len(citations) > 0 {
		refs = append(refs, "Cites "+strings.Join(citations, ", "))
	}
	if len(proposals) > 0 {
		refs = append(refs, "Proposals "+strings.Join(proposals, ", "))
	}
	if len(refs) > 0 {
		b.WriteString("\n\n" + strings.Join(refs, " · "))
	}
	return Message{
		Kind:   KindReply,
		Title:  fmt.Sprintf("Answer · model-written (%s)", model),
		Text:   b.String(),
		Footer: modelFooter,
	}
}

// OwnAnswer answers a question without a model: it says why the model's answer
// is not available and shows Vigil's own brief instead.
func OwnAnswer(question string, own BriefText, reason string) Message {
	return Message{
		Kind:   KindReply,
		Title:  "Answer · Vigil's own summary",
		Text:   fmt.Sprintf("Model answer unavailable (%s); showing Vigil's own summary.\n\nQ: %s\n\n", reason, question) + briefBody(own, "Candidates"),
		Footer: "Built by Vigil from the evidence and its root-cause ranking.",
	}
}

func briefBody(br BriefText, heading string) string {
	var b strings.Builder
	b.WriteString(br.Summary)
	if len(br.Hypotheses) > 0 {
		fmt.Fprintf(&b, "\n\n%s:", heading)
		for i, h := range br.Hypotheses {
			fmt.Fprintf(&b, "\n%d. %s: %s", i+1, h.Component, h.Statement)
			if len(h.Evidence) > 0 {
				fmt.Fprintf(&b, " [%s]", strings.Join(h.Evidence, ", "))
			}
			if len(h.Proposals) > 0 {
				fmt.Fprintf(&b, " · see %s", strings.Join(h.Proposals, ", "))
			}
		}
	}
	if len(br.OpenQuestions) > 0 {
		b.WriteString("\n\nOpen questions:")
		for _, q := range br.OpenQuestions {
			b.WriteString("\n- " + q)
		}
	}
	return b.String()
}
