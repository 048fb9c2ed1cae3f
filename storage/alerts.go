package storage

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/okrbot/okrbot/okr"
)

const alertColumns = `a.id, a.team_id, a.subject_kind, a.subject_id, a.rule, a.level, a.state,
	a.channel_id, a.message_ts, a.opened_at, a.resolved_at`

const alertEventColumns = `e.id, e.alert_id, e.team_id, e.subject_kind, e.subject_id, e.rule,
	e.change, e.level, e.previous, e.value, e.previous_value, e.user_id, e.created_at,
	e.state, e.channel_id, e.message_ts, e.posted_at, e.reason`

// alertSubject is what an alert is about: a KPI ("kpi") or a key result
// ("kr") of a team.
type alertSubject struct {
	TeamID int64
	Kind   string
	ID     int64
}

// observation is what an evaluation saw, as its event tells it: the value
// and the one before, who reported it, and the cause (e.g. "reading:42"),
// of which each rule writes one event at most.
type observation struct {
	Value         float64
	PreviousValue *float64
	UserID        string
	Source        string
}

// alertCheck is one evaluation of a rule that holds a state (KPI health,
// off track, behind pace) for a subject: Observe returns the level seen,
// given the level of the alert open for the rule ("" when none is).
type alertCheck struct {
	Subject alertSubject
	Rule    okr.AlertRule
	Observe func(open okr.Colour) okr.Colour
	Obs     observation
}

// openAlertsQuery locks the open alerts of subjects for rules, in id order.
const openAlertsQuery = `
	SELECT a.id, a.subject_kind, a.subject_id, a.rule, a.level
	FROM alerts a
	JOIN unnest(CAST($1 AS text[]), CAST($2 AS bigint[]), CAST($3 AS text[]))
		AS c (kind, id, rule)
		ON a.subject_kind = c.kind AND a.subject_id = c.id AND a.rule = c.rule
	WHERE a.state = 'open'
	ORDER BY a.id
	FOR UPDATE OF a`

// The statements of applyAlerts, prepared like the other hot queries.
const (
	// openAlertQuery opens alerts, none where one is open already.
	openAlertQuery = `
		INSERT INTO alerts (team_id, subject_kind, subject_id, rule, level, state, opened_at)
		SELECT n.team_id, n.kind, n.id, n.rule, n.level, 'open', $6
		FROM unnest(CAST($1 AS bigint[]), CAST($2 AS text[]), CAST($3 AS bigint[]),
			CAST($4 AS text[]), CAST($5 AS text[])) AS n (team_id, kind, id, rule, level)
		ON CONFLICT (subject_kind, subject_id, rule) WHERE state = 'open' DO NOTHING
		RETURNING id, subject_kind, subject_id, rule`
	// moveAlertsQuery sets alerts' levels.
	moveAlertsQuery = `
		UPDATE alerts a
		SET level = m.level
		FROM unnest(CAST($1 AS bigint[]), CAST($2 AS text[])) AS m (id, level)
		WHERE a.id = m.id`
	// resolveAlertsQuery resolves alerts.
	resolveAlertsQuery = `
		UPDATE alerts
		SET state = 'resolved', resolved_at = $2
		WHERE id = ANY($1)`
	// appliedQuery returns which causes wrote an event for a rule already.
	appliedQuery = `
		SELECT e.source, e.rule
		FROM alert_events e
		JOIN unnest(CAST($1 AS text[]), CAST($2 AS text[])) AS n (source, rule)
			ON e.source = n.source AND e.rule = n.rule`
	// insertAlertEventsQuery writes events, each once for its cause and rule.
	insertAlertEventsQuery = `
		WITH stored AS (
			INSERT INTO alert_events AS e (alert_id, team_id, subject_kind, subject_id, rule,
				change, level, previous, value, previous_value, user_id, source, created_at)
			SELECT n.alert_id, n.team_id, n.kind, n.id, n.rule, n.change, n.level, n.previous,
				n.value, n.previous_value, n.user_id, n.source, $13
			FROM unnest(CAST($1 AS bigint[]), CAST($2 AS bigint[]), CAST($3 AS text[]),
				CAST($4 AS bigint[]), CAST($5 AS text[]), CAST($6 AS text[]), CAST($7 AS text[]),
				CAST($8 AS text[]), CAST($9 AS double precision[]), CAST($10 AS double precision[]),
				CAST($11 AS text[]), CAST($12 AS text[]))
				AS n (alert_id, team_id, kind, id, rule, change, level, previous, value,
					previous_value, user_id, source)
			ON CONFLICT (source, rule) DO NOTHING
			RETURNING ` + alertEventColumns + `
		)
		SELECT id, alert_id, team_id, subject_kind, subject_id, rule, change, level,
			previous, value, previous_value, user_id, created_at, state, channel_id,
			message_ts, posted_at, reason
		FROM stored
		ORDER BY id`
)

