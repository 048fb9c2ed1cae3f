package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/okrbot/okrbot/okr"
)

const checkinColumns = `c.id, c.team_id, c.user_id, c.cycle_start, c.due_at, c.state,
	c.dm_channel, c.dm_ts, c.reminders_sent, c.blockers, c.sent_at, c.answered_at,
	c.claimed_until, c.claimed_by, c.attempts, c.reason, c.reminder_ts`

// A check-in's cycle lasts okr.CycleLength, an exact number of hours: the
// queries compare due_at with instants computed in Go rather than adding
// interval '7 days', which PostgreSQL counts in calendar days of the
// session's time zone.

// CheckinRecipients returns, for every team with a schedule, the people owed
// a check-in at now: the owners of key results of the team's active
// objectives in the periods open at now, and the owners of its KPIs that are
// not archived. Each comes once per team, with the time zone Slack gave them
// ("" when unknown) and the team's schedule, ordered by team and person.
// People Slack says are deleted or bots are included: the sender marks their
// check-ins undeliverable, with the reason.
func (s *Store) CheckinRecipients(ctx context.Context, now time.Time) ([]okr.Recipient, error) {
	rows, err := s.db.QueryContext(ctx, `
		WITH owned AS (
			SELECT o.team_id, kr.owner_id AS user_id, kr.created_at
			FROM key_results kr
			JOIN objectives o ON o.id = kr.objective_id
			JOIN periods p ON p.id = o.period_id
			WHERE o.status = 'active' AND p.starts_at <= $1 AND p.ends_at > $1
			UNION ALL
			SELECT k.team_id, k.owner_id, k.created_at
			FROM kpis k
			WHERE k.archived_at IS NULL
		), owners AS (
			SELECT team_id, user_id, min(created_at) AS since
			FROM owned
			GROUP BY team_id, user_id
		)
		SELECT w.team_id, w.user_id, COALESCE(u.tz, ''), u.id IS NOT NULL, w.since,
			sc.checkin_weekday, sc.checkin_minute, sc.reminder_delay,
			sc.digest_weekday, sc.digest_minute, sc.quarter_summary
		FROM owners w
		JOIN schedules sc ON sc.team_id = w.team_id
		LEFT JOIN slack_users u ON u.id = w.user_id
		ORDER BY w.team_id, w.user_id`, now)
	if err != nil {
		return nil, fmt.Errorf("storage: check-in recipients: %w", err)
	}
	defer rows.Close()
	rs := []okr.Recipient{}
	for rows.Next() {
		var r okr.Recipient
		sc := &r.Schedule
		if err := rows.Scan(&r.TeamID, &r.UserID, &r.TZ, &r.Known, &r.Since,
			&sc.CheckinWeekday, &sc.CheckinMinute, &sc.ReminderDelay,
			&sc.DigestWeekday, &sc.DigestMinute, &sc.QuarterSummary); err != nil {
			return nil, fmt.Errorf("storage: check-in recipients: %w", err)
		}
		sc.TeamID = r.TeamID
		rs = append(rs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: check-in recipients: %w", err)
	}
	return rs, nil
}

// CreateCheckins stores check-ins as scheduled (their State is ignored),
// skipping any whose team, person and cycle exist already, and returns how
// many it created. A check-in's cycle_start is the calendar date of its
// CycleStart in CycleStart's own location (okr.Schedule.CurrentCycle gives
// UTC midnight), sent as text so that no time zone can move it.
func (s *Store) CreateCheckins(ctx context.Context, cs []okr.Checkin) (int, error) {
	if len(cs) == 0 {
		return 0, nil
	}
	teams := make([]int64, len(cs))
	users := make([]string, len(cs))
	dates := make([]string, len(cs))
	dues := make([]string, len(cs))
	for i, c := range cs {
		teams[i] = c.TeamID
		users[i] = c.UserID
		dates[i] = c.CycleStart.Format(time.DateOnly)
		dues[i] = c.DueAt.UTC().Format(time.RFC3339Nano)
	}
	// Arrays, not parameters per row: one statement and no limit of 65535
	// parameters, however many check-ins there are.
	res, err := s.db.ExecContext(ctx, `
		INSERT INTO checkins (team_id, user_id, cycle_start, due_at, state)
		SELECT n.team_id, n.user_id, n.cycle_start, n.due_at, 'scheduled'
		FROM unnest(CAST($1 AS bigint[]), CAST($2 AS text[]), CAST($3 AS date[]),
			CAST($4 AS timestamptz[])) AS n (team_id, user_id, cycle_start, due_at)
		ON CONFLICT (team_id, user_id, cycle_start) DO NOTHING`,
		pq.Array(teams), pq.Array(users), pq.Array(dates), pq.Array(dues))
	if err != nil {
		return 0, fmt.Errorf("storage: create check-ins: %w", mapError(err, ""))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("storage: create check-ins: %w", err)
	}
	return int(n), nil
}

// claimedCheckin is a check-in as a claim returns it, with whether it was
// taken over from an expired claim.
type claimedCheckin struct {
	okr.Checkin
	WasSending bool `db:"recovered"`
}

// ClaimDueCheckins claims, in one statement, up to limit check-ins whose
// cycle is open at now and that are scheduled and due, or sending under a
// claim that expired before now, oldest due first. They become sending,
// claimed by `by` until now+lease, with one more attempt. Check-ins claimed
// by another transaction at the same moment are skipped, never waited for or
// claimed twice. Those taken over from an expired claim whose sender had
// started sending (StartSending) have Recovered set: their DM may be out.
// Each comes with its person's absence (AwayUntil). Check-ins whose ids are
// in except are not claimed (a round does not retry at once what it
// gave back after a failure).
func (s *Store) ClaimDueCheckins(ctx context.Context, now time.Time, by string, lease time.Duration, limit int, except ...int64) ([]okr.Checkin, error) {
	if limit <= 0 {
		return []okr.Checkin{}, nil
	}
	var claimed []claimedCheckin
	// The person's absence comes with the claim, as AwayUntil reads it.
	err := s.db.SelectContext(ctx, &claimed, `
		-- Each part reads its index in order and stops at the limit.
		WITH fresh AS (
			SELECT id, state, user_id, send_started, due_at
			FROM checkins
			WHERE state = 'scheduled' AND due_at <= $1 AND due_at > $2 AND id <> ALL($7)
			ORDER BY due_at, id
			LIMIT $3
			FOR UPDATE SKIP LOCKED
		), stale AS (
			SELECT id, state, user_id, send_started, due_at
			FROM checkins
			WHERE state = 'sending' AND claimed_until < $1 AND due_at > $2 AND id <> ALL($7)
			ORDER BY claimed_until, id
			LIMIT $3
			FOR UPDATE SKIP LOCKED
		), taken AS (
			SELECT * FROM fresh UNION ALL SELECT * FROM stale
			ORDER BY due_at, id
			LIMIT $3
		)
		UPDATE checkins c
		SET state = 'sending', claimed_by = $4, claimed_until = $5, attempts = c.attempts + 1,
			send_started = false
		FROM taken due
		LEFT JOIN absences a ON a.user_id = due.user_id AND a.until >= CAST($6 AS date) - 1
		WHERE c.id = due.id
		RETURNING `+checkinColumns+`, due.state = 'sending' AND due.send_started AS recovered,
			a.until AS away_until`,
		now, now.Add(-okr.CycleLength), limit, by, now.Add(lease), s.today(), pq.Array(append([]int64{}, except...)))
	if err != nil {
		return nil, fmt.Errorf("storage: claim due check-ins: %w", err)
	}
	cs := make([]okr.Checkin, len(claimed))
	for i, c := range claimed {
		cs[i] = c.Checkin
		cs[i].Recovered = c.WasSending
	}
	return cs, nil
}

// MarkCheckinSent records that a check-in's DM went out as message ts in
// channel at `at`, and ends the claim. ECONFLICT when `by` no longer holds
// the claim: it expired and another sender took the check-in over, or the
// check-in was answered or closed meanwhile.
func (s *Store) MarkCheckinSent(ctx context.Context, id int64, by, channel, ts string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `
		UPDATE checkins
		SET state = CASE WHEN state = 'sending' THEN 'sent' ELSE state END,
			dm_channel = $3, dm_ts = $4, sent_at = $5,
			claimed_by = CASE WHEN state = 'sending' THEN '' ELSE claimed_by END,
			claimed_until = CASE WHEN state = 'sending' THEN NULL ELSE claimed_until END,
			reason = CASE WHEN state = 'sending' THEN '' ELSE reason END
		WHERE id = $1 AND (
			(state = 'sending' AND claimed_by = $2)
			-- answered or skipped while its DM was on its way: keep the DM,
			-- so it can still be updated
			OR (state IN ('answered', 'skipped') AND dm_ts = ''))`,
		id, by, channel, ts, at)
	if err != nil {
		return fmt.Errorf("storage: mark check-in sent: %w", err)
	}
	return claimHeld(res, "mark check-in sent")
}

