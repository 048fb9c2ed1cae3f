package bot

import (
	"context"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/okrbot/okrbot/okr"
)

// personTTL is how long what Slack says of a person is trusted.
const personTTL = 10 * time.Minute

// person is what the bot needs to know of a Slack user.
type person struct {
	ID      string
	Name    string
	TZ      string
	Admin   bool // workspace admin or owner
	Bot     bool
	Deleted bool
	fetched time.Time
}

// people caches users.info answers for personTTL.
type people struct {
	api *slack.Client
	now func() time.Time

	mu    sync.Mutex
	cache map[string]person
}

func newPeople(api *slack.Client, now func() time.Time) *people {
	return &people{api: api, now: now, cache: map[string]person{}}
}

// get returns what Slack says of a user: ENOTFOUND when Slack knows no such user.
func (p *people) get(ctx context.Context, userID string) (person, error) {
	p.mu.Lock()
	c, ok := p.cache[userID]
	p.mu.Unlock()
	if ok && p.now().Sub(c.fetched) < personTTL {
		return c, nil
	}
	u, err := p.api.GetUserInfoContext(ctx, userID)
	if err != nil {
		if err.Error() == "user_not_found" {
			return person{}, okr.Errorf(okr.ENOTFOUND, "I can't find <@%s> in this workspace.", userID)
		}
		return person{}, err
	}
	c = person{
		ID: u.ID, Name: u.Name, TZ: u.TZ,
		Admin: u.IsAdmin || u.IsOwner || u.IsPrimaryOwner,
		Bot:   u.IsBot, Deleted: u.Deleted,
		fetched: p.now(),
	}
	p.mu.Lock()
	p.cache[userID] = c
	p.mu.Unlock()
	return c, nil
}

// actor returns the acting person with their admin rights. A failed look-up
// leaves them without admin rights rather than failing the action.
func (b *Bot) actor(ctx context.Context, userID string) okr.Actor {
	a := okr.Actor{UserID: userID}
	if p, err := b.people.get(ctx, userID); err == nil {
		a.Admin = p.Admin
	}
	return a
}

// roleIn returns the actor's role in a team and whether they may act as its
// lead; members and admins may read it.
func (b *Bot) roleIn(ctx context.Context, teamID int64, userID string) (role okr.Role, actor okr.Actor, err error) {
	role, err = b.store.MemberRole(ctx, teamID, userID)
	if err != nil {
		return "", okr.Actor{UserID: userID}, err
	}
	if role == okr.RoleLead {
		return role, okr.Actor{UserID: userID}, nil
	}
	return role, b.actor(ctx, userID), nil
}