// alertKey names a subject's alert for a rule.
type alertKey struct {
	Kind string
	ID   int64
	Rule okr.AlertRule
}

// applyAlerts applies checks in tx, in a few statements however many there
// are: it locks the subjects' open alerts for the rules, observes each
// level given its open level, and where okr.NextAlert says an alert
// changes, opens, moves or resolves it and writes the event announcing it.
// It returns the events written, in the order of checks. A check changes
// nothing when its Obs.Source already wrote an event for the rule: a cause
// is applied once.
//
// Each subject and rule appears once in checks, and the caller holds the
// lock on each subject (the KPI or the key result) or is the pace check:
// two evaluations of one subject and rule never interleave.
func (s *Store) applyAlerts(ctx context.Context, tx *sqlx.Tx, checks []alertCheck, now time.Time) ([]okr.AlertEvent, error) {
	if len(checks) == 0 {
		return nil, nil
	}
	kinds, ids, rules := make([]string, len(checks)), make([]int64, len(checks)), make([]string, len(checks))
	for i, c := range checks {
		kinds[i], ids[i], rules[i] = c.Subject.Kind, c.Subject.ID, string(c.Rule)
	}
	lookup, err := s.stmt(ctx, tx, openAlertsQuery)
	if err != nil {
		return nil, err
	}
	var open []struct {
		ID    int64         `db:"id"`
		Kind  string        `db:"subject_kind"`
		SubID int64         `db:"subject_id"`
		Rule  okr.AlertRule `db:"rule"`
		Level okr.Colour    `db:"level"`
	}
	if err := lookup.SelectContext(ctx, &open, pq.Array(kinds), pq.Array(ids), pq.Array(rules)); err != nil {
		return nil, err
	}
	type openAlert struct {
		id    int64
		level okr.Colour
	}
	opens := make(map[alertKey]openAlert, len(open))
	for _, a := range open {
		opens[alertKey{a.Kind, a.SubID, a.Rule}] = openAlert{a.ID, a.Level}
	}

	// What changes, and the events announcing it.
	var evs []okr.AlertEvent
	var sources []string
	for _, c := range checks {
		o := opens[alertKey{c.Subject.Kind, c.Subject.ID, c.Rule}]
		observed := c.Observe(o.level)
		change := okr.NextAlert(o.level, observed)
		if change == okr.NoChange {
			continue
		}
		ev := okr.AlertEvent{
			TeamID: c.Subject.TeamID, SubjectKind: c.Subject.Kind, SubjectID: c.Subject.ID,
			Rule: c.Rule, Change: change, Level: observed, Previous: o.level,
			Value: c.Obs.Value, PreviousValue: c.Obs.PreviousValue, UserID: c.Obs.UserID, CreatedAt: now,
		}
		if change != okr.Opened {
			ev.AlertID = &o.id
		}
		evs = append(evs, ev)
		sources = append(sources, c.Obs.Source)
	}
	if len(evs) == 0 {
		return nil, nil
	}
	evs, sources, err = s.dropApplied(ctx, tx, evs, sources)
	if err != nil || len(evs) == 0 {
		return nil, err
	}

	var opened, moved, resolved []int
	for i, ev := range evs {
		switch ev.Change {
		case okr.Opened:
			opened = append(opened, i)
		case okr.Worsened, okr.Improved:
			moved = append(moved, i)
		case okr.Recovered:
			resolved = append(resolved, i)
		}
	}
	if len(opened) > 0 {
		teams, kinds, ids, rules, levels := make([]int64, len(opened)), make([]string, len(opened)),
			make([]int64, len(opened)), make([]string, len(opened)), make([]string, len(opened))
		for j, i := range opened {
			ev := evs[i]
			teams[j], kinds[j], ids[j], rules[j], levels[j] = ev.TeamID, ev.SubjectKind, ev.SubjectID, string(ev.Rule), string(ev.Level)
		}
		var rows []struct {
			ID   int64         `db:"id"`
			Kind string        `db:"subject_kind"`
			Sub  int64         `db:"subject_id"`
			Rule okr.AlertRule `db:"rule"`
		}
		// An alert another evaluation opened first makes its check change
		// nothing, rather than fail.
		insert, err := s.stmt(ctx, tx, openAlertQuery)
		if err != nil {
			return nil, err
		}
		err = insert.SelectContext(ctx, &rows,
			pq.Array(teams), pq.Array(kinds), pq.Array(ids), pq.Array(rules), pq.Array(levels), now)
		if err != nil {
			return nil, err
		}
		alertIDs := make(map[alertKey]int64, len(rows))
		for _, r := range rows {
			alertIDs[alertKey{r.Kind, r.Sub, r.Rule}] = r.ID
		}
		for _, i := range opened {
			ev := &evs[i]
			if id, ok := alertIDs[alertKey{ev.SubjectKind, ev.SubjectID, ev.Rule}]; ok {
				ev.AlertID = &id
			}
		}
	}
	if len(moved) > 0 {
		ids, levels := make([]int64, len(moved)), make([]string, len(moved))
		for j, i := range moved {
			ids[j], levels[j] = *evs[i].AlertID, string(evs[i].Level)
		}
		move, err := s.stmt(ctx, tx, moveAlertsQuery)
		if err != nil {
			return nil, err
		}
		if _, err := move.ExecContext(ctx, pq.Array(ids), pq.Array(levels)); err != nil {
			return nil, err
		}
	}
	if len(resolved) > 0 {
		ids := make([]int64, len(resolved))
		for j, i := range resolved {
			ids[j] = *evs[i].AlertID
		}
		resolve, err := s.stmt(ctx, tx, resolveAlertsQuery)
		if err != nil {
			return nil, err
		}
		if _, err := resolve.ExecContext(ctx, pq.Array(ids), now); err != nil {
			return nil, err
		}
	}
	// Keep the events of alerts that opened.
	kept, keptSources := evs[:0], sources[:0]
	for i, ev := range evs {
		if ev.AlertID != nil {
			kept, keptSources = append(kept, ev), append(keptSources, sources[i])
		}
	}
	return s.insertAlertEvents(ctx, tx, kept, keptSources)
}