// RenewClaim extends `by`'s claim on a check-in it is sending to until. A
// claim that expired is renewed too, as long as nobody claimed the
// check-in since (claimed_by is still `by`): nobody else can have sent
// its DM. It reports false when the claim is somebody else's or over.
func (s *Store) RenewClaim(ctx context.Context, id int64, by string, until time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `
		UPDATE checkins SET claimed_until = $3
		WHERE id = $1 AND state = 'sending' AND claimed_by = $2`, id, by, until)
	if err != nil {
		return false, fmt.Errorf("storage: renew claim: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// UnclaimCheckins gives back check-ins `by` claimed but never tried, as if
// they had not been claimed: scheduled, the attempt not counted, the
// reason of an earlier failure kept.
func (s *Store) UnclaimCheckins(ctx context.Context, ids []int64, by string) error {
	_, err := s.db.ExecContext(ctx, `
		UPDATE checkins
		SET state = 'scheduled', claimed_by = '', claimed_until = NULL,
			attempts = greatest(attempts - 1, 0), send_started = false
		WHERE id = ANY($1) AND state = 'sending' AND claimed_by = $2 AND NOT send_started`, pq.Array(ids), by)
	if err != nil {
		return fmt.Errorf("storage: unclaim check-ins: %w", err)
	}
	return nil
}

// StartSending records that `by` is about to send the DMs of claimed
// check-ins: from now on, a claim that expires on them is recovered with a
// look at the DM history (Recovered), since a DM may be out.
func (s *Store) StartSending(ctx context.Context, ids []int64, by string) error {
	_, err := s.db.ExecContext(ctx, `
		UPDATE checkins SET send_started = true
		WHERE id = ANY($1) AND state = 'sending' AND claimed_by = $2`, pq.Array(ids), by)
	if err != nil {
		return fmt.Errorf("storage: start sending: %w", err)
	}
	return nil
}

// MarkCheckinsSent is MarkCheckinSent for many DMs in one statement. It
// returns the ids of the check-ins `by` no longer held (recorded nowhere).
func (s *Store) MarkCheckinsSent(ctx context.Context, sent []okr.SentDM, by string, at time.Time) ([]int64, error) {
	if len(sent) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(sent))
	chans := make([]string, len(sent))
	tss := make([]string, len(sent))
	for i, d := range sent {
		ids[i], chans[i], tss[i] = d.CheckinID, d.Channel, d.TS
	}
	var marked []int64
	err := s.db.SelectContext(ctx, &marked, `
		UPDATE checkins c
		SET state = CASE WHEN c.state = 'sending' THEN 'sent' ELSE c.state END,
			dm_channel = d.channel, dm_ts = d.ts, sent_at = $5,
			claimed_by = CASE WHEN c.state = 'sending' THEN '' ELSE c.claimed_by END,
			claimed_until = CASE WHEN c.state = 'sending' THEN NULL ELSE c.claimed_until END,
			reason = CASE WHEN c.state = 'sending' THEN '' ELSE c.reason END
		FROM unnest($1::bigint[], $2::text[], $3::text[]) AS d (id, channel, ts)
		WHERE c.id = d.id AND (
			(c.state = 'sending' AND c.claimed_by = $4)
			OR (c.state IN ('answered', 'skipped') AND c.dm_ts = ''))
		RETURNING c.id`,
		pq.Array(ids), pq.Array(chans), pq.Array(tss), by, at)
	if err != nil {
		return nil, fmt.Errorf("storage: mark check-ins sent: %w", err)
	}
	done := make(map[int64]bool, len(marked))
	for _, id := range marked {
		done[id] = true
	}
	var lost []int64
	for _, id := range ids {
		if !done[id] {
			lost = append(lost, id)
		}
	}
	return lost, nil
}

// ReleaseCheckin gives up `by`'s claim on a check-in, returning it to
// scheduled with the reason it was not sent, for a later round to try again.
// ECONFLICT when `by` no longer holds the claim.
func (s *Store) ReleaseCheckin(ctx context.Context, id int64, by, reason string) error {
	res, err := s.db.ExecContext(ctx, `
		UPDATE checkins
		SET state = 'scheduled', claimed_by = '', claimed_until = NULL, reason = $3
		WHERE id = $1 AND state = 'sending' AND claimed_by = $2`,
		id, by, reason)
	if err != nil {
		return fmt.Errorf("storage: release check-in: %w", err)
	}
	return claimHeld(res, "release check-in")
}

// claimHeld returns ECONFLICT when an update guarded by a claim changed
// nothing.
func claimHeld(res sql.Result, op string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("storage: %s: %w", op, err)
	}
	if n == 0 {
		return fmt.Errorf("storage: %s: %w", op, okr.Errorf(okr.ECONFLICT, "That check-in is no longer claimed by this sender."))
	}
	return nil
}

