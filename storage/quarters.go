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

// The end of a quarter: its objectives closed with their grades frozen,
// and the unfinished aspirational ones carried over to the next.

// CloseQuarter closes the team's active objectives of period p at now, by
// the person by, in one transaction, freezing each one's grade (okr.Grade
// at the period's end, or at now while it is under way): its score,
// whether it goes on next quarter, and each key result's final value. It
// returns how many it closed: none when they were closed already.
func (s *Store) CloseQuarter(ctx context.Context, teamID int64, p okr.Period, by string, now time.Time) (int, error) {
	now = now.UTC().Round(time.Microsecond)
	at := okr.LastInstant(p.End, now)
	closed := 0
	err := s.withTx(ctx, func(tx *sqlx.Tx) error {
		po, err := loadPeriodObjectives(ctx, reader{s: s, tx: tx}, teamID, p, at, true, true)
		if err != nil || len(po.objs) == 0 {
			return err
		}
		var ids, krIDs []int64
		var scores, finals []float64
		var carry []bool
		for i := range po.objs {
			o := &po.objs[i]
			g := po.grade(o, at)
			ids, scores, carry = append(ids, o.ID), append(scores, g.Score), append(carry, g.CarryOver)
			for _, k := range g.KRs {
				krIDs, finals = append(krIDs, k.KeyResult.ID), append(finals, k.Final)
			}
		}
		res, err := tx.ExecContext(ctx, `
			UPDATE objectives o
			SET status = 'closed', score = c.score, carry_over = c.carry_over,
				closed_at = $4, closed_by = $5
			FROM unnest(CAST($1 AS bigint[]), CAST($2 AS double precision[]), CAST($3 AS boolean[]))
				AS c (id, score, carry_over)
			WHERE o.id = c.id AND o.status = 'active'`,
			pq.Array(ids), pq.Array(scores), pq.Array(carry), now, by)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		closed = int(n)
		if len(krIDs) == 0 {
			return nil
		}
		_, err = tx.ExecContext(ctx, `
			UPDATE key_results kr
			SET final_value = f.value
			FROM unnest(CAST($1 AS bigint[]), CAST($2 AS double precision[])) AS f (id, value)
			WHERE kr.id = f.id`, pq.Array(krIDs), pq.Array(finals))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("storage: close quarter: %w", err)
	}
	return closed, nil
}

// CarryOver copies into the next period (from.Next()) each of the team's
// objectives of `from` that should go on (okr.ObjectiveScore.CarryOver: an
// unfinished aspirational objective, graded at from's end or now, or as
// its closing froze) and was not carried over yet, by the person by at
// now, in one transaction. A copy is active, keeps the title, description,
// owner, kind and parent, and names its original (carried_from); its key
// results are the unfinished ones (progress below 1), starting at their
// final value, with that as their current value and their confidence
// kept. It returns the copies with their key results; a second call
// copies nothing.
func (s *Store) CarryOver(ctx context.Context, teamID int64, from okr.Period, by string, now time.Time) ([]okr.Objective, error) {
	now = now.UTC().Round(time.Microsecond)
	at := okr.LastInstant(from.End, now)
	next := from.Next()
	copies := []okr.Objective{}
	err := s.withTx(ctx, func(tx *sqlx.Tx) error {
		po, err := loadPeriodObjectives(ctx, reader{s: s, tx: tx}, teamID, from, at, false, true)
		if err != nil {
			return err
		}
		var periodID int64
		for i := range po.objs {
			o := &po.objs[i]
			if o.Carried {
				continue
			}
			g := po.grade(o, at)
			if !g.CarryOver {
				continue
			}
			if periodID == 0 {
				if periodID, err = upsertPeriod(ctx, tx, next); err != nil {
					return err
				}
			}
			c := okr.Objective{
				TeamID: o.TeamID, Title: o.Title, Description: o.Description, OwnerID: o.OwnerID,
				Period: next.Label(), Kind: o.Kind, ParentID: o.ParentID, Status: okr.Active,
				CreatedBy: by, KeyResults: []okr.KeyResult{},
			}
			// A copy made meanwhile by another call makes this one a no-op.
			err := tx.QueryRowxContext(ctx, `
				INSERT INTO objectives (team_id, period_id, title, description, owner_id,
					kind, parent_id, status, created_by, created_at, carried_from)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
				ON CONFLICT (carried_from) WHERE carried_from IS NOT NULL DO NOTHING
				RETURNING id, created_at`,
				c.TeamID, periodID, c.Title, c.Description, c.OwnerID,
				c.Kind, c.ParentID, c.Status, c.CreatedBy, now, o.ID,
			).Scan(&c.ID, &c.CreatedAt)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			} else if err != nil {
				return err
			}
			for _, k := range g.KRs {
				kr := k.KeyResult
				done := kr
				done.Current = k.Final
				if done.Progress() >= 1 {
					continue
				}
				kr.ID, kr.ObjectiveID, kr.Current = 0, c.ID, k.Final
				if kr.Kind == okr.Metric {
					kr.Start = k.Final
				}
				if err := insertKeyResult(ctx, tx, &kr, len(c.KeyResults), now); err != nil {
					return err
				}
				c.KeyResults = append(c.KeyResults, kr)
			}
			copies = append(copies, c)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: carry over: %w", mapError(err, ""))
	}
	return copies, nil
}
