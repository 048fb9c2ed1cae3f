package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/okrbot/okrbot/okr"
)

const keyResultColumns = `kr.id, kr.objective_id, kr.title, kr.owner_id, kr.kind, kr.unit,
	kr.start_value, kr.target_value, kr.current_value, kr.confidence, kr.kpi_id,
	kr.created_at, kr.updated_at`

// CreateKeyResult adds a key result after the last one of its objective
// (kr.ObjectiveID), setting its ID and times. ENOTFOUND when the objective
// does not exist.
func (s *Store) CreateKeyResult(ctx context.Context, kr *okr.KeyResult) error {
	now := s.now()
	err := s.withTx(ctx, func(tx *sqlx.Tx) error {
		// Locking the objective serialises concurrent additions, so that
		// each gets its own position.
		var position int
		err := tx.GetContext(ctx, &position, `
			SELECT COALESCE((
				SELECT max(position) + 1
				FROM key_results
				WHERE objective_id = o.id), 0)
			FROM objectives o
			WHERE o.id = $1
			FOR UPDATE`, kr.ObjectiveID)
		if err != nil {
			return err
		}
		return insertKeyResult(ctx, tx, kr, position, now)
	})
	if err != nil {
		kr.ID = 0
		return fmt.Errorf("storage: create key result: %w", mapError(err, "That objective does not exist."))
	}
	return nil
}

// insertKeyResult stores kr at a position of its objective.
func insertKeyResult(ctx context.Context, tx *sqlx.Tx, kr *okr.KeyResult, position int, now time.Time) error {
	return tx.QueryRowxContext(ctx, `
		INSERT INTO key_results (objective_id, position, title, owner_id, kind, unit,
			start_value, target_value, current_value, confidence, kpi_id,
			created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
		RETURNING id, created_at, updated_at`,
		kr.ObjectiveID, position, kr.Title, kr.OwnerID, kr.Kind, kr.Unit,
		kr.Start, kr.Target, kr.Current, kr.Confidence, kr.KPIID, now,
	).Scan(&kr.ID, &kr.CreatedAt, &kr.UpdatedAt)
}
