package slack

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/vigilops/vigil/incident"
)

// Verification strings recorded with every act that came through Slack.
const (
	VerifiedBySignature  = "slack request signature"
	VerifiedBySocketMode = "slack socket mode"
)

// UserGroupLister lists the workspace's user groups with their members.
type UserGroupLister interface {
	GetUserGroupsContext(ctx context.Context, options ...slack.GetUserGroupsOption) ([]slack.UserGroup, error)
}

// Directory maps verified Slack identities to Vigil's: Users maps Slack user ids
// to Vigil user ids (an unmapped user acts under the Slack id itself, which
// groups in vigil.yaml may list), and Groups maps Slack user group ids to Vigil
// groups, whose members the Actor carries in Groups.
type Directory struct {
	Users  map[string]string
	Groups map[string]string
	API    UserGroupLister // may be nil when Groups is empty
	// TTL is how long user group membership is cached. Default 5 minutes.
	TTL    time.Duration
	Logger *slog.Logger
	Now    func() time.Time

	mu      sync.Mutex
	members map[string][]string // Slack user id → Vigil groups
	fetched time.Time
}

// Actor is the identity of a Slack user whose id came in a verified payload.
// name is the Slack user name from the same payload, for display only.
func (d *Directory) Actor(ctx context.Context, slackUser, name, verification string) incident.Actor {
	a := incident.Actor{User: slackUser, DisplayName: name, Surface: "slack", Verification: verification}
	if v, ok := d.Users[slackUser]; ok {
		a.User = v
	}
	a.Groups = d.groups(ctx, slackUser)
	return a
}

// groups returns the Vigil groups the user belongs to through Slack user groups.
// When Slack cannot be asked, the user gets none (fail closed) and the last good
// answer is kept for the next try.
func (d *Directory) groups(ctx context.Context, slackUser string) []string {
	if len(d.Groups) == 0 || d.API == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	ttl := d.TTL
	if ttl <= 0 {
		ttl = 5 * time.Minute
	}
	if d.members == nil || now.Sub(d.fetched) > ttl {
		ugs, err := d.API.GetUserGroupsContext(ctx, slack.GetUserGroupsOptionIncludeUsers(true))
		if err != nil {
			d.Logger.Warn("slack: cannot list user groups; acting without Slack group membership", "err", err)
			return nil
		}
		members := map[string][]string{}
		for _, ug := range ugs {
			g, ok := d.Groups[ug.ID]
			if !ok {
				continue
			}
			for _, u := range ug.Users {
				if !slices.Contains(members[u], g) {
					members[u] = append(members[u], g)
				}
			}
		}
		for u := range members {
			slices.Sort(members[u])
		}
		d.members, d.fetched = members, now
	}
	return slices.Clone(d.members[slackUser])
}

func (d *Directory) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}
