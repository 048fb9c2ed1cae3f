package okr

import (
	"strings"
	"time"
	"unicode/utf8"
)

// MaxTeamNameLen is the longest team name, in characters.
const MaxTeamNameLen = 80

// Role is a person's role in a team.
type Role string

// Roles a team member can have.
const (
	RoleMember Role = "member"
	RoleLead   Role = "lead"
)

// Team is a group of people with a Slack channel for its alerts and digests.
type Team struct {
	ID        int64     `db:"id"`
	Name      string    `db:"name"`
	ChannelID string    `db:"channel_id"`
	ParentID  *int64    `db:"parent_id"`
	CreatedBy string    `db:"created_by"`
	CreatedAt time.Time `db:"created_at"`
}

// Validate reports whether the team can be stored.
func (t *Team) Validate() error {
	t.Name = strings.TrimSpace(t.Name)
	switch {
	case t.Name == "":
		return FieldErrorf("name", "A team needs a name, e.g. `/okr team create Platform`.")
	case utf8.RuneCountInString(t.Name) > MaxTeamNameLen:
		return FieldErrorf("name", "A team name can be at most %d characters.", MaxTeamNameLen)
	case t.ChannelID == "":
		return FieldErrorf("channel", "A team must be bound to a channel.")
	}
	return nil
}

// Member is a person in a team.
type Member struct {
	TeamID  int64     `db:"team_id"`
	UserID  string    `db:"user_id"`
	Role    Role      `db:"role"`
	AddedBy string    `db:"added_by"`
	AddedAt time.Time `db:"added_at"`
}

// Actor is a person acting in the product, with what Slack says of them.
type Actor struct {
	UserID string
	// Admin is true for Slack workspace admins and owners, who act as leads of every team.
	Admin bool
}

// CanLead reports whether the actor may act as a lead of a team in which they
// have the given role ("" when not a member).
func (a Actor) CanLead(role Role) bool {
	return a.Admin || role == RoleLead
}
