package storage

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/okrbot/okrbot/okr"
)

// The outbox of reports: digests and summaries enqueued once per team,
// kind and key, by hand or as their schedule falls due, then claimed by a
// poster with a lease, posted once and marked, like alert events.

const reportColumns = `r.id, r.team_id, r.kind, r.key, r.state, r.attempts, r.reason,
	r.channel_id, r.message_ts, r.created_at, r.posted_at`

// EnqueueReport adds a pending report of a kind (okr.ReportDigest or
// okr.ReportSummary) for a team, under key, stamped with the store's clock,
// and reports whether it did: false when the team has one of that kind and
// key already. EINVALID for another kind or an empty key; ENOTFOUND when
// the team does not exist.
func (s *Store) EnqueueReport(ctx context.Context, teamID int64, kind, key string) (bool, error) {
	if kind != okr.ReportDigest && kind != okr.ReportSummary {
		return false, fmt.Errorf("storage: enqueue report: %w", okr.Errorf(okr.EINVALID, "A report is a digest or a summary."))
	}
	if strings.TrimSpace(key) == "" {
		return false, fmt.Errorf("storage: enqueue report: %w", okr.Errorf(okr.EINVALID, "A report needs a key."))
	}
	res, err := s.db.ExecContext(ctx, `
		INSERT INTO reports (team_id, kind, key, created_at)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (team_id, kind, key) DO NOTHING`,
		teamID, kind, key, s.now())
	if err != nil {
		return false, fmt.Errorf("storage: enqueue report: %w", mapError(err, ""))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("storage: enqueue report: %w", err)
	}
	return n == 1, nil
}

// enqueueReports adds pending reports of a kind, each for teams[i] under
// keys[i], stamped at, skipping those that exist, and returns how many it
// added.
func (s *Store) enqueueReports(ctx context.Context, kind string, teams []int64, keys []string, at time.Time) (int, error) {
	if len(teams) == 0 {
		return 0, nil
	}
	res, err := s.db.ExecContext(ctx, `
		INSERT INTO reports (team_id, kind, key, created_at)
		SELECT n.team_id, $1, n.key, $4
		FROM unnest(CAST($2 AS bigint[]), CAST($3 AS text[])) AS n (team_id, key)
		ON CONFLICT (team_id, kind, key) DO NOTHING`,
		kind, pq.Array(teams), pq.Array(keys), at)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// claimedReport is a report as a claim returns it, with whether it was
// taken over from an expired claim.
type claimedReport struct {
	okr.Report
	WasClaimed bool `db:"recovered"`
}

// ClaimReports claims, in one statement, up to limit pending reports that
// nobody holds a claim on at now (never claimed, released, or claimed
// until before now), oldest first: they are claimed by `by` until
// now+lease, with one more attempt. Reports claimed by another transaction
// at the same moment are skipped, never waited for or claimed twice. Those
// taken over from an expired claim have Recovered set: their message may
// have been posted.
func (s *Store) ClaimReports(ctx context.Context, now time.Time, by string, lease time.Duration, limit int) ([]okr.Report, error) {
	if limit <= 0 {
		return []okr.Report{}, nil
	}
	var claimed []claimedReport
	err := s.db.SelectContext(ctx, &claimed, `
		WITH due AS (
			SELECT id, claimed_until IS NOT NULL AS recovered
			FROM reports
			WHERE state = 'pending' AND (claimed_until IS NULL OR claimed_until < $1)
			ORDER BY created_at, id
			LIMIT $2
			FOR UPDATE SKIP LOCKED
		), claimed AS (
			UPDATE reports r
			SET claimed_by = $3, claimed_until = $4, attempts = r.attempts + 1
			FROM due
			WHERE r.id = due.id
			RETURNING `+reportColumns+`, due.recovered
		)
		SELECT id, team_id, kind, key, state, attempts, reason, channel_id, message_ts,
			created_at, posted_at, recovered
		FROM claimed
		ORDER BY created_at, id`,
		now, limit, by, now.Add(lease))
	if err != nil {
		return nil, fmt.Errorf("storage: claim reports: %w", err)
	}
	rs := make([]okr.Report, len(claimed))
	for i, c := range claimed {
		rs[i] = c.Report
		rs[i].Recovered = c.WasClaimed
	}
	return rs, nil
}

// MarkReportPosted records that a report was posted as message ts in
// channel at `at`, and ends the claim. ECONFLICT when `by` no longer holds
// the claim: it expired and another poster took the report over.
func (s *Store) MarkReportPosted(ctx context.Context, id int64, by, channel, ts string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `
		UPDATE reports
		SET state = 'posted', channel_id = $3, message_ts = $4, posted_at = $5,
			claimed_by = '', claimed_until = NULL, reason = ''
		WHERE id = $1 AND state = 'pending' AND claimed_by = $2 AND claimed_until IS NOT NULL`,
		id, by, channel, ts, at)
	return reportClaimHeld(res, err, "mark report posted")
}

// MarkReportFailed ends a report that can never be posted with the reason,
// and ends the claim. ECONFLICT when `by` no longer holds the claim.
func (s *Store) MarkReportFailed(ctx context.Context, id int64, by, reason string) error {
	res, err := s.db.ExecContext(ctx, `
		UPDATE reports
		SET state = 'failed', reason = $3, claimed_by = '', claimed_until = NULL
		WHERE id = $1 AND state = 'pending' AND claimed_by = $2 AND claimed_until IS NOT NULL`,
		id, by, reason)
	return reportClaimHeld(res, err, "mark report failed")
}

