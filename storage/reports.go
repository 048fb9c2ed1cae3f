package storage

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/okrbot/okrbot/okr"
)

// Reports: what a team's weekly digest and quarterly summary say. The
// arithmetic is okr's; here are the few set-based queries that feed it.

// gradedObjective is an objective with what closing it froze.
type gradedObjective struct {
	okr.Objective
	// Score is the frozen score of a closed objective, nil before.
	Score     *float64 `db:"score"`
	CarryOver bool     `db:"carry_over"`
	// Carried reports whether the objective was carried over already.
	Carried bool `db:"carried"`
}

// frozenKeyResult is a key result with the final value its objective's
// closing froze, nil before.
type frozenKeyResult struct {
	okr.KeyResult
	Final *float64 `db:"final_value"`
}

// periodObjectives is a team's objectives of a period, with their key
// results and each key result's updates, corrected and in order of time:
// their values and times only.
type periodObjectives struct {
	objs    []gradedObjective
	finals  map[int64]*float64 // frozen final value by key result
	updates map[int64][]okr.KRUpdate
}

// reader runs the queries of reports: on the pool as statements prepared
// once (the summaries of all teams run each of them a thousand times, and
// planning is a good part of their cost), or in a transaction as they are.
type reader struct {
	s  *Store
	tx *sqlx.Tx
}

// stmt returns query prepared on the pool, preparing it the first time.
func (r reader) stmt(ctx context.Context, query string) (*sqlx.Stmt, error) {
	if st, ok := r.s.prepared.Load(query); ok {
		return st.(*sqlx.Stmt), nil
	}
	st, err := r.s.db.PreparexContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := r.s.prepared.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sqlx.Stmt), nil
	}
	return st, nil
}

func (r reader) selectx(ctx context.Context, dest any, query string, args ...any) error {
	if r.tx != nil {
		return r.tx.SelectContext(ctx, dest, query, args...)
	}
	st, err := r.stmt(ctx, query)
	if err != nil {
		return err
	}
	return st.SelectContext(ctx, dest, args...)
}

func (r reader) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if r.tx != nil {
		return r.tx.QueryContext(ctx, query, args...)
	}
	st, err := r.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (r reader) queryRow(ctx context.Context, query string, args ...any) *sqlx.Row {
	if r.tx != nil {
		return r.tx.QueryRowxContext(ctx, query, args...)
	}
	st, err := r.stmt(ctx, query)
	if err != nil {
		// A statement that cannot be prepared fails as it runs.
		return r.s.db.QueryRowxContext(ctx, query, args...)
	}
	return st.QueryRowxContext(ctx, args...)
}

// objectiveQuery selects the objectives of a team ($1) in a period (label
// $2), oldest first.
const objectiveQuery = `
	SELECT ` + objectiveColumns + `, o.score, o.carry_over,
		EXISTS (SELECT 1 FROM objectives c WHERE c.carried_from = o.id) AS carried
	FROM objectives o
	JOIN periods p ON p.id = o.period_id
	WHERE o.team_id = $1 AND p.label = $2`

