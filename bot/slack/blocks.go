package slack

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/vigilops/vigil/bot"
)

// Block Kit limits (https://docs.slack.dev/reference/block-kit/blocks): longer
// text is cut, with a mark, rather than refused by Slack.
const (
	maxHeader       = 150
	maxSectionText  = 3000
	maxField        = 2000
	maxFields       = 10
	maxConfirmText  = 300
	maxButtonLabel  = 75
	maxFallbackText = 3000
)

// Render turns a surface-neutral message into Block Kit: a header with the title,
// the text, the fields, preformatted code, the buttons and a footer, in that
// order. A button carries its bot.Action ID as both its action_id and its value:
// an opaque id Vigil resolves against its own record of the message, never a
// payload to act on. Buttons with Confirm ask in a dialog first.
func Render(m bot.Message) []slack.Block {
	blocks := []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, cut(m.Title, maxHeader), true, false)),
	}
	if m.Text != "" {
		blocks = append(blocks, section(escape(m.Text)))
	}
	for i := 0; i < len(m.Fields); i += maxFields {
		var fields []*slack.TextBlockObject
		for _, f := range m.Fields[i:min(i+maxFields, len(m.Fields))] {
			fields = append(fields, mrkdwn(cut("*"+escape(f.Label)+"*\n"+escape(f.Value), maxField)))
		}
		blocks = append(blocks, slack.NewSectionBlock(nil, fields, nil))
	}
	if m.Code != "" {
		blocks = append(blocks, section(codeBlock(m.Code)))
	}
	if len(m.Actions) > 0 {
		var buttons []slack.BlockElement
		for _, a := range m.Actions {
			b := slack.NewButtonBlockElement(a.ID, a.ID, slack.NewTextBlockObject(slack.PlainTextType, cut(a.Label, maxButtonLabel), false, false))
			if a.Style == "primary" || a.Style == "danger" {
				b.Style = slack.Style(a.Style)
			}
			if a.Confirm != "" {
				b.Confirm = slack.NewConfirmationBlockObject(
					slack.NewTextBlockObject(slack.PlainTextType, "Are you sure?", false, false),
					slack.NewTextBlockObject(slack.PlainTextType, cut(a.Confirm, maxConfirmText), false, false),
					slack.NewTextBlockObject(slack.PlainTextType, cut(a.Label, maxButtonLabel), false, false),
					slack.NewTextBlockObject(slack.PlainTextType, "Cancel", false, false),
				)
				if a.Style == "danger" || a.Style == "primary" {
					b.Confirm.WithStyle(slack.Style(a.Style))
				}
			}
			buttons = append(buttons, b)
		}
		blocks = append(blocks, slack.NewActionBlock("actions", buttons...))
	}
	if m.Footer != "" {
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn(cut(escape(m.Footer), maxSectionText))))
	}
	return blocks
}

// Fallback is the plain text Slack shows in notifications and to clients that
// cannot draw blocks.
func Fallback(m bot.Message) string {
	s := m.Title
	if m.Text != "" {
		s += ": " + m.Text
	}
	return cut(escape(s), maxFallbackText)
}

func section(text string) *slack.SectionBlock {
	return slack.NewSectionBlock(mrkdwn(cut(text, maxSectionText)), nil, nil)
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

// escape applies the only escaping Slack requires in message text, so a label
// value like "<!channel>" or "<@U123>" is shown, not acted on.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// codeBlock puts code in a ``` block. Inside it only the three HTML-ish
// characters need escaping; but backticks next to each other, or next to a
// fence, would make a fence and end the block early (five backticks did, when
// only ``` was broken up), so a zero-width space sets each such one apart.
func codeBlock(code string) string {
	var b strings.Builder
	prev := '`' // the opening fence
	for _, r := range escape(code) {
		if r == '`' && prev == '`' {
			b.WriteRune(zeroWidthSpace)
		}
		b.WriteRune(r)
		prev = r
	}
	s := cut(b.String(), maxSectionText-7)
	if strings.HasSuffix(s, "`") { // before the closing fence
		s += string(zeroWidthSpace)
	}
	return "```" + s + "```"
}

const zeroWidthSpace = '\u200b'

// cut shortens s to at most n characters, marking the cut.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return fmt.Sprint(string(r[:n-1]), "…")
}
