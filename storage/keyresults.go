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

// KeyResult returns a key result with its objective's title and its team.
func (s *Store) KeyResult(ctx context.Context, id int64) (*okr.OwnedKeyResult, error) {
	var kr okr.OwnedKeyResult
	err := s.db.GetContext(ctx, &kr, `
		SELECT `+keyResultColumns+`,
			o.title AS objective_title, o.team_id, t.name AS team_name
		FROM key_results kr
		JOIN objectives o ON o.id = kr.objective_id
		JOIN teams t ON t.id = o.team_id
		WHERE kr.id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("storage: key result: %w", mapError(err, "That key result does not exist."))
	}
	return &kr, nil
}

// KeyResultsAtRisk returns the key results at risk or off track (confidence
// 1–6) of active objectives of the periods open at now, in the teams a
// person belongs to: at most limit, least confident first, then by team,
// objective and position.
func (s *Store) KeyResultsAtRisk(ctx context.Context, userID string, now time.Time, limit int) ([]okr.OwnedKeyResult, error) {
	krs := []okr.OwnedKeyResult{}
	err := s.db.SelectContext(ctx, &krs, `
		SELECT `+keyResultColumns+`,
			o.title AS objective_title, o.team_id, t.name AS team_name
		FROM team_members m
		JOIN teams t ON t.id = m.team_id
		JOIN objectives o ON o.team_id = m.team_id
		JOIN periods p ON p.id = o.period_id
		JOIN key_results kr ON kr.objective_id = o.id
		WHERE m.user_id = $1
			AND o.status = 'active' AND p.starts_at <= $2 AND p.ends_at > $2
			AND kr.confidence BETWEEN 1 AND 6
		ORDER BY kr.confidence, lower(t.name), t.id, o.id, kr.position, kr.id
		LIMIT $3`, userID, now, limit)
	if err != nil {
		return nil, fmt.Errorf("storage: key results at risk: %w", err)
	}
	return krs, nil
}