// dropApplied returns the events, with their sources, whose source wrote no
// event for their rule yet.
func (s *Store) dropApplied(ctx context.Context, tx *sqlx.Tx, evs []okr.AlertEvent, sources []string) ([]okr.AlertEvent, []string, error) {
	rules := make([]string, len(evs))
	for i, ev := range evs {
		rules[i] = string(ev.Rule)
	}
	var applied []struct {
		Source string        `db:"source"`
		Rule   okr.AlertRule `db:"rule"`
	}
	applies, err := s.stmt(ctx, tx, appliedQuery)
	if err != nil {
		return nil, nil, err
	}
	err = applies.SelectContext(ctx, &applied, pq.Array(sources), pq.Array(rules))
	if err != nil || len(applied) == 0 {
		return evs, sources, err
	}
	done := make(map[string]bool, len(applied))
	for _, a := range applied {
		done[string(a.Rule)+" "+a.Source] = true
	}
	var keptEvs []okr.AlertEvent
	var keptSources []string
	for i, ev := range evs {
		if !done[string(ev.Rule)+" "+sources[i]] {
			keptEvs, keptSources = append(keptEvs, ev), append(keptSources, sources[i])
		}
	}
	return keptEvs, keptSources, nil
}

// insertAlertEvents writes evs to the outbox as pending, each caused by its
// source, and returns them as stored, in order; an event whose source
// already wrote one for its rule is left out.
func (s *Store) insertAlertEvents(ctx context.Context, tx *sqlx.Tx, evs []okr.AlertEvent, sources []string) ([]okr.AlertEvent, error) {
	if len(evs) == 0 {
		return nil, nil
	}
	n := len(evs)
	alertIDs, teams, kinds, ids := make([]*int64, n), make([]int64, n), make([]string, n), make([]int64, n)
	rules, changes, levels, previous := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	values, previousValues, users := make([]float64, n), make([]*float64, n), make([]string, n)
	for i, ev := range evs {
		alertIDs[i], teams[i], kinds[i], ids[i] = ev.AlertID, ev.TeamID, ev.SubjectKind, ev.SubjectID
		rules[i], changes[i], levels[i], previous[i] = string(ev.Rule), string(ev.Change), string(ev.Level), string(ev.Previous)
		values[i], previousValues[i], users[i] = ev.Value, ev.PreviousValue, ev.UserID
	}
	insert, err := s.stmt(ctx, tx, insertAlertEventsQuery)
	if err != nil {
		return nil, err
	}
	var stored []okr.AlertEvent
	err = insert.SelectContext(ctx, &stored,
		pq.Array(alertIDs), pq.Array(teams), pq.Array(kinds), pq.Array(ids), pq.Array(rules),
		pq.Array(changes), pq.Array(levels), pq.Array(previous), pq.Array(values),
		pq.Array(previousValues), pq.Array(users), pq.Array(sources), evs[0].CreatedAt)
	return stored, err
}

