// Package bot is the surface-neutral side of Vigil's chat: the message model every
// surface renders (the console as HTML, Slack as Block Kit), the formatter that
// builds every message Vigil posts so they all look the same, and the Surface
// interface a chat backend implements.
package bot

import (
	"context"
	"errors"
)

// Kind says what a message is about; surfaces may style kinds differently.
type Kind string

// Message kinds.
const (
	KindSummary   Kind = "summary"
	KindEvidence  Kind = "evidence"
	KindCandidate Kind = "candidates"
	KindProposal  Kind = "proposal"
	KindDecision  Kind = "decision"
	KindStep      Kind = "step"
	KindStatus    Kind = "status"
)

// Message is one chat message.
type Message struct {
	Kind    Kind     `json:"kind"`
	Title   string   `json:"title"`
	Text    string   `json:"text,omitempty"`
	Fields  []Field  `json:"fields,omitempty"`
	Code    string   `json:"code,omitempty"` // preformatted: plans, command output
	Actions []Action `json:"actions,omitempty"`
	Footer  string   `json:"footer,omitempty"`
	// Severity and Services are the incident's, on its summary: a surface
	// chooses where to open the thread from them (Slack's channel routes).
	// They are not rendered; the summary's fields show them to people.
	Severity string   `json:"severity,omitempty"`
	Services []string `json:"services,omitempty"`
}

// Field is a labelled value.
type Field struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// Action is a button. ID is opaque to the surface ("approve:P1"); a surface sends it
// back with the verified identity of whoever pressed it, never with a payload.
type Action struct {
	ID      string `json:"id"`
	Label   string `json:"label"`
	Style   string `json:"style,omitempty"`   // primary | danger
	Confirm string `json:"confirm,omitempty"` // ask before acting, for risky actions
}

// Surface is a chat backend holding incident threads.
//
// Post is an upsert keyed by (incident, key): the first post of a key adds a
// message to the incident's thread, a later post with the same key edits that
// message in place. That makes posting idempotent (a retried post never duplicates)
// and lets Vigil update a message as things change. The first key posted for an
// incident, "summary", is the thread's root.
type Surface interface {
	Post(ctx context.Context, incidentID, key string, m Message) error
}

// Post is one keyed message for an incident's thread.
type Post struct {
	IncidentID string
	Key        string
	Message    Message
}

// BatchSurface is a Surface that can also post several messages in one write,
// all or none of them, with Post's meaning for each.
type BatchSurface interface {
	Surface
	PostMany(ctx context.Context, posts []Post) error
}

// PostAll posts in order, in one write where s can.
func PostAll(ctx context.Context, s Surface, posts []Post) error {
	if b, ok := s.(BatchSurface); ok {
		return b.PostMany(ctx, posts)
	}
	for _, p := range posts {
		if err := s.Post(ctx, p.IncidentID, p.Key, p.Message); err != nil {
			return err
		}
	}
	return nil
}

// Fanout posts to several surfaces; every surface is tried and errors are joined.
type Fanout []Surface

// Post implements Surface.
func (f Fanout) Post(ctx context.Context, incidentID, key string, m Message) error {
	var errs []error
	for _, s := range f {
		errs = append(errs, s.Post(ctx, incidentID, key, m))
	}
	return errors.Join(errs...)
}

// PostMany implements BatchSurface: each surface gets the posts, in one write
// where it can.
func (f Fanout) PostMany(ctx context.Context, posts []Post) error {
	var errs []error
	for _, s := range f {
		errs = append(errs, PostAll(ctx, s, posts))
	}
	return errors.Join(errs...)
}
