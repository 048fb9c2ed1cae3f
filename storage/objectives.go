package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/okrbot/okrbot/okr"
)

const objectiveColumns = `o.id, o.team_id, o.title, o.description, o.owner_id, p.label AS period,
	o.kind, o.parent_id, o.status, o.created_by, o.created_at`

// CreateObjective stores an objective in period p with its key results
// (o.KeyResults, at positions 0, 1, …), all or nothing, setting the IDs,
// o.Period and the creation times. The caller validates; the database's
// constraints are the backstop, reported as EINVALID.
func (s *Store) CreateObjective(ctx context.Context, o *okr.Objective, p okr.Period) error {
	if p.Kind != okr.Quarter && p.Kind != okr.Year {
		return fmt.Errorf("storage: create objective: %w", okr.FieldErrorf("period", "Pick a quarter or a year."))
	}
	if o.Status == "" {
		o.Status = okr.Active
	}
	now := s.now()
	err := s.prepareHot(ctx)
	var created bool
	if err == nil {
		created, err = s.insertObjective(ctx, o, p, now)
	}
	if err == nil && !created {
		// The period's first objective: store the period, then the objective.
		if _, err = upsertPeriod(ctx, s.db, p); err == nil {
			created, err = s.insertObjective(ctx, o, p, now)
		}
		if err == nil && !created {
			err = fmt.Errorf("period %s vanished", p.Label())
		}
	}
	if err != nil {
		o.ID = 0
		for i := range o.KeyResults {
			o.KeyResults[i].ID, o.KeyResults[i].ObjectiveID = 0, 0
		}
		return fmt.Errorf("storage: create objective: %w", mapError(err, ""))
	}
	o.Period = p.Label()
	return nil
}

// createObjectiveQuery stores an objective of an existing period and its
// key results in one statement, atomic as any statement is: one round trip,
// no BEGIN or COMMIT. It returns no row when the period does not exist.
const createObjectiveQuery = `
	WITH o AS (
		INSERT INTO objectives (team_id, period_id, title, description, owner_id,
			kind, parent_id, status, created_by, created_at)
		SELECT $1, p.id, $3, $4, $5, $6, $7, $8, $9, $10
		FROM periods p
		WHERE p.label = $2
		RETURNING id, created_at
	), k AS (
		INSERT INTO key_results (objective_id, position, title, owner_id, kind, unit,
			start_value, target_value, current_value, confidence, kpi_id,
			created_at, updated_at)
		SELECT o.id, x.pos - 1, x.title, x.owner_id, x.kind, x.unit, x.start_value,
			x.target_value, x.current_value, x.confidence, NULLIF(x.kpi_id, 0), $10, $10
		FROM o, unnest($11::text[], $12::text[], $13::text[], $14::text[], $15::float8[],
				$16::float8[], $17::float8[], $18::smallint[], $19::bigint[])
			WITH ORDINALITY AS x(title, owner_id, kind, unit, start_value, target_value,
				current_value, confidence, kpi_id, pos)
		RETURNING id, position
	)
	SELECT o.id, o.created_at,
		COALESCE((SELECT array_agg(k.id ORDER BY k.position) FROM k), '{}') AS kr_ids
	FROM o`

// insertObjective runs createObjectiveQuery for o, setting its IDs and
// times; it reports false when the period does not exist.
func (s *Store) insertObjective(ctx context.Context, o *okr.Objective, p okr.Period, now time.Time) (bool, error) {
	n := len(o.KeyResults)
	titles, owners, kinds, units := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	starts, targets, currents := make([]float64, n), make([]float64, n), make([]float64, n)
	confidences, kpis := make([]int64, n), make([]int64, n)
	for i, kr := range o.KeyResults {
		titles[i], owners[i], kinds[i], units[i] = kr.Title, kr.OwnerID, string(kr.Kind), kr.Unit
		starts[i], targets[i], currents[i] = kr.Start, kr.Target, kr.Current
		confidences[i] = int64(kr.Confidence)
		if kr.KPIID != nil {
			kpis[i] = *kr.KPIID
		}
	}
	create, err := s.stmt(ctx, nil, createObjectiveQuery)
	if err != nil {
		return false, err
	}
	var row struct {
		ID        int64         `db:"id"`
		CreatedAt time.Time     `db:"created_at"`
		KRIDs     pq.Int64Array `db:"kr_ids"`
	}
	err = create.GetContext(ctx, &row, o.TeamID, p.Label(), o.Title, o.Description, o.OwnerID,
		o.Kind, o.ParentID, o.Status, o.CreatedBy, now,
		pq.Array(titles), pq.Array(owners), pq.Array(kinds), pq.Array(units),
		pq.Array(starts), pq.Array(targets), pq.Array(currents), pq.Array(confidences), pq.Array(kpis))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, err
	}
	o.ID, o.CreatedAt = row.ID, row.CreatedAt
	for i := range o.KeyResults {
		kr := &o.KeyResults[i]
		kr.ID, kr.ObjectiveID, kr.CreatedAt, kr.UpdatedAt = row.KRIDs[i], o.ID, row.CreatedAt, row.CreatedAt
	}
	return true, nil
}

