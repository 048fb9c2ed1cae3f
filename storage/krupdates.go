package storage

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/okrbot/okrbot/okr"
)

const krUpdateColumns = `u.id, u.key_result_id, u.value, u.confidence, u.status, u.comment,
	u.user_id, u.checkin_id, u.corrects_id, u.created_at`

// KRUpdate returns a key result update by id.
func (s *Store) KRUpdate(ctx context.Context, id int64) (*okr.KRUpdate, error) {
	var u okr.KRUpdate
	err := s.db.GetContext(ctx, &u, `
		SELECT `+krUpdateColumns+`
		FROM kr_updates u
		WHERE u.id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("storage: key result update: %w", mapError(err, "That update does not exist."))
	}
	return &u, nil
}

// KRHistory returns a key result's latest updates, at most limit, newest
// report first. A correction comes right before the update it corrects
// (newer corrections first), so each report reads as one chain; each entry
// says which update corrects it, if one does.
func (s *Store) KRHistory(ctx context.Context, krID int64, limit int) ([]okr.KRHistoryEntry, error) {
	es := []okr.KRHistoryEntry{}
	err := s.db.SelectContext(ctx, &es, `
		WITH RECURSIVE chain (id, root_id, root_at) AS (
			SELECT id, id, created_at
			FROM kr_updates
			WHERE key_result_id = $1 AND corrects_id IS NULL
			UNION ALL
			SELECT u.id, c.root_id, c.root_at
			FROM kr_updates u
			JOIN chain c ON u.corrects_id = c.id
		)
		SELECT `+krUpdateColumns+`, x.id AS corrected_by
		FROM chain c
		JOIN kr_updates u ON u.id = c.id
		LEFT JOIN kr_updates x ON x.corrects_id = u.id
		ORDER BY c.root_at DESC, c.root_id DESC, u.created_at DESC, u.id DESC
		LIMIT $2`, krID, limit)
	if err != nil {
		return nil, fmt.Errorf("storage: key result history: %w", err)
	}
	return es, nil
}

// CorrectKRUpdate records u as a correction of the update u.CorrectsID: a
// new row by u.UserID, stamped now, with the corrected update's key result
// and check-in; the corrected row is kept as it was. u.Status follows
// u.Confidence. When the corrected update stands for the key result's
// latest report (it is the newest report, or the last correction of it),
// the key result takes the correction's confidence and value and its
// off-track alert is evaluated again; its value stays when the key result
// follows a KPI read since that report. It sets u's ID, key result,
// check-in, status and time, and reports whether the key result followed.
//
// ENOTFOUND when the update does not exist; ECONFLICT when it was corrected
// already (correct the correction instead); EINVALID for a confidence out
// of 1–10 or a value that is not a finite number (a milestone's is 0 or 1).
// Whether u.UserID may correct it is the caller's to decide.
func (s *Store) CorrectKRUpdate(ctx context.Context, u *okr.KRUpdate) (bool, error) {
	if u.CorrectsID == nil {
		return false, fmt.Errorf("storage: correct key result update: %w", okr.Errorf(okr.EINVALID, "Say which update is corrected."))
	}
	switch {
	case u.Confidence < 1 || u.Confidence > 10:
		return false, fmt.Errorf("storage: correct key result update: %w", okr.FieldErrorf("confidence", "Confidence is a whole number from 1 to 10."))
	case math.IsNaN(u.Value) || math.IsInf(u.Value, 0):
		return false, fmt.Errorf("storage: correct key result update: %w", okr.FieldErrorf("value", "The value must be a number."))
	}
	now := s.now()
	if err := s.prepareHot(ctx); err != nil {
		return false, fmt.Errorf("storage: correct key result update: %w", err)
	}
	followed := false
	err := s.withTx(ctx, func(tx *sqlx.Tx) error {
		var krID int64
		err := tx.GetContext(ctx, &krID, `
			SELECT key_result_id
			FROM kr_updates
			WHERE id = $1`, *u.CorrectsID)
		if err != nil {
			return mapError(err, "That update does not exist.")
		}
		// Locking the key result serialises corrections and reports of it.
		var kr struct {
			TeamID  int64      `db:"team_id"`
			Kind    okr.KRKind `db:"kind"`
			Current float64    `db:"current_value"`
			KPIID   *int64     `db:"kpi_id"`
		}
		err = tx.GetContext(ctx, &kr, `
			SELECT o.team_id, kr.kind, kr.current_value, kr.kpi_id
			FROM key_results kr
			JOIN objectives o ON o.id = kr.objective_id
			WHERE kr.id = $1
			FOR NO KEY UPDATE OF kr`, krID)
		if err != nil {
			return mapError(err, "That key result does not exist (any more).")
		}
		if kr.Kind == okr.Milestone && u.Value != 0 && u.Value != 1 {
			return okr.FieldErrorf("value", "A milestone is done (1) or not done (0).")
		}
		var target struct {
			CheckinID *int64
			Corrected bool
			RootAt    time.Time
			Latest    bool // it stands for the key result's newest report
		}
		err = tx.QueryRowxContext(ctx, `
			WITH RECURSIVE chain (id, corrects_id, created_at) AS (
				SELECT id, corrects_id, created_at
				FROM kr_updates
				WHERE id = $1
				UNION ALL
				SELECT u.id, u.corrects_id, u.created_at
				FROM kr_updates u
				JOIN chain c ON u.id = c.corrects_id
			)
			SELECT t.checkin_id,
				EXISTS (SELECT 1 FROM kr_updates x WHERE x.corrects_id = t.id),
				r.created_at,
				NOT EXISTS (
					SELECT 1
					FROM kr_updates n
					WHERE n.key_result_id = t.key_result_id AND n.corrects_id IS NULL
						AND (n.created_at, n.id) > (r.created_at, r.id))
			FROM kr_updates t, chain r
			WHERE t.id = $1 AND r.corrects_id IS NULL`, *u.CorrectsID,
		).Scan(&target.CheckinID, &target.Corrected, &target.RootAt, &target.Latest)
		if err != nil {
			return err
		}
		if target.Corrected {
			return okr.Errorf(okr.ECONFLICT, "That update was corrected already: correct the correction instead.")
		}
		u.KeyResultID, u.CheckinID = krID, target.CheckinID
		u.Status, u.CreatedAt = okr.ConfidenceStatus(u.Confidence), now
		err = tx.QueryRowxContext(ctx, `
			INSERT INTO kr_updates (key_result_id, value, confidence, status, comment,
				user_id, checkin_id, corrects_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			RETURNING id`,
			krID, u.Value, u.Confidence, u.Status, u.Comment, u.UserID, u.CheckinID, *u.CorrectsID, now,
		).Scan(&u.ID)
		if err != nil {
			return err
		}
		if !target.Latest {
			return nil
		}
		followValue := true
		if kr.KPIID != nil {
			// A reading since the report moved the value: it stays.
			var read bool
			err := tx.GetContext(ctx, &read, `
				SELECT EXISTS (
					SELECT 1
					FROM kpi_readings
					WHERE kpi_id = $1 AND read_at > $2)`, *kr.KPIID, target.RootAt)
			if err != nil {
				return err
			}
			followValue = !read
		}
		value := kr.Current
		if followValue {
			value = u.Value
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE key_results
			SET current_value = $2, confidence = $3, updated_at = $4
			WHERE id = $1`, krID, value, u.Confidence, now); err != nil {
			return err
		}
		status := u.Status
		_, err = s.applyAlerts(ctx, tx, []alertCheck{{
			Subject: alertSubject{TeamID: kr.TeamID, Kind: "kr", ID: krID},
			Rule:    okr.RuleKROffTrack,
			Observe: func(open okr.Colour) okr.Colour { return okr.KROffTrackLevel(open, status) },
			Obs: observation{Value: value, PreviousValue: &kr.Current, UserID: u.UserID,
				Source: "kr_update:" + strconv.FormatInt(u.ID, 10)},
		}}, now)
		if err != nil {
			return err
		}
		followed = true
		return nil
	})
	if err != nil {
		u.ID = 0
		return false, fmt.Errorf("storage: correct key result update: %w", mapError(err, ""))
	}
	return followed, nil
}