// loadPeriodObjectives reads a team's objectives of a period (only the
// active ones when activeOnly), their key results (both locked, in that
// order, when lock), and the updates of those made until `until` with
// every correction of them, in three queries.
func loadPeriodObjectives(ctx context.Context, q reader, teamID int64, p okr.Period, until time.Time, activeOnly, lock bool) (*periodObjectives, error) {
	query := objectiveQuery
	if activeOnly {
		query += ` AND o.status = 'active'`
	}
	query += ` ORDER BY o.created_at, o.id`
	if lock {
		query += ` FOR UPDATE OF o`
	}
	po := &periodObjectives{finals: map[int64]*float64{}, updates: map[int64][]okr.KRUpdate{}}
	if err := q.selectx(ctx, &po.objs, query, teamID, p.Label()); err != nil {
		return nil, fmt.Errorf("objectives: %w", err)
	}
	if len(po.objs) == 0 {
		return po, nil
	}
	ids := make([]int64, len(po.objs))
	index := make(map[int64]int, len(po.objs))
	for i := range po.objs {
		ids[i] = po.objs[i].ID
		index[ids[i]] = i
		po.objs[i].KeyResults = []okr.KeyResult{}
	}
	krQuery := `
		SELECT ` + keyResultColumns + `, kr.final_value
		FROM key_results kr
		WHERE kr.objective_id = ANY($1)
		ORDER BY kr.objective_id, kr.position, kr.id`
	if lock {
		// Check-ins of the key results wait, and those committed before
		// are in the updates read next.
		krQuery += ` FOR NO KEY UPDATE OF kr`
	}
	var krs []frozenKeyResult
	err := q.selectx(ctx, &krs, krQuery, pq.Array(ids))
	if err != nil {
		return nil, fmt.Errorf("key results: %w", err)
	}
	krIDs := make([]int64, len(krs))
	for i, kr := range krs {
		o := &po.objs[index[kr.ObjectiveID]]
		o.KeyResults = append(o.KeyResults, kr.KeyResult)
		po.finals[kr.ID] = kr.Final
		krIDs[i] = kr.ID
	}
	if len(krIDs) == 0 {
		return po, nil
	}
	// Corrections are read whenever they were made: a correction says what
	// the value was at the time of the update it corrects.
	updates, err := scanUpdates(ctx, q, krIDs, until)
	if err != nil {
		return nil, fmt.Errorf("key result updates: %w", err)
	}
	for start := 0; start < len(updates); {
		end := start + 1
		for end < len(updates) && updates[end].KeyResultID == updates[start].KeyResultID {
			end++
		}
		group := updates[start:end:end]
		slices.SortFunc(group, byTime) // ties in time come in no order
		po.updates[updates[start].KeyResultID] = okr.CorrectedUpdates(group)
		start = end
	}
	return po, nil
}

// scanUpdates reads the updates of key results made until `until`, and
// every correction of them, by key result and time. It reads only the
// columns of kr_updates_kr_idx, in its order, so that the index alone
// answers without a sort; it scans the rows, a thousand for a team's
// quarter, by hand rather than by reflection, with their times in
// microseconds since the epoch, which parse faster than timestamps.
func scanUpdates(ctx context.Context, q reader, krIDs []int64, until time.Time) ([]okr.KRUpdate, error) {
	rows, err := q.query(ctx, `
		SELECT u.id, u.key_result_id, u.value, u.corrects_id,
			CAST(extract(epoch FROM u.created_at) * 1000000 AS bigint)
		FROM kr_updates u
		WHERE u.key_result_id = ANY($1)
			AND (u.created_at <= $2 OR u.corrects_id IS NOT NULL)
		ORDER BY u.key_result_id, u.created_at`, pq.Array(krIDs), until)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	updates := make([]okr.KRUpdate, 0, 64*len(krIDs))
	for rows.Next() {
		var u okr.KRUpdate
		var micros int64
		if err := rows.Scan(&u.ID, &u.KeyResultID, &u.Value, &u.CorrectsID, &micros); err != nil {
			return nil, err
		}
		u.CreatedAt = time.UnixMicro(micros).UTC()
		updates = append(updates, u)
	}
	return updates, rows.Err()
}

