package bot

import (
	"context"
	"time"

	"github.com/okrbot/okrbot/okr"
)

// Store is what the bot needs of the database. Errors carry okr codes:
// ENOTFOUND for a missing row, ECONFLICT for a duplicate.
type Store interface {
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error

	// ClaimEvent records key as processed and reports true the first time it
	// is claimed, false for every later claim (a redelivery).
	ClaimEvent(ctx context.Context, key string) (bool, error)

	// CreateTeam stores a team, makes its creator (CreatedBy) its first lead
	// and gives it the default schedule, in one transaction. ECONFLICT when
	// the channel is bound to a team already or the name is taken.
	CreateTeam(ctx context.Context, t *okr.Team) error
	// Team returns a team by id.
	Team(ctx context.Context, id int64) (*okr.Team, error)
	// TeamRoles returns a team with the roles in it of people, in their
	// order, "" for those who are not members.
	TeamRoles(ctx context.Context, id int64, userIDs []string) (*okr.Team, []okr.Role, error)
	// TeamByChannel returns the team bound to a channel.
	TeamByChannel(ctx context.Context, channelID string) (*okr.Team, error)
	// TeamsByMember returns the teams a person belongs to, by name.
	TeamsByMember(ctx context.Context, userID string) ([]okr.Team, error)
	// MemberRole returns a person's role in a team, "" when not a member.
	MemberRole(ctx context.Context, teamID int64, userID string) (okr.Role, error)
	// AddMembers adds people to a team with a role. Adding a lead promotes an
	// existing member; adding a member never demotes a lead. It returns the
	// people whose membership or role changed.
	AddMembers(ctx context.Context, teamID int64, userIDs []string, role okr.Role, by string) ([]string, error)
	// TeamMembers returns a team's members, leads first.
	TeamMembers(ctx context.Context, teamID int64) ([]okr.Member, error)

	// CreateObjective stores an objective in period p with its key results
	// (o.KeyResults), all or nothing, setting their IDs.
	CreateObjective(ctx context.Context, o *okr.Objective, p okr.Period) error
	// Objective returns an objective with its key results.
	Objective(ctx context.Context, id int64) (*okr.Objective, error)
	// ObjectivesByTeam returns a team's objectives in a period with their key
	// results, oldest first.
	ObjectivesByTeam(ctx context.Context, teamID int64, period string) ([]okr.Objective, error)
	// ActiveObjectives returns the active objectives of teams in periods
	// (labels), without their key results, by team and then oldest first.
	ActiveObjectives(ctx context.Context, teamIDs []int64, periods []string) ([]okr.Objective, error)
	// ObjectivesByOwner returns the objectives in a period that a person owns
	// or owns a key result of, with all their key results.
	ObjectivesByOwner(ctx context.Context, userID, period string) ([]okr.Objective, error)
	// CreateKeyResult adds a key result to an objective, setting its ID.
	CreateKeyResult(ctx context.Context, kr *okr.KeyResult) error

	CheckinStore
	KPIStore
	ExportStore
	HistoryStore
	ReportStore
}

// ReportStore is what digests and summaries need of the database.
type ReportStore interface {
	// DigestData gathers a team's weekly digest at now, in period p.
	DigestData(ctx context.Context, teamID int64, p okr.Period, now time.Time) (*okr.Digest, error)
	// SummaryData gathers a team's summary of period p, as of now.
	SummaryData(ctx context.Context, teamID int64, p okr.Period, now time.Time) (*okr.Summary, error)
	// EnqueueReport puts a report in the outbox, once per team, kind and key.
	EnqueueReport(ctx context.Context, teamID int64, kind, key string) (bool, error)
	// CloseQuarter closes a team's active objectives of p, freezing their
	// scores; it returns how many it closed.
	CloseQuarter(ctx context.Context, teamID int64, p okr.Period, by string, now time.Time) (int, error)
	// CarryOver copies the team's unfinished aspirational objectives of p
	// into the next quarter, once; it returns the copies made.
	CarryOver(ctx context.Context, teamID int64, from okr.Period, by string, now time.Time) ([]okr.Objective, error)
}