// SetCheckinState ends an open check-in (scheduled, sending or sent) in a
// final state, away or undeliverable, with the reason, ending any claim and
// stamping closed_at with the store's clock. ECONFLICT when the check-in is
// not open (or does not exist); EINVALID for another state.
func (s *Store) SetCheckinState(ctx context.Context, id int64, state okr.CheckinState, reason string) error {
	if state != okr.Away && state != okr.Undeliverable {
		return fmt.Errorf("storage: set check-in state: %w", okr.Errorf(okr.EINVALID, "A check-in can only be set away or undeliverable."))
	}
	res, err := s.db.ExecContext(ctx, `
		UPDATE checkins
		SET state = $2, reason = $3, closed_at = $4, claimed_by = '', claimed_until = NULL
		WHERE id = $1 AND state IN ('scheduled', 'sending', 'sent')`,
		id, state, reason, s.now())
	if err != nil {
		return fmt.Errorf("storage: set check-in state: %w", mapError(err, ""))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("storage: set check-in state: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("storage: set check-in state: %w", okr.Errorf(okr.ECONFLICT, "That check-in is closed already."))
	}
	return nil
}

// ClaimReminders marks as reminded, in one statement, up to limit sent
// check-ins whose cycle is open at now, that had no reminder yet and whose
// team's reminder delay has passed since they were sent, and returns them. A
// team with a delay of 0 sends no reminders. Each check-in is returned once,
// ever, across concurrent callers.
func (s *Store) ClaimReminders(ctx context.Context, now time.Time, limit int) ([]okr.Checkin, error) {
	if limit <= 0 {
		return []okr.Checkin{}, nil
	}
	cs := []okr.Checkin{}
	// reminder_delay is in nanoseconds; PostgreSQL keeps microseconds.
	err := s.db.SelectContext(ctx, &cs, `
		WITH due AS (
			SELECT c.id
			FROM checkins c
			JOIN schedules sc ON sc.team_id = c.team_id
			WHERE c.state = 'sent' AND c.reminders_sent = 0
				AND sc.reminder_delay > 0
				AND c.sent_at + (sc.reminder_delay / 1000) * interval '1 microsecond' <= $1
				AND c.due_at > $2
			ORDER BY c.sent_at, c.id
			LIMIT $3
			FOR UPDATE OF c SKIP LOCKED
		)
		UPDATE checkins c
		SET reminders_sent = c.reminders_sent + 1
		FROM due
		WHERE c.id = due.id
		RETURNING `+checkinColumns,
		now, now.Add(-okr.CycleLength), limit)
	if err != nil {
		return nil, fmt.Errorf("storage: claim reminders: %w", err)
	}
	return cs, nil
}

// SetReminderTS records the message of a check-in's reminder.
func (s *Store) SetReminderTS(ctx context.Context, id int64, ts string) error {
	res, err := s.db.ExecContext(ctx, `
		UPDATE checkins
		SET reminder_ts = $2
		WHERE id = $1`, id, ts)
	if err != nil {
		return fmt.Errorf("storage: set reminder ts: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("storage: set reminder ts: %w", err)
	} else if n == 0 {
		return fmt.Errorf("storage: set reminder ts: %w", okr.Errorf(okr.ENOTFOUND, "That check-in does not exist."))
	}
	return nil
}

// CloseCheckins ends every open check-in (scheduled, sending or sent) whose
// cycle closed at now (due_at + okr.CycleLength <= now), stamping closed_at
// with now. It becomes away when the person is away on the last day of the
// cycle (absences.until >= cycle_start + 6, the local date before the one it
// closes on), and missed otherwise. It returns every check-in it closed;
// those with a DM (DMTS set) have a message to update.
func (s *Store) CloseCheckins(ctx context.Context, now time.Time) ([]okr.Checkin, error) {
	cs := []okr.Checkin{}
	err := s.db.SelectContext(ctx, &cs, `
		WITH closed AS (
			UPDATE checkins c
			SET state = CASE WHEN EXISTS (
					SELECT 1
					FROM absences a
					WHERE a.user_id = c.user_id AND a.until >= c.cycle_start + 6)
				THEN 'away' ELSE 'missed' END,
				closed_at = $2, claimed_by = '', claimed_until = NULL
			WHERE c.state IN ('scheduled', 'sending', 'sent') AND c.due_at <= $1
			RETURNING `+checkinColumns+`
		)
		SELECT `+checkinColumns+`
		FROM closed c
		ORDER BY c.due_at, c.id`,
		now.Add(-okr.CycleLength), now)
	if err != nil {
		return nil, fmt.Errorf("storage: close check-ins: %w", err)
	}
	return cs, nil
}

// Checkin returns a check-in by id.
func (s *Store) Checkin(ctx context.Context, id int64) (*okr.Checkin, error) {
	var c okr.Checkin
	err := s.db.GetContext(ctx, &c, `
		SELECT `+checkinColumns+`
		FROM checkins c
		WHERE c.id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("storage: check-in: %w", mapError(err, "That check-in does not exist."))
	}
	return &c, nil
}

// OpenCheckins returns a person's open check-ins (scheduled, sending or
// sent) in every team, the oldest due first.
func (s *Store) OpenCheckins(ctx context.Context, userID string) ([]okr.Checkin, error) {
	cs := []okr.Checkin{}
	err := s.db.SelectContext(ctx, &cs, `
		SELECT `+checkinColumns+`
		FROM checkins c
		WHERE c.user_id = $1 AND c.state IN ('scheduled', 'sending', 'sent')
		ORDER BY c.due_at, c.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("storage: open check-ins: %w", err)
	}
	return cs, nil
}

// OwnedKeyResults returns the key results a person owns in active objectives
// of the periods open at now, in one team (teamID) or in all (0), with their
// objective's title and their team, ordered by team name, objective and
// position.
func (s *Store) OwnedKeyResults(ctx context.Context, userID string, teamID int64, now time.Time) ([]okr.OwnedKeyResult, error) {
	krs := []okr.OwnedKeyResult{}
	err := s.db.SelectContext(ctx, &krs, `
		SELECT `+keyResultColumns+`,
			o.title AS objective_title, o.team_id, t.name AS team_name
		FROM key_results kr
		JOIN objectives o ON o.id = kr.objective_id
		JOIN periods p ON p.id = o.period_id
		JOIN teams t ON t.id = o.team_id
		WHERE kr.owner_id = $1
			AND (CAST($2 AS bigint) = 0 OR o.team_id = $2)
			AND o.status = 'active' AND p.starts_at <= $3 AND p.ends_at > $3
		ORDER BY lower(t.name), t.id, o.id, kr.position, kr.id`,
		userID, teamID, now)
	if err != nil {
		return nil, fmt.Errorf("storage: owned key results: %w", err)
	}
	return krs, nil
}

// OwnedKeyResultsOf is OwnedKeyResults for many people at once, each in
// one team: the key results of each (person, team) pair, keyed by pair.
func (s *Store) OwnedKeyResultsOf(ctx context.Context, pairs []okr.TeamMember, now time.Time) (map[okr.TeamMember][]okr.OwnedKeyResult, error) {
	out := make(map[okr.TeamMember][]okr.OwnedKeyResult, len(pairs))
	if len(pairs) == 0 {
		return out, nil
	}
	users := make([]string, len(pairs))
	teams := make([]int64, len(pairs))
	for i, p := range pairs {
		users[i], teams[i] = p.UserID, p.TeamID
		out[p] = []okr.OwnedKeyResult{}
	}
	var krs []okr.OwnedKeyResult
	err := s.db.SelectContext(ctx, &krs, `
		SELECT `+keyResultColumns+`,
			o.title AS objective_title, o.team_id, t.name AS team_name
		FROM unnest($1::text[], $2::bigint[]) AS w (user_id, team_id)
		JOIN key_results kr ON kr.owner_id = w.user_id
		JOIN objectives o ON o.id = kr.objective_id AND o.team_id = w.team_id
		JOIN periods p ON p.id = o.period_id
		JOIN teams t ON t.id = o.team_id
		WHERE o.status = 'active' AND p.starts_at <= $3 AND p.ends_at > $3
		ORDER BY lower(t.name), t.id, o.id, kr.position, kr.id`,
		pq.Array(users), pq.Array(teams), now)
	if err != nil {
		return nil, fmt.Errorf("storage: owned key results: %w", err)
	}
	for _, kr := range krs {
		k := okr.TeamMember{UserID: kr.OwnerID, TeamID: kr.TeamID}
		out[k] = append(out[k], kr)
	}
	return out, nil
}

// RecordCheckin writes a person's answers in one transaction: each of
// a.Readings as RecordReading does, with the check-in, by a.UserID and read
// at a.At unless the reading says otherwise; then for each update, a
// kr_updates row stamped a.At and the key result's new current value and,
// when one was given (> 0), its confidence, evaluated against the key
// result's off-track alert (KPI readings and updates write their alert
// events to the outbox), and with a confidence_drop event when the
// confidence fell by okr.ConfidenceDropAlert or more. For a check-in
// (a.CheckinID set) it also sets the check-in answered with the blockers,
// ends any claim and deletes its drafts; it reports false and writes nothing
// when the check-in is no longer open, EFORBIDDEN when it is someone else's
// and ENOTFOUND when it does not exist. Without a check-in the updates are
// off-cycle. An update of a key result that does not exist fails the whole
// answer with ENOTFOUND, and a reading of an archived KPI with EINVALID.
// Whether a.UserID may update each key result or KPI is the caller's to
// decide.
func (s *Store) RecordCheckin(ctx context.Context, a okr.CheckinAnswer) (bool, error) {
	now := s.now()
	at := a.At.UTC().Round(time.Microsecond)
	if a.At.IsZero() {
		at = now
	}
	if err := s.prepareHot(ctx); err != nil {
		return false, fmt.Errorf("storage: record check-in: %w", err)
	}
	recorded := false
	err := s.withTx(ctx, func(tx *sqlx.Tx) error {
		if err := genericPlans(ctx, tx); err != nil {
			return err
		}
		if a.CheckinID != nil {
			var c struct {
				UserID string           `db:"user_id"`
				State  okr.CheckinState `db:"state"`
			}
			err := tx.GetContext(ctx, &c, `
				SELECT user_id, state
				FROM checkins
				WHERE id = $1
				FOR UPDATE`, *a.CheckinID)
			if err != nil {
				return mapError(err, "That check-in does not exist.")
			}
			if c.State != okr.Scheduled && c.State != okr.Sending && c.State != okr.Sent {
				return nil
			}
			if c.UserID != a.UserID {
				return okr.Errorf(okr.EFORBIDDEN, "That check-in is someone else's.")
			}
		}
		if err := lockAnswered(ctx, tx, a); err != nil {
			return err
		}
		for _, r := range a.Readings {
			if r.UserID == "" {
				r.UserID = a.UserID
			}
			if r.At.IsZero() {
				r.At = at
			}
			if _, err := s.recordReading(ctx, tx, &r, a.CheckinID, now); err != nil {
				return err
			}
		}
		for _, u := range a.Updates {
			if err := s.recordKRUpdate(ctx, tx, u, a.UserID, a.CheckinID, at, now); err != nil {
				return err
			}
		}
		if a.CheckinID != nil {
			if _, err := tx.ExecContext(ctx, `
				UPDATE checkins
				SET state = 'answered', answered_at = $2, blockers = $3,
					claimed_by = '', claimed_until = NULL
				WHERE id = $1`, *a.CheckinID, at, a.Blockers); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `
				DELETE FROM checkin_drafts
				WHERE checkin_id = $1`, *a.CheckinID); err != nil {
				return err
			}
		}
		recorded = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("storage: record check-in: %w", mapError(err, ""))
	}
	return recorded, nil
}

// lockAnswered locks, in one order for every transaction, what an answer
// changes: the KPIs read, by id, then the key results updated or following
// those KPIs, by id. A reading locks its KPI and then the KPI's key
// results, and an update its key result, so two answers, or an answer and
// RecordReading, always wait for each other in the same order and never
// deadlock.
func lockAnswered(ctx context.Context, tx *sqlx.Tx, a okr.CheckinAnswer) error {
	kpiIDs := make([]int64, len(a.Readings))
	for i, r := range a.Readings {
		kpiIDs[i] = r.KPIID
	}
	krIDs := make([]int64, len(a.Updates))
	for i, u := range a.Updates {
		krIDs[i] = u.KeyResultID
	}
	if len(kpiIDs) > 0 {
		if _, err := tx.ExecContext(ctx, `
			SELECT id
			FROM kpis
			WHERE id = ANY($1)
			ORDER BY id
			FOR NO KEY UPDATE`, pq.Array(kpiIDs)); err != nil {
			return err
		}
	}
	if len(krIDs) > 0 || len(kpiIDs) > 0 {
		if _, err := tx.ExecContext(ctx, `
			SELECT id
			FROM key_results
			WHERE id = ANY($1) OR kpi_id = ANY($2)
			ORDER BY id
			FOR NO KEY UPDATE`, pq.Array(krIDs), pq.Array(kpiIDs)); err != nil {
			return err
		}
	}
	return nil
}

// recordKRUpdate stores one update by userID and moves its key result to
// the new value (and confidence, when one was given), then evaluates the
// key result: its off-track alert when a confidence was given, and a
// confidence drop from the confidence it had before. Events are stamped now.
func (s *Store) recordKRUpdate(ctx context.Context, tx *sqlx.Tx, u okr.KRUpdate, userID string, checkinID *int64, at, now time.Time) error {
	var kr struct {
		TeamID     int64   `db:"team_id"`
		Current    float64 `db:"current_value"`
		Confidence int     `db:"confidence"`
	}
	err := tx.GetContext(ctx, &kr, `
		SELECT o.team_id, kr.current_value, kr.confidence
		FROM key_results kr
		JOIN objectives o ON o.id = kr.objective_id
		WHERE kr.id = $1
		FOR NO KEY UPDATE OF kr`, u.KeyResultID)
	if errors.Is(err, sql.ErrNoRows) {
		return okr.Errorf(okr.ENOTFOUND, "That key result does not exist (any more).")
	} else if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `
		UPDATE key_results
		SET current_value = $2,
			confidence = CASE WHEN $3 > 0 THEN $3 ELSE confidence END,
			updated_at = $4
		WHERE id = $1`, u.KeyResultID, u.Value, u.Confidence, at); err != nil {
		return err
	}
	var id int64
	err = tx.QueryRowxContext(ctx, `
		INSERT INTO kr_updates (key_result_id, value, confidence, status, comment,
			user_id, checkin_id, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		RETURNING id`,
		u.KeyResultID, u.Value, u.Confidence, u.Status, u.Comment, userID, checkinID, at,
	).Scan(&id)
	if err != nil {
		return err
	}

	subj := alertSubject{TeamID: kr.TeamID, Kind: "kr", ID: u.KeyResultID}
	source := "kr_update:" + strconv.FormatInt(id, 10)
	if u.Confidence > 0 {
		status := okr.ConfidenceStatus(u.Confidence)
		_, err := s.applyAlerts(ctx, tx, []alertCheck{{
			Subject: subj,
			Rule:    okr.RuleKROffTrack,
			Observe: func(open okr.Colour) okr.Colour { return okr.KROffTrackLevel(open, status) },
			Obs:     observation{Value: u.Value, PreviousValue: &kr.Current, UserID: userID, Source: source},
		}}, now)
		if err != nil {
			return err
		}
	}
	if okr.ConfidenceDropped(kr.Confidence, u.Confidence) {
		previous := float64(kr.Confidence)
		_, err := s.insertAlertEvents(ctx, tx, []okr.AlertEvent{{
			TeamID: subj.TeamID, SubjectKind: subj.Kind, SubjectID: subj.ID,
			Rule: okr.RuleConfidenceDrop, Change: okr.Happened, Level: okr.Red,
			Value: float64(u.Confidence), PreviousValue: &previous, UserID: userID, CreatedAt: now,
		}}, []string{source})
		if err != nil {
			return err
		}
	}
	return nil
}

// SkipCheckin marks an open check-in skipped at `at`, ending any claim. It
// reports false when the check-in was not open (or does not exist).
func (s *Store) SkipCheckin(ctx context.Context, id int64, at time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `
		UPDATE checkins
		SET state = 'skipped', closed_at = $2, claimed_by = '', claimed_until = NULL
		WHERE id = $1 AND state IN ('scheduled', 'sending', 'sent')`, id, at)
	if err != nil {
		return false, fmt.Errorf("storage: skip check-in: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("storage: skip check-in: %w", err)
	}
	return n == 1, nil
}

// SaveCheckinDraft keeps the answers (a JSON document) of one page of a
// check-in answered over several pages, replacing what was saved for that
// page. ENOTFOUND when the check-in does not exist.
func (s *Store) SaveCheckinDraft(ctx context.Context, checkinID int64, page int, answers json.RawMessage) error {
	if !json.Valid(answers) {
		return fmt.Errorf("storage: save check-in draft: %w", okr.Errorf(okr.EINVALID, "The answers are not valid JSON."))
	}
	_, err := s.db.ExecContext(ctx, `
		INSERT INTO checkin_drafts (checkin_id, page, answers, saved_at)
		VALUES ($1, $2, CAST($3 AS jsonb), $4)
		ON CONFLICT (checkin_id, page) DO UPDATE
			SET answers = EXCLUDED.answers, saved_at = EXCLUDED.saved_at`,
		checkinID, page, string(answers), s.now())
	if err != nil {
		return fmt.Errorf("storage: save check-in draft: %w", mapError(err, ""))
	}
	return nil
}

// CheckinDrafts returns the answers saved for a check-in's pages, by page.
func (s *Store) CheckinDrafts(ctx context.Context, checkinID int64) ([]json.RawMessage, error) {
	var pages [][]byte
	err := s.db.SelectContext(ctx, &pages, `
		SELECT answers
		FROM checkin_drafts
		WHERE checkin_id = $1
		ORDER BY page`, checkinID)
	if err != nil {
		return nil, fmt.Errorf("storage: check-in drafts: %w", err)
	}
	drafts := make([]json.RawMessage, len(pages))
	for i, p := range pages {
		drafts[i] = p
	}
	return drafts, nil
}