// claimedAlertEvent is an alert event as a claim returns it, with whether
// it was taken over from an expired claim.
type claimedAlertEvent struct {
	okr.AlertEvent
	WasPosting bool `db:"recovered"`
}

// ClaimAlertEvents claims, in one statement, up to limit alert events that
// are pending, or posting under a claim that expired before now, oldest
// first. They become posting, claimed by `by` until now+lease, with one more
// attempt. Events claimed by another transaction at the same moment are
// skipped, never waited for or claimed twice. Those taken over from an
// expired claim have Recovered set: their message may have been posted.
func (s *Store) ClaimAlertEvents(ctx context.Context, now time.Time, by string, lease time.Duration, limit int) ([]okr.AlertEvent, error) {
	if limit <= 0 {
		return []okr.AlertEvent{}, nil
	}
	var claimed []claimedAlertEvent
	err := s.db.SelectContext(ctx, &claimed, `
		WITH due AS (
			SELECT id, state
			FROM alert_events
			WHERE state = 'pending' OR (state = 'posting' AND claimed_until < $1)
			ORDER BY created_at, id
			LIMIT $2
			FOR UPDATE SKIP LOCKED
		), claimed AS (
			UPDATE alert_events e
			SET state = 'posting', claimed_by = $3, claimed_until = $4, attempts = e.attempts + 1
			FROM due
			WHERE e.id = due.id
			RETURNING `+alertEventColumns+`, due.state = 'posting' AS recovered
		)
		SELECT id, alert_id, team_id, subject_kind, subject_id, rule, change, level,
			previous, value, previous_value, user_id, created_at, state, channel_id,
			message_ts, posted_at, reason, recovered
		FROM claimed
		ORDER BY created_at, id`,
		now, limit, by, now.Add(lease))
	if err != nil {
		return nil, fmt.Errorf("storage: claim alert events: %w", err)
	}
	evs := make([]okr.AlertEvent, len(claimed))
	for i, c := range claimed {
		evs[i] = c.AlertEvent
		evs[i].Recovered = c.WasPosting
	}
	return evs, nil
}