// upsertPeriod returns the id of the period row labelled like p, storing it
// first if needed, in a transaction or on the pool (q). The row is read
// without a lock when it exists, as it almost always does: an upsert would
// lock it until the transaction ends, and every objective created for the
// same period would wait on the one before it.
func upsertPeriod(ctx context.Context, q sqlx.QueryerContext, p okr.Period) (int64, error) {
	var id int64
	err := sqlx.GetContext(ctx, q, &id, `SELECT id FROM periods WHERE label = $1`, p.Label())
	if !errors.Is(err, sql.ErrNoRows) {
		return id, err
	}
	// DO UPDATE rather than DO NOTHING so that RETURNING yields the row a
	// concurrent transaction stored first.
	err = q.QueryRowxContext(ctx, `
		INSERT INTO periods (label, kind, starts_at, ends_at)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (label) DO UPDATE SET label = EXCLUDED.label
		RETURNING id`,
		p.Label(), p.Kind, p.Start, p.End,
	).Scan(&id)
	return id, err
}

// Objective returns an objective with its key results.
func (s *Store) Objective(ctx context.Context, id int64) (*okr.Objective, error) {
	var o okr.Objective
	err := s.db.GetContext(ctx, &o, `
		SELECT `+objectiveColumns+`
		FROM objectives o
		JOIN periods p ON p.id = o.period_id
		WHERE o.id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("storage: objective: %w", mapError(err, "That objective does not exist."))
	}
	objs := []okr.Objective{o}
	if err := s.loadKeyResults(ctx, objs); err != nil {
		return nil, fmt.Errorf("storage: objective: %w", err)
	}
	return &objs[0], nil
}

// ObjectivesByTeam returns a team's objectives in a period (a label such as
// "2027-Q1") with their key results, oldest first.
func (s *Store) ObjectivesByTeam(ctx context.Context, teamID int64, period string) ([]okr.Objective, error) {
	objs := []okr.Objective{}
	err := s.db.SelectContext(ctx, &objs, `
		SELECT `+objectiveColumns+`
		FROM objectives o
		JOIN periods p ON p.id = o.period_id
		WHERE o.team_id = $1 AND p.label = $2
		ORDER BY o.created_at, o.id`, teamID, period)
	if err != nil {
		return nil, fmt.Errorf("storage: objectives by team: %w", err)
	}
	if err := s.loadKeyResults(ctx, objs); err != nil {
		return nil, fmt.Errorf("storage: objectives by team: %w", err)
	}
	return objs, nil
}

// ActiveObjectives returns the active objectives of teams in periods
// (labels), without their key results, by team and then oldest first: the
// objectives a new one may align to, in one query.
func (s *Store) ActiveObjectives(ctx context.Context, teamIDs []int64, periods []string) ([]okr.Objective, error) {
	objs := []okr.Objective{}
	err := s.db.SelectContext(ctx, &objs, `
		SELECT `+objectiveColumns+`
		FROM objectives o
		JOIN periods p ON p.id = o.period_id
		WHERE o.team_id = ANY($1) AND p.label = ANY($2) AND o.status = 'active'
		ORDER BY o.team_id, o.created_at, o.id`, pq.Array(teamIDs), pq.Array(periods))
	if err != nil {
		return nil, fmt.Errorf("storage: active objectives: %w", err)
	}
	return objs, nil
}

// ObjectivesByOwner returns the objectives in a period that a person owns or
// owns a key result of, with all their key results, oldest first.
func (s *Store) ObjectivesByOwner(ctx context.Context, userID, period string) ([]okr.Objective, error) {
	objs := []okr.Objective{}
	err := s.db.SelectContext(ctx, &objs, `
		SELECT `+objectiveColumns+`
		FROM objectives o
		JOIN periods p ON p.id = o.period_id
		WHERE p.label = $2
			AND (o.owner_id = $1 OR EXISTS (
				SELECT 1
				FROM key_results kr
				WHERE kr.objective_id = o.id AND kr.owner_id = $1))
		ORDER BY o.created_at, o.id`, userID, period)
	if err != nil {
		return nil, fmt.Errorf("storage: objectives by owner: %w", err)
	}
	if err := s.loadKeyResults(ctx, objs); err != nil {
		return nil, fmt.Errorf("storage: objectives by owner: %w", err)
	}
	return objs, nil
}

// loadKeyResults fills in the key results of objs, in position order, with
// one query for all of them.
func (s *Store) loadKeyResults(ctx context.Context, objs []okr.Objective) error {
	if len(objs) == 0 {
		return nil
	}
	ids := make([]int64, len(objs))
	index := make(map[int64]int, len(objs))
	for i := range objs {
		ids[i] = objs[i].ID
		index[objs[i].ID] = i
		objs[i].KeyResults = []okr.KeyResult{}
	}
	var krs []okr.KeyResult
	err := s.db.SelectContext(ctx, &krs, `
		SELECT `+keyResultColumns+`
		FROM key_results kr
		WHERE kr.objective_id = ANY($1)
		ORDER BY kr.objective_id, kr.position, kr.id`, pq.Array(ids))
	if err != nil {
		return fmt.Errorf("load key results: %w", err)
	}
	for _, kr := range krs {
		i := index[kr.ObjectiveID]
		objs[i].KeyResults = append(objs[i].KeyResults, kr)
	}
	return nil
}
