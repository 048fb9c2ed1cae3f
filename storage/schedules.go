package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/okrbot/okrbot/okr"
)

// Schedule returns a team's weekly rhythm.
func (s *Store) Schedule(ctx context.Context, teamID int64) (okr.Schedule, error) {
	var sc okr.Schedule
	err := s.db.GetContext(ctx, &sc, `
		SELECT team_id, checkin_weekday, checkin_minute, reminder_delay,
			digest_weekday, digest_minute, quarter_summary
		FROM schedules
		WHERE team_id = $1`, teamID)
	if err != nil {
		return okr.Schedule{}, fmt.Errorf("storage: schedule: %w", mapError(err, "That team has no schedule."))
	}
	return sc, nil
}

// UpdateSchedule replaces a team's schedule (s.TeamID), by the person by.
// The caller validates it (okr.Schedule.Validate); the database's checks are
// the backstop, reported as EINVALID. ENOTFOUND when the team does not exist.
func (s *Store) UpdateSchedule(ctx context.Context, sc okr.Schedule, by string) error {
	// An upsert, so that a team that somehow lacks a schedule gets one.
	_, err := s.db.ExecContext(ctx, `
		INSERT INTO schedules (team_id, checkin_weekday, checkin_minute, reminder_delay,
			digest_weekday, digest_minute, quarter_summary, updated_by, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (team_id) DO UPDATE
			SET checkin_weekday = EXCLUDED.checkin_weekday,
				checkin_minute = EXCLUDED.checkin_minute,
				reminder_delay = EXCLUDED.reminder_delay,
				digest_weekday = EXCLUDED.digest_weekday,
				digest_minute = EXCLUDED.digest_minute,
				quarter_summary = EXCLUDED.quarter_summary,
				updated_by = EXCLUDED.updated_by,
				updated_at = EXCLUDED.updated_at`,
		sc.TeamID, int(sc.CheckinWeekday), sc.CheckinMinute, int64(sc.ReminderDelay),
		int(sc.DigestWeekday), sc.DigestMinute, sc.QuarterSummary, by, s.now())
	if err != nil {
		return fmt.Errorf("storage: update schedule: %w", mapError(err, "That team does not exist."))
	}
	return nil
}

// insertSchedule stores a new team's schedule. reminder_delay is kept in
// nanoseconds, as a time.Duration.
func insertSchedule(ctx context.Context, tx *sqlx.Tx, sc okr.Schedule, by string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO schedules (team_id, checkin_weekday, checkin_minute, reminder_delay,
			digest_weekday, digest_minute, quarter_summary, updated_by, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		sc.TeamID, int(sc.CheckinWeekday), sc.CheckinMinute, int64(sc.ReminderDelay),
		int(sc.DigestWeekday), sc.DigestMinute, sc.QuarterSummary, by, now)
	return err
}
