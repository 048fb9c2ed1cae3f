package storage

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/okrbot/okrbot/okr"
)

const objectiveColumns = `o.id, o.team_id, o.title, o.description, o.owner_id, p.label AS period,
	o.kind, o.parent_id, o.status, o.created_by, o.created_at`

// CreateObjective stores an objective in period p with its key results
// (o.KeyResults, at positions 0, 1, …) in one transaction, setting the IDs,
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
	err := s.withTx(ctx, func(tx *sqlx.Tx) error {
		periodID, err := upsertPeriod(ctx, tx, p)
		if err != nil {
			return err
		}
		err = tx.QueryRowxContext(ctx, `
			INSERT INTO objectives (team_id, period_id, title, description, owner_id,
				kind, parent_id, status, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			RETURNING id, created_at`,
			o.TeamID, periodID, o.Title, o.Description, o.OwnerID,
			o.Kind, o.ParentID, o.Status, o.CreatedBy, now,
		).Scan(&o.ID, &o.CreatedAt)
		if err != nil {
			return err
		}
		for i := range o.KeyResults {
			kr := &o.KeyResults[i]
			kr.ObjectiveID = o.ID
			if err := insertKeyResult(ctx, tx, kr, i, now); err != nil {
				return err
			}
		}
		return nil
	})
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

// upsertPeriod returns the id of the period row labelled like p, storing it
// first if needed.
func upsertPeriod(ctx context.Context, tx *sqlx.Tx, p okr.Period) (int64, error) {
	var id int64
	// DO UPDATE rather than DO NOTHING so that RETURNING yields the existing row.
	err := tx.QueryRowxContext(ctx, `
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
