package bot

import (
	"context"
	"encoding/json"
	"time"

	"github.com/okrbot/okrbot/okr"
)

// CheckinStore is what check-ins need of the database.
type CheckinStore interface {
	// Checkin returns a check-in by id.
	Checkin(ctx context.Context, id int64) (*okr.Checkin, error)
	// OpenCheckins returns a person's open check-ins (scheduled, sending or
	// sent), oldest first.
	OpenCheckins(ctx context.Context, userID string) ([]okr.Checkin, error)
	// OwnedKeyResults returns the key results a person owns in active
	// objectives of the periods open at now, in one team (teamID) or all (0),
	// by team, objective and position.
	OwnedKeyResults(ctx context.Context, userID string, teamID int64, now time.Time) ([]okr.OwnedKeyResult, error)
	// RecordCheckin writes a check-in's answers in one transaction: a KR
	// update per item, each key result's new value and confidence, and, for
	// a check-in, its state answered with the blockers. It reports false and
	// writes nothing when the check-in is no longer open (answered twice,
	// skipped, closed). The check-in's saved drafts are deleted.
	RecordCheckin(ctx context.Context, a okr.CheckinAnswer) (bool, error)
	// SkipCheckin marks an open check-in skipped; false when it was not open.
	SkipCheckin(ctx context.Context, id int64, at time.Time) (bool, error)
	// SaveCheckinDraft keeps the answers of one page of a long check-in.
	SaveCheckinDraft(ctx context.Context, checkinID int64, page int, answers json.RawMessage) error
	// CheckinDrafts returns a check-in's saved pages, by page.
	CheckinDrafts(ctx context.Context, checkinID int64) ([]json.RawMessage, error)

	// Schedule returns a team's schedule.
	Schedule(ctx context.Context, teamID int64) (okr.Schedule, error)
	// UpdateSchedule replaces a team's schedule.
	UpdateSchedule(ctx context.Context, s okr.Schedule, by string) error
	// CheckinRecipients returns the people owed a check-in, with their cached
	// time zone and their team's schedule, for every team.
	CheckinRecipients(ctx context.Context, now time.Time) ([]okr.Recipient, error)
	// CreateCheckins stores scheduled check-ins, skipping existing cycles,
	// and returns how many it created.
	CreateCheckins(ctx context.Context, cs []okr.Checkin) (int, error)

	// SetAway records that a person is away until a date (inclusive).
	SetAway(ctx context.Context, userID string, until time.Time) error
	// ClearAway ends a person's time away; false when they were not away.
	ClearAway(ctx context.Context, userID string) (bool, error)
	// AwayUntil returns the last day a person is away, nil when not away.
	AwayUntil(ctx context.Context, userID string) (*time.Time, error)
	// SlackUser returns what is cached of a person; ENOTFOUND when nothing is.
	SlackUser(ctx context.Context, id string) (okr.SlackUser, error)
	// SlackUsersByID returns what is cached of the people among ids, by id.
	SlackUsersByID(ctx context.Context, ids []string) (map[string]okr.SlackUser, error)
	// OwnedKeyResultsOf is OwnedKeyResults of many (person, team) pairs.
	OwnedKeyResultsOf(ctx context.Context, pairs []okr.TeamMember, now time.Time) (map[okr.TeamMember][]okr.OwnedKeyResult, error)
	// UpsertSlackUsers caches what Slack says of people.
	UpsertSlackUsers(ctx context.Context, users []okr.SlackUser) error
}
