package ingest

import (
	"context"
	"log/slog"
	"time"

	"github.com/vigilops/vigil/bot"
	"github.com/vigilops/vigil/incident"
	"github.com/vigilops/vigil/store"
)

// Unannounced lists stored incidents nothing has been posted to yet.
type Unannounced interface {
	Unannounced(ctx context.Context, limit int) ([]store.Delivery, error)
}

// FirstPoster posts messages only where their keys are not posted yet
// (console.Thread's PostFirst).
type FirstPoster interface {
	PostFirst(ctx context.Context, posts []bot.Post) error
}

// Announcer opens each new incident's thread with its summary as soon as the
// incident is stored, ahead of its workflow. In a storm Temporal starts
// hundreds of workflows at once and a workflow's first post can wait seconds
// for its first task; the announcement does not. It is the message the
// workflow's first post would be (incident.Announce), under the same key,
// posted only where the thread is still empty, so the workflow's own posts edit
// it and an announcement never overwrites them.
//
// It announces to the console thread, which is a store write. Slack threads
// are opened by the workflow, which owns their rate limits and retries.
type Announcer struct {
	Store  Unannounced
	Thread FirstPoster
	Logger *slog.Logger
	// Poll is how often the store is checked without a wake-up (default 2s).
	Poll time.Duration

	wake chan struct{}
}

// announceBatch caps the incidents one announcement write carries.
const announceBatch = 200

// NewAnnouncer returns an announcer; call Run to start it.
func NewAnnouncer(s Unannounced, t FirstPoster, logger *slog.Logger) *Announcer {
	return &Announcer{Store: s, Thread: t, Logger: logger, Poll: 2 * time.Second, wake: make(chan struct{}, 1)}
}

// Wake asks the announcer to look for new incidents now. It never blocks.
func (a *Announcer) Wake() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// Run announces until ctx is done. A failed announcement is logged and tried
// again at the next wake-up; the workflow posts the summary regardless.
func (a *Announcer) Run(ctx context.Context) {
	for {
		if err := a.announceAll(ctx); err != nil && ctx.Err() == nil {
			a.Logger.Warn("announce: new incidents not announced yet; their workflows will post them", "err", err)
		}
		t := time.NewTimer(a.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-a.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// announceAll announces every unannounced incident, a batch per write.
func (a *Announcer) announceAll(ctx context.Context) error {
	for {
		n, err := a.announce(ctx)
		if err != nil || n < announceBatch {
			return err
		}
	}
}

// announce posts one batch of announcements and returns how many incidents
// it looked at.
func (a *Announcer) announce(ctx context.Context) (int, error) {
	news, err := a.Store.Unannounced(ctx, announceBatch)
	if err != nil || len(news) == 0 {
		return 0, err
	}
	now := time.Now()
	posts := make([]bot.Post, len(news))
	for i, d := range news {
		inc := incident.Announce(d.IncidentID, d.GroupKey, d.GroupLabels, d.Events, now)
		posts[i] = bot.Post{IncidentID: d.IncidentID, Key: "summary", Message: bot.Summary(&inc)}
	}
	if err := a.Thread.PostFirst(ctx, posts); err != nil {
		return 0, err
	}
	a.Logger.Debug("announce: new incidents", "count", len(news))
	return len(news), nil
}
