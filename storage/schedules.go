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
