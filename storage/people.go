package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/lib/pq"

	"github.com/okrbot/okrbot/okr"
)

// slackUserChunk is how many people one upsert statement writes.
const slackUserChunk = 5000

// SlackUser returns what is cached of a person. ENOTFOUND when nothing is.
func (s *Store) SlackUser(ctx context.Context, id string) (okr.SlackUser, error) {
	var u okr.SlackUser
	err := s.db.GetContext(ctx, &u, `
		SELECT id, tz, is_admin, is_owner, is_bot, deleted
		FROM slack_users
		WHERE id = $1`, id)
	if err != nil {
		return okr.SlackUser{}, fmt.Errorf("storage: slack user: %w", mapError(err, "Nothing is known of that person yet."))
	}
	return u, nil
}

// SlackUsersByID returns what is cached of the people among ids that are
// known, by id.
func (s *Store) SlackUsersByID(ctx context.Context, ids []string) (map[string]okr.SlackUser, error) {
	out := make(map[string]okr.SlackUser, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var us []okr.SlackUser
	err := s.db.SelectContext(ctx, &us, `
		SELECT id, tz, is_admin, is_owner, is_bot, deleted
		FROM slack_users
		WHERE id = ANY($1)`, pq.Array(ids))
	if err != nil {
		return nil, fmt.Errorf("storage: slack users: %w", err)
	}
	for _, u := range us {
		out[u.ID] = u
	}
	return out, nil
}

// UpsertSlackUsers caches what Slack says of people, replacing what was
// cached of them and stamping fetched_at with the store's clock. When a
// person comes more than once, the last one wins. Each chunk of people is
// one statement; the chunks are not one transaction.
func (s *Store) UpsertSlackUsers(ctx context.Context, users []okr.SlackUser) error {
	// A statement may change a row once: keep each person's last entry.
	last := make(map[string]int, len(users))
	for i, u := range users {
		last[u.ID] = i
	}
	now := s.now()
	for start := 0; start < len(users); start += slackUserChunk {
		chunk := users[start:min(start+slackUserChunk, len(users))]
		var (
			ids, tzs                        []string
			admins, owners, bots, deletions []bool
		)
		for i, u := range chunk {
			if u.ID == "" || last[u.ID] != start+i {
				continue
			}
			ids = append(ids, u.ID)
			tzs = append(tzs, u.TZ)
			admins = append(admins, u.IsAdmin)
			owners = append(owners, u.IsOwner)
			bots = append(bots, u.IsBot)
			deletions = append(deletions, u.Deleted)
		}
		if len(ids) == 0 {
			continue
		}
		_, err := s.db.ExecContext(ctx, `
			INSERT INTO slack_users (id, tz, is_admin, is_owner, is_bot, deleted, fetched_at)
			SELECT n.id, n.tz, n.is_admin, n.is_owner, n.is_bot, n.deleted, $7
			FROM unnest(CAST($1 AS text[]), CAST($2 AS text[]), CAST($3 AS boolean[]),
				CAST($4 AS boolean[]), CAST($5 AS boolean[]), CAST($6 AS boolean[]))
				AS n (id, tz, is_admin, is_owner, is_bot, deleted)
			ON CONFLICT (id) DO UPDATE
				SET tz = EXCLUDED.tz, is_admin = EXCLUDED.is_admin,
					is_owner = EXCLUDED.is_owner, is_bot = EXCLUDED.is_bot,
					deleted = EXCLUDED.deleted, fetched_at = EXCLUDED.fetched_at`,
			pq.Array(ids), pq.Array(tzs), pq.Array(admins), pq.Array(owners),
			pq.Array(bots), pq.Array(deletions), now)
		if err != nil {
			return fmt.Errorf("storage: upsert slack users: %w", err)
		}
	}
	return nil
}

// today returns the date of the store's clock, in UTC, as PostgreSQL reads a
// date.
func (s *Store) today() string {
	return s.now().Format(time.DateOnly)
}

// AwayUntil returns the last day (UTC midnight of the date) a person is
// away, nil when they are not: no absence, or one that ended before
// yesterday in UTC. An absence that ended yesterday in UTC may still hold
// today where the person lives, so callers compare the date with a local
// one (okr.AwayOn).
func (s *Store) AwayUntil(ctx context.Context, userID string) (*time.Time, error) {
	var until []time.Time
	err := s.db.SelectContext(ctx, &until, `
		SELECT until
		FROM absences
		WHERE user_id = $1 AND until >= CAST($2 AS date) - 1`, userID, s.today())
	if err != nil {
		return nil, fmt.Errorf("storage: away until: %w", err)
	}
	if len(until) == 0 {
		return nil, nil
	}
	u := until[0]
	d := time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
	return &d, nil
}

// SetAway records that a person is away until a date, inclusive: the
// calendar date of until in its own location. It replaces an earlier date.
func (s *Store) SetAway(ctx context.Context, userID string, until time.Time) error {
	_, err := s.db.ExecContext(ctx, `
		INSERT INTO absences (user_id, until, set_at)
		VALUES ($1, CAST($2 AS date), $3)
		ON CONFLICT (user_id) DO UPDATE
			SET until = EXCLUDED.until, set_at = EXCLUDED.set_at`,
		userID, until.Format(time.DateOnly), s.now())
	if err != nil {
		return fmt.Errorf("storage: set away: %w", mapError(err, ""))
	}
	return nil
}

// ClearAway ends a person's time away. It reports false when they were not
// away, including when their absence had ended already (which it forgets).
func (s *Store) ClearAway(ctx context.Context, userID string) (bool, error) {
	var away []bool
	err := s.db.SelectContext(ctx, &away, `
		DELETE FROM absences
		WHERE user_id = $1
		RETURNING until >= CAST($2 AS date)`, userID, s.today())
	if err != nil {
		return false, fmt.Errorf("storage: clear away: %w", err)
	}
	return len(away) == 1 && away[0], nil
}
