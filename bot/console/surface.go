// Package console is Vigil's built-in web console: the chat surface that keeps every
// incident thread in the store, the JSON API (/api/v1/incidents...) and the pages:
// the incident list with filters, and the incident page with its live thread
// (server-sent events), evidence charts, candidates, proposals with
// Approve/Reject, and the timeline. Assets are embedded; there is no build step.
//
// In development mode the console has no login and acts as one configured user.
// In production (Auth set) pages need a login or an SSO proxy's header, the API a
// bearer token, and every act is the authenticated user's.
package console

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/store"
)

// MessageStore is where the console keeps threads.
type MessageStore interface {
	PutMessage(ctx context.Context, incidentID, key string, body []byte, now time.Time) (int64, error)
	PutMessages(ctx context.Context, msgs []store.MessageIn, now time.Time) error
	AddMessages(ctx context.Context, msgs []store.MessageIn, now time.Time) error
}

// Thread is the console's chat surface: posting stores the message in the
// incident's thread (an upsert by key, so re-posts edit in place).
type Thread struct {
	Store MessageStore
}

var _ bot.Surface = Thread{}

// Post implements bot.Surface.
func (t Thread) Post(ctx context.Context, incidentID, key string, m bot.Message) error {
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("console: post %s/%s: %w", incidentID, key, err)
	}
	_, err = t.Store.PutMessage(ctx, incidentID, key, body, time.Now())
	return err
}

// PostMany implements bot.BatchSurface: the posts are stored in one
// transaction, which during a storm spares the store a commit per message.
func (t Thread) PostMany(ctx context.Context, posts []bot.Post) error {
	msgs, err := encode(posts)
	if err != nil {
		return err
	}
	return t.Store.PutMessages(ctx, msgs, time.Now())
}

// PostFirst stores the posts whose keys their threads do not have yet, in one
// transaction; a key already posted is left as it is. Ingest announces new
// incidents with it, so an announcement can never overwrite a newer post of
// the workflow.
func (t Thread) PostFirst(ctx context.Context, posts []bot.Post) error {
	msgs, err := encode(posts)
	if err != nil {
		return err
	}
	return t.Store.AddMessages(ctx, msgs, time.Now())
}

func encode(posts []bot.Post) ([]store.MessageIn, error) {
	msgs := make([]store.MessageIn, len(posts))
	for i, p := range posts {
		body, err := json.Marshal(p.Message)
		if err != nil {
			return nil, fmt.Errorf("console: post %s/%s: %w", p.IncidentID, p.Key, err)
		}
		msgs[i] = store.MessageIn{IncidentID: p.IncidentID, Key: p.Key, Body: body}
	}
	return msgs, nil
}