// byTime orders updates by time, then id: the order in which they hold.
func byTime(a, b okr.KRUpdate) int {
	if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// final returns a key result's final value at `at`: the one its closing
// froze, else its value then.
func (po *periodObjectives) final(kr *okr.KeyResult, at time.Time) float64 {
	if f := po.finals[kr.ID]; f != nil {
		return *f
	}
	return kr.AsOf(po.updates[kr.ID], at).Current
}

// grade grades an objective at `at`: a closed one with the grade its
// closing froze, any other with okr.Grade of its key results' values then.
func (po *periodObjectives) grade(o *gradedObjective, at time.Time) okr.ObjectiveScore {
	finals := make(map[int64]float64, len(o.KeyResults))
	for i := range o.KeyResults {
		finals[o.KeyResults[i].ID] = po.final(&o.KeyResults[i], at)
	}
	g := okr.Grade(o.Objective, finals)
	if o.Status == okr.Closed && o.Score != nil {
		g.Score = *o.Score
		g.Colour = okr.ScoreColour(g.Score)
		g.Achieved = okr.Achieved(o.Kind, g.Score)
		g.CarryOver = o.CarryOver
	}
	return g
}

// lastDigest returns when a team's last digest posted before now was
// posted, nil when none was.
func (s *Store) lastDigest(ctx context.Context, teamID int64, now time.Time) (*time.Time, error) {
	var at []time.Time
	err := reader{s: s}.selectx(ctx, &at, `
		SELECT posted_at
		FROM reports
		WHERE team_id = $1 AND kind = 'digest' AND state = 'posted' AND posted_at < $2
		ORDER BY posted_at DESC
		LIMIT 1`,
		teamID, now)
	if err != nil || len(at) == 0 {
		return nil, err
	}
	return &at[0], nil
}

// DigestData gathers a team's weekly digest for period p at now. Since is
// when the team's last digest was posted before now, else a week before
// now. Objectives are the team's active ones of p, with their progress now
// and, when there was a previous digest and they existed then, their
// progress at Since (from each key result's value then: its last update
// made at or before Since, as corrected, else its start). AtRisk are their
// key results whose last confidence is 1–6, lowest first. KPIs are the
// team's active KPIs with their last reading at or before now, its health
// and the values of the last 8. Blockers are those of the team's check-ins
// answered in (Since, now], oldest first. Participation is the state of
// each person's check-in due in (now − 7 days, now] (their latest, if
// several): answered, skipped, missed, away, or pending while open;
// undeliverable ones are left out. ENOTFOUND when the team does not exist.
func (s *Store) DigestData(ctx context.Context, teamID int64, p okr.Period, now time.Time) (*okr.Digest, error) {
	team, err := s.Team(ctx, teamID)
	if err != nil {
		return nil, fmt.Errorf("storage: digest data: %w", err)
	}
	d, err := s.digestData(ctx, team, p, now)
	if err != nil {
		return nil, fmt.Errorf("storage: digest data: %w", err)
	}
	return d, nil
}

func (s *Store) digestData(ctx context.Context, team *okr.Team, p okr.Period, now time.Time) (*okr.Digest, error) {
	d := &okr.Digest{Team: *team, Period: p, At: now, Since: now.Add(-okr.CycleLength)}
	last, err := s.lastDigest(ctx, team.ID, now)
	if err != nil {
		return nil, fmt.Errorf("last digest: %w", err)
	}
	if last != nil {
		d.Since = *last
	}
	po, err := loadPeriodObjectives(ctx, reader{s: s}, team.ID, p, d.Since, true, false)
	if err != nil {
		return nil, err
	}
	d.Objectives = make([]okr.DigestObjective, len(po.objs))
	d.AtRisk = []okr.KeyResult{}
	for i, o := range po.objs {
		do := okr.DigestObjective{Objective: o.Objective, Progress: o.Progress()}
		if last != nil && !o.CreatedAt.After(d.Since) {
			then := make([]okr.KeyResult, len(o.KeyResults))
			for j := range o.KeyResults {
				then[j] = o.KeyResults[j].AsOf(po.updates[o.KeyResults[j].ID], d.Since)
			}
			previous := okr.ObjectiveProgress(then)
			do.Previous = &previous
		}
		d.Objectives[i] = do
		for _, kr := range o.KeyResults {
			if kr.Confidence >= 1 && kr.Confidence <= 6 {
				d.AtRisk = append(d.AtRisk, kr)
			}
		}
	}
	slices.SortStableFunc(d.AtRisk, func(a, b okr.KeyResult) int { return a.Confidence - b.Confidence })

	if d.KPIs, err = s.kpiStatuses(ctx, team.ID, now); err != nil {
		return nil, err
	}
	if d.Blockers, err = s.blockers(ctx, team.ID, d.Since, now); err != nil {
		return nil, err
	}
	if d.Participation, err = s.participation(ctx, team.ID, now); err != nil {
		return nil, err
	}
	return d, nil
}

// trendLength is how many readings a KPI's trend shows.
const trendLength = 8

// kpiStatuses returns a team's active KPIs, by name, each with its last
// readings at or before now.
func (s *Store) kpiStatuses(ctx context.Context, teamID int64, now time.Time) ([]okr.KPIStatus, error) {
	var ks []okr.KPI
	err := reader{s: s}.selectx(ctx, &ks, `
		SELECT `+kpiColumns+`
		FROM kpis k
		WHERE k.team_id = $1 AND k.archived_at IS NULL
		ORDER BY lower(k.name), k.id`, teamID)
	if err != nil {
		return nil, fmt.Errorf("KPIs: %w", err)
	}
	statuses := make([]okr.KPIStatus, len(ks))
	if len(ks) == 0 {
		return statuses, nil
	}
	ids := make([]int64, len(ks))
	index := make(map[int64]int, len(ks))
	for i, k := range ks {
		statuses[i] = okr.KPIStatus{KPI: k, Trend: []float64{}}
		ids[i] = k.ID
		index[k.ID] = i
	}
	var rs []okr.Reading
	err = reader{s: s}.selectx(ctx, &rs, `
		SELECT r.id, r.kpi_id, r.value, r.read_at, r.user_id, r.note
		FROM unnest(CAST($1 AS bigint[])) AS k (id)
		CROSS JOIN LATERAL (
			SELECT `+readingColumns+`
			FROM kpi_readings r
			WHERE r.kpi_id = k.id AND r.read_at <= $2
			ORDER BY r.read_at DESC, r.id DESC
			LIMIT $3) r
		ORDER BY r.kpi_id, r.read_at, r.id`, pq.Array(ids), now, trendLength)
	if err != nil {
		return nil, fmt.Errorf("KPI readings: %w", err)
	}
	for _, r := range rs {
		st := &statuses[index[r.KPIID]]
		st.Trend = append(st.Trend, r.Value)
		st.Latest = &r
		st.Health = st.KPI.Health(r.Value)
	}
	return statuses, nil
}

// blockers returns the blockers of a team's check-ins answered in
// (since, now], oldest first, trimmed; blank ones are left out.
func (s *Store) blockers(ctx context.Context, teamID int64, since, now time.Time) ([]okr.Blocker, error) {
	var rows []struct {
		UserID     string    `db:"user_id"`
		Blockers   string    `db:"blockers"`
		AnsweredAt time.Time `db:"answered_at"`
	}
	err := reader{s: s}.selectx(ctx, &rows, `
		SELECT c.user_id, c.blockers, c.answered_at
		FROM checkins c
		WHERE c.team_id = $1 AND c.state = 'answered'
			AND c.answered_at > $2 AND c.answered_at <= $3
			AND c.blockers <> ''
		ORDER BY c.answered_at, c.id`, teamID, since, now)
	if err != nil {
		return nil, fmt.Errorf("blockers: %w", err)
	}
	bs := []okr.Blocker{}
	for _, r := range rows {
		if text := strings.TrimSpace(r.Blockers); text != "" {
			bs = append(bs, okr.Blocker{UserID: r.UserID, Text: text, At: r.AnsweredAt})
		}
	}
	return bs, nil
}

// participation returns what became of each person's latest check-in of a
// team due in (now − 7 days, now].
func (s *Store) participation(ctx context.Context, teamID int64, now time.Time) (okr.Participation, error) {
	var rows []struct {
		UserID string           `db:"user_id"`
		State  okr.CheckinState `db:"state"`
	}
	err := reader{s: s}.selectx(ctx, &rows, `
		SELECT DISTINCT ON (c.user_id) c.user_id, c.state
		FROM checkins c
		WHERE c.team_id = $1 AND c.due_at > $2 AND c.due_at <= $3
		ORDER BY c.user_id, c.due_at DESC, c.id DESC`,
		teamID, now.Add(-okr.CycleLength), now)
	if err != nil {
		return okr.Participation{}, fmt.Errorf("participation: %w", err)
	}
	p := okr.Participation{Answered: []string{}, Skipped: []string{}, Missed: []string{}, Away: []string{}, Pending: []string{}}
	for _, r := range rows {
		switch r.State {
		case okr.Answered:
			p.Answered = append(p.Answered, r.UserID)
		case okr.Skipped:
			p.Skipped = append(p.Skipped, r.UserID)
		case okr.Missed:
			p.Missed = append(p.Missed, r.UserID)
		case okr.Away:
			p.Away = append(p.Away, r.UserID)
		case okr.Scheduled, okr.Sending, okr.Sent:
			p.Pending = append(p.Pending, r.UserID)
		}
	}
	return p, nil
}

// SummaryData gathers a team's summary of period p at now. Its objectives
// are all the team's objectives of p, each graded (okr.Grade) with its key
// results' values at the period's end, or at now while it is under way
// (okr.LastInstant): each one's last update made by then, as corrected,
// else its start; a closed objective keeps the grade its closing froze.
// Closed is set when p has objectives and all are closed. KPIs are the
// team's KPIs not archived by p's start, each with its health shares
// (okr.HealthShares) over [p.Start, min(p.End, now)), or until it was
// archived. Answered and Expected count the team's check-ins of cycles
// starting in p: Expected leaves out the away, the undeliverable and those
// still open whose cycle has not ended at now. Series is each key result's
// okr.WeeklyProgress over okr.Weeks(p). ENOTFOUND when the team does not
// exist.
//
// It reads the team, its objectives, their key results, their updates, its
// KPIs, their readings and its check-in counts: seven queries, however
// many objectives and key results there are.
func (s *Store) SummaryData(ctx context.Context, teamID int64, p okr.Period, now time.Time) (*okr.Summary, error) {
	team, err := s.Team(ctx, teamID)
	if err != nil {
		return nil, fmt.Errorf("storage: summary data: %w", err)
	}
	sum, err := s.summaryData(ctx, team, p, now)
	if err != nil {
		return nil, fmt.Errorf("storage: summary data: %w", err)
	}
	return sum, nil
}

func (s *Store) summaryData(ctx context.Context, team *okr.Team, p okr.Period, now time.Time) (*okr.Summary, error) {
	at := okr.LastInstant(p.End, now)
	po, err := loadPeriodObjectives(ctx, reader{s: s}, team.ID, p, at, false, false)
	if err != nil {
		return nil, err
	}
	sum := &okr.Summary{
		Team: *team, Period: p, At: now, Closed: len(po.objs) > 0,
		Objectives: make([]okr.ObjectiveScore, len(po.objs)),
		Weeks:      okr.Weeks(p),
		Series:     []okr.KRSeries{},
	}
	for i := range po.objs {
		o := &po.objs[i]
		sum.Objectives[i] = po.grade(o, at)
		if o.Status != okr.Closed {
			sum.Closed = false
		}
		for _, kr := range o.KeyResults {
			sum.Series = append(sum.Series, okr.KRSeries{
				KeyResultID: kr.ID,
				Title:       kr.Title,
				Progress:    okr.WeeklyProgress(kr, po.updates[kr.ID], sum.Weeks, p.End, now),
			})
		}
	}
	end := p.End
	if now.Before(end) {
		end = now
	}
	if sum.KPIs, err = s.kpiShares(ctx, team.ID, p.Start, end, p.End); err != nil {
		return nil, err
	}
	err = reader{s: s}.queryRow(ctx, `
		SELECT count(*) FILTER (WHERE c.state = 'answered'),
			count(*) FILTER (WHERE c.state NOT IN ('away', 'undeliverable')
				AND NOT (c.state IN ('scheduled', 'sending', 'sent') AND c.due_at > $4))
		FROM checkins c
		WHERE c.team_id = $1 AND c.cycle_start >= $2 AND c.cycle_start < $3`,
		team.ID, p.Start.Format(time.DateOnly), p.End.Format(time.DateOnly), now.Add(-okr.CycleLength),
	).Scan(&sum.Answered, &sum.Expected)
	if err != nil {
		return nil, fmt.Errorf("check-ins: %w", err)
	}
	return sum, nil
}

// kpiShares returns the health shares over [from, to) of a team's KPIs
// created before periodEnd and not archived by from, by name; an archived
// one's until its archiving. It reads the KPIs, then their readings in the
// range with the last one of each before it.
func (s *Store) kpiShares(ctx context.Context, teamID int64, from, to, periodEnd time.Time) ([]okr.KPIShare, error) {
	var ks []okr.KPI
	err := reader{s: s}.selectx(ctx, &ks, `
		SELECT `+kpiColumns+`
		FROM kpis k
		WHERE k.team_id = $1 AND (k.archived_at IS NULL OR k.archived_at > $2)
			AND k.created_at < $3
		ORDER BY lower(k.name), k.id`, teamID, from, periodEnd)
	if err != nil {
		return nil, fmt.Errorf("KPIs: %w", err)
	}
	shares := make([]okr.KPIShare, len(ks))
	if len(ks) == 0 {
		return shares, nil
	}
	ids := make([]int64, len(ks))
	for i, k := range ks {
		ids[i] = k.ID
	}
	rs, err := scanReadings(ctx, reader{s: s}, ids, from, to)
	if err != nil {
		return nil, fmt.Errorf("KPI readings: %w", err)
	}
	byKPI := make(map[int64][]okr.Reading, len(ks))
	for start := 0; start < len(rs); {
		end := start + 1
		for end < len(rs) && rs[end].KPIID == rs[start].KPIID {
			end++
		}
		byKPI[rs[start].KPIID] = rs[start:end:end]
		start = end
	}
	for i, k := range ks {
		until := to
		if k.ArchivedAt != nil && k.ArchivedAt.Before(until) {
			until = *k.ArchivedAt
		}
		shares[i] = okr.HealthShares(k, byKPI[k.ID], from, until)
	}
	return shares, nil
}

// scanReadings reads the readings of KPIs in [from, to) and the last one
// of each before from, by KPI and time. Like scanUpdates, it reads only
// the columns of kpi_readings_kpi_idx, by hand, with times in
// microseconds.
func scanReadings(ctx context.Context, q reader, kpiIDs []int64, from, to time.Time) ([]okr.Reading, error) {
	rows, err := q.query(ctx, `
		SELECT id, kpi_id, value, CAST(extract(epoch FROM read_at) * 1000000 AS bigint)
		FROM (
			SELECT r.id, r.kpi_id, r.value, r.read_at
			FROM kpi_readings r
			WHERE r.kpi_id = ANY($1) AND r.read_at >= $2 AND r.read_at < $3
			UNION ALL
			SELECT b.id, b.kpi_id, b.value, b.read_at
			FROM unnest(CAST($1 AS bigint[])) AS k (id)
			CROSS JOIN LATERAL (
				SELECT r.id, r.kpi_id, r.value, r.read_at
				FROM kpi_readings r
				WHERE r.kpi_id = k.id AND r.read_at < $2
				ORDER BY r.read_at DESC, r.id DESC
				LIMIT 1) b
		) r
		ORDER BY kpi_id, read_at, id`, pq.Array(kpiIDs), from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var rs []okr.Reading
	for rows.Next() {
		var r okr.Reading
		var micros int64
		if err := rows.Scan(&r.ID, &r.KPIID, &r.Value, &micros); err != nil {
			return nil, err
		}
		r.At = time.UnixMicro(micros).UTC()
		rs = append(rs, r)
	}
	return rs, rows.Err()
}