// MarkAlertPosted records that an event's message was posted as ts in
// channel at `at`, and ends the claim; for an event that opened its alert,
// the message is the alert's too. ECONFLICT when `by` no longer holds the
// claim: it expired and another poster took the event over.
func (s *Store) MarkAlertPosted(ctx context.Context, id int64, by, channel, ts string, at time.Time) error {
	var n int
	err := s.db.GetContext(ctx, &n, `
		WITH posted AS (
			UPDATE alert_events
			SET state = 'posted', channel_id = $3, message_ts = $4, posted_at = $5,
				claimed_by = '', claimed_until = NULL, reason = ''
			WHERE id = $1 AND state = 'posting' AND claimed_by = $2
			RETURNING alert_id, change
		), alert AS (
			UPDATE alerts a
			SET channel_id = $3, message_ts = $4
			FROM posted
			WHERE a.id = posted.alert_id AND posted.change = 'opened'
		)
		SELECT count(*)
		FROM posted`,
		id, by, channel, ts, at)
	if err != nil {
		return fmt.Errorf("storage: mark alert posted: %w", err)
	}
	return alertClaimHeld(n, "mark alert posted")
}

// MarkAlertFailed ends an event that can never be posted with the reason,
// and ends the claim; its alert stays as it is. ECONFLICT when `by` no
// longer holds the claim.
func (s *Store) MarkAlertFailed(ctx context.Context, id int64, by, reason string) error {
	res, err := s.db.ExecContext(ctx, `
		UPDATE alert_events
		SET state = 'failed', reason = $3, claimed_by = '', claimed_until = NULL
		WHERE id = $1 AND state = 'posting' AND claimed_by = $2`,
		id, by, reason)
	if err != nil {
		return fmt.Errorf("storage: mark alert failed: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("storage: mark alert failed: %w", err)
	}
	return alertClaimHeld(int(n), "mark alert failed")
}

// ReleaseAlertEvent gives up `by`'s claim on an event, returning it to
// pending with the reason it was not posted, for a later round to try
// again. ECONFLICT when `by` no longer holds the claim.
func (s *Store) ReleaseAlertEvent(ctx context.Context, id int64, by, reason string) error {
	res, err := s.db.ExecContext(ctx, `
		UPDATE alert_events
		SET state = 'pending', claimed_by = '', claimed_until = NULL, reason = $3
		WHERE id = $1 AND state = 'posting' AND claimed_by = $2`,
		id, by, reason)
	if err != nil {
		return fmt.Errorf("storage: release alert event: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("storage: release alert event: %w", err)
	}
	return alertClaimHeld(int(n), "release alert event")
}

// alertClaimHeld returns ECONFLICT when an update guarded by a claim
// changed nothing (n rows).
func alertClaimHeld(n int, op string) error {
	if n == 0 {
		return fmt.Errorf("storage: %s: %w", op, okr.Errorf(okr.ECONFLICT, "That alert event is no longer claimed by this poster."))
	}
	return nil
}

// OpenAlerts returns a team's open alerts, oldest first.
func (s *Store) OpenAlerts(ctx context.Context, teamID int64) ([]okr.Alert, error) {
	as := []okr.Alert{}
	err := s.db.SelectContext(ctx, &as, `
		SELECT `+alertColumns+`
		FROM alerts a
		WHERE a.team_id = $1 AND a.state = 'open'
		ORDER BY a.opened_at, a.id`, teamID)
	if err != nil {
		return nil, fmt.Errorf("storage: open alerts: %w", err)
	}
	return as, nil
}

// AlertEvent returns an alert event by id.
func (s *Store) AlertEvent(ctx context.Context, id int64) (*okr.AlertEvent, error) {
	var ev okr.AlertEvent
	err := s.db.GetContext(ctx, &ev, `
		SELECT `+alertEventColumns+`
		FROM alert_events e
		WHERE e.id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("storage: alert event: %w", mapError(err, "That alert event does not exist."))
	}
	return &ev, nil
}

// paceBatch is how many changed key results EvaluatePace writes per
// transaction.
const paceBatch = 2000

// paceKeyResult is a key result the pace check looks at, with its team,
// its period and the level of its open behind-pace alert ("" when none).
type paceKeyResult struct {
	okr.KeyResult
	TeamID    int64      `db:"team_id"`
	StartsAt  time.Time  `db:"starts_at"`
	EndsAt    time.Time  `db:"ends_at"`
	OpenLevel okr.Colour `db:"open_level"`
}

// EvaluatePace checks every metric key result of an active objective whose
// period is open at now against the pace at now (okr.PaceLevel of its
// progress and the fraction of the period elapsed), opening or resolving
// its behind-pace alert with an event, caused by "pace:<key result>:<now's
// UTC date>". A key result is evaluated once a day: a later run the same
// day writes nothing for it. Behind-pace alerts of key results it no longer
// checks (closed objective, period over, key result gone) are resolved
// without an announcement. It returns how many events it wrote.
//
// One query reads every key result with its open alert; only those whose
// alert changes are written, in transactions of paceBatch, each locking
// their alerts again.
func (s *Store) EvaluatePace(ctx context.Context, now time.Time) (int, error) {
	day := now.UTC().Format(time.DateOnly)
	if err := s.prepareHot(ctx); err != nil {
		return 0, fmt.Errorf("storage: evaluate pace: %w", err)
	}
	var krs []paceKeyResult
	err := s.db.SelectContext(ctx, &krs, `
		SELECT `+keyResultColumns+`, o.team_id, p.starts_at, p.ends_at,
			COALESCE(a.level, '') AS open_level
		FROM key_results kr
		JOIN objectives o ON o.id = kr.objective_id
		JOIN periods p ON p.id = o.period_id
		LEFT JOIN alerts a ON a.subject_kind = 'kr' AND a.subject_id = kr.id
			AND a.rule = 'behind_pace' AND a.state = 'open'
		WHERE kr.kind = 'metric' AND o.status = 'active'
			AND p.starts_at <= $1 AND p.ends_at > $1
			AND NOT EXISTS (
				SELECT 1
				FROM alert_events e
				WHERE e.source = 'pace:' || kr.id || ':' || $2 AND e.rule = 'behind_pace')
		ORDER BY kr.id`, now, day)
	if err != nil {
		return 0, fmt.Errorf("storage: evaluate pace: %w", err)
	}
	var changed []paceKeyResult
	for _, kr := range krs {
		if okr.NextAlert(kr.OpenLevel, paceLevel(kr, now)) != okr.NoChange {
			changed = append(changed, kr)
		}
	}
	written, stamp := 0, s.now()
	for len(changed) > 0 {
		batch := changed[:min(paceBatch, len(changed))]
		changed = changed[len(batch):]
		checks := make([]alertCheck, len(batch))
		for i, kr := range batch {
			level := paceLevel(kr, now)
			checks[i] = alertCheck{
				Subject: alertSubject{TeamID: kr.TeamID, Kind: "kr", ID: kr.ID},
				Rule:    okr.RuleBehindPace,
				Observe: func(okr.Colour) okr.Colour { return level },
				Obs:     observation{Value: kr.Current, Source: "pace:" + strconv.FormatInt(kr.ID, 10) + ":" + day},
			}
		}
		var evs []okr.AlertEvent
		err := s.withTx(ctx, func(tx *sqlx.Tx) error {
			var err error
			evs, err = s.applyAlerts(ctx, tx, checks, stamp)
			return err
		})
		if err != nil {
			return written, fmt.Errorf("storage: evaluate pace: %w", err)
		}
		written += len(evs)
	}
	_, err = s.db.ExecContext(ctx, `
		UPDATE alerts a
		SET state = 'resolved', resolved_at = $2
		WHERE a.rule = 'behind_pace' AND a.state = 'open' AND NOT EXISTS (
			SELECT 1
			FROM key_results kr
			JOIN objectives o ON o.id = kr.objective_id
			JOIN periods p ON p.id = o.period_id
			WHERE kr.id = a.subject_id AND kr.kind = 'metric' AND o.status = 'active'
				AND p.starts_at <= $1 AND p.ends_at > $1)`, now, stamp)
	if err != nil {
		return written, fmt.Errorf("storage: evaluate pace: %w", err)
	}
	return written, nil
}

// paceLevel is the behind-pace level of a key result at now.
func paceLevel(kr paceKeyResult, now time.Time) okr.Colour {
	elapsed := okr.Period{Start: kr.StartsAt, End: kr.EndsAt}.Elapsed(now)
	return okr.PaceLevel(kr.Progress(), elapsed)
}