// ReleaseReport gives up `by`'s claim on a report, leaving it pending with
// the reason it was not posted, for a later round to try again. ECONFLICT
// when `by` no longer holds the claim.
func (s *Store) ReleaseReport(ctx context.Context, id int64, by, reason string) error {
	res, err := s.db.ExecContext(ctx, `
		UPDATE reports
		SET claimed_by = '', claimed_until = NULL, reason = $3
		WHERE id = $1 AND state = 'pending' AND claimed_by = $2 AND claimed_until IS NOT NULL`,
		id, by, reason)
	return reportClaimHeld(res, err, "release report")
}

// reportClaimHeld returns the error of an update guarded by a claim, and
// ECONFLICT when it changed nothing.
func reportClaimHeld(res sql.Result, err error, op string) error {
	if err != nil {
		return fmt.Errorf("storage: %s: %w", op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("storage: %s: %w", op, err)
	}
	if n == 0 {
		return fmt.Errorf("storage: %s: %w", op, okr.Errorf(okr.ECONFLICT, "That report is no longer claimed by this poster."))
	}
	return nil
}

// Report returns a report by id.
func (s *Store) Report(ctx context.Context, id int64) (*okr.Report, error) {
	var r okr.Report
	err := s.db.GetContext(ctx, &r, `
		SELECT `+reportColumns+`
		FROM reports r
		WHERE r.id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("storage: report: %w", mapError(err, "That report does not exist."))
	}
	return &r, nil
}

// reportSchedule is the part of a team's schedule that says when its
// reports are due.
type reportSchedule struct {
	TeamID        int64        `db:"team_id"`
	DigestWeekday time.Weekday `db:"digest_weekday"`
	DigestMinute  int          `db:"digest_minute"`
}

// reportSchedules returns the report schedules of every team, or only of
// those with quarterly summaries on.
func (s *Store) reportSchedules(ctx context.Context, summariesOnly bool) ([]reportSchedule, error) {
	var scs []reportSchedule
	err := s.db.SelectContext(ctx, &scs, `
		SELECT team_id, digest_weekday, digest_minute
		FROM schedules
		WHERE quarter_summary OR NOT $1
		ORDER BY team_id`, summariesOnly)
	return scs, err
}

// DueDigests enqueues the weekly digest of every team whose digest moment
// has come: the team's digest weekday at its digest time, in loc, at or
// before now and less than 24 hours before it. The key is the moment's
// date (2027-04-16); a digest enqueued already is not enqueued again. It
// returns how many it enqueued.
func (s *Store) DueDigests(ctx context.Context, now time.Time, loc *time.Location) (int, error) {
	scs, err := s.reportSchedules(ctx, false)
	if err != nil {
		return 0, fmt.Errorf("storage: due digests: %w", err)
	}
	var teams []int64
	var keys []string
	local := now.In(loc)
	for _, sc := range scs {
		// The moment is today's or yesterday's, if either is the weekday.
		for back := range 2 {
			d := time.Date(local.Year(), local.Month(), local.Day()-back, 0, 0, 0, 0, loc)
			if d.Weekday() != sc.DigestWeekday {
				continue
			}
			m := atMinute(d, sc.DigestMinute, loc)
			if !now.Before(m) && now.Before(m.Add(24*time.Hour)) {
				teams, keys = append(teams, sc.TeamID), append(keys, d.Format(time.DateOnly))
			}
		}
	}
	n, err := s.enqueueReports(ctx, okr.ReportDigest, teams, keys, now.UTC().Round(time.Microsecond))
	if err != nil {
		return 0, fmt.Errorf("storage: due digests: %w", err)
	}
	return n, nil
}

// DueSummaries enqueues the summary of the quarter (with a fiscal year
// starting in fyStart) of every team with quarterly summaries on, from the
// team's digest time on the quarter's last day, in loc, until 7 days after
// the quarter ended. The key is the quarter's label (2027-Q1); a summary
// enqueued already is not enqueued again. It returns how many it enqueued.
func (s *Store) DueSummaries(ctx context.Context, now time.Time, loc *time.Location, fyStart time.Month) (int, error) {
	scs, err := s.reportSchedules(ctx, true)
	if err != nil {
		return 0, fmt.Errorf("storage: due summaries: %w", err)
	}
	current := okr.QuarterOf(now.In(loc), fyStart)
	previous := okr.QuarterOf(current.Start.AddDate(0, 0, -1), fyStart)
	var teams []int64
	var keys []string
	for _, sc := range scs {
		for _, q := range []okr.Period{previous, current} {
			m := atMinute(q.End.AddDate(0, 0, -1), sc.DigestMinute, loc)
			if !now.Before(m) && now.Before(q.End.AddDate(0, 0, 7)) {
				teams, keys = append(teams, sc.TeamID), append(keys, q.Label())
			}
		}
	}
	n, err := s.enqueueReports(ctx, okr.ReportSummary, teams, keys, now.UTC().Round(time.Microsecond))
	if err != nil {
		return 0, fmt.Errorf("storage: due summaries: %w", err)
	}
	return n, nil
}

// atMinute returns the instant of a time of day, in minutes after
// midnight, on the date of d in loc.
func atMinute(d time.Time, minute int, loc *time.Location) time.Time {
	d = d.In(loc)
	return time.Date(d.Year(), d.Month(), d.Day(), minute/60, minute%60, 0, 0, loc)
}
