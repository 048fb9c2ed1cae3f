package storage

import (
	"context"
	"fmt"

	"github.com/okrbot/okrbot/okr"
)

// exportQuery selects, in one statement, the rows of a person's export of a
// period: the check-ins, key result updates and KPI readings of the teams
// $1 belongs to (every team when $2), whose time falls in [$3, $4), by
// time. At one instant a check-in comes before the updates and readings
// reported in it, and rows of a kind come in the order they were written.
const exportQuery = `
	WITH visible AS (
		SELECT t.id, t.name
		FROM teams t
		WHERE $2 OR EXISTS (
			SELECT 1
			FROM team_members m
			WHERE m.team_id = t.id AND m.user_id = $1)
	)
	SELECT kind, team, objective, key_result, kpi, user_id, at, value, unit,
		confidence, status, comment, blockers, checkin_state, checkin_id
	FROM (
		SELECT 'checkin' AS kind, v.name AS team, '' AS objective, '' AS key_result,
			'' AS kpi, c.user_id, COALESCE(c.answered_at, c.due_at) AS at,
			CAST(NULL AS double precision) AS value, '' AS unit,
			CAST(NULL AS int) AS confidence, '' AS status, '' AS comment,
			c.blockers, c.state AS checkin_state, c.id AS checkin_id,
			0 AS rank, c.id AS row_id
		FROM checkins c
		JOIN visible v ON v.id = c.team_id
		WHERE COALESCE(c.answered_at, c.due_at) >= $3
			AND COALESCE(c.answered_at, c.due_at) < $4
		UNION ALL
		SELECT 'kr_update', v.name, o.title, kr.title, '', u.user_id, u.created_at,
			u.value, kr.unit, CAST(NULLIF(u.confidence, 0) AS int), u.status, u.comment,
			'', '', u.checkin_id, 1, u.id
		FROM kr_updates u
		JOIN key_results kr ON kr.id = u.key_result_id
		JOIN objectives o ON o.id = kr.objective_id
		JOIN visible v ON v.id = o.team_id
		WHERE u.created_at >= $3 AND u.created_at < $4
		UNION ALL
		SELECT 'kpi_reading', v.name, '', '', k.name, r.user_id, r.read_at,
			r.value, k.unit, NULL, '', r.note, '', '', r.checkin_id, 2, r.id
		FROM kpi_readings r
		JOIN kpis k ON k.id = r.kpi_id
		JOIN visible v ON v.id = k.team_id
		WHERE r.read_at >= $3 AND r.read_at < $4
	) AS rows
	ORDER BY at, rank, row_id`

// EachExportRow calls fn with each row of a person's export of period p,
// in time order, as the database sends them: one query however many rows,
// none held in memory. A person sees the teams they belong to, or every
// team when allTeams (a workspace admin). Archived KPIs and closed
// objectives are included: what was reported stays reported. An error
// from fn stops the rows and is returned as it is.
func (s *Store) EachExportRow(ctx context.Context, userID string, allTeams bool, p okr.Period, fn func(okr.ExportRow) error) error {
	rows, err := s.db.QueryxContext(ctx, exportQuery, userID, allTeams, p.Start, p.End)
	if err != nil {
		return fmt.Errorf("storage: export rows: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r okr.ExportRow
		if err := rows.StructScan(&r); err != nil {
			return fmt.Errorf("storage: export rows: %w", err)
		}
		r.At = r.At.UTC()
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("storage: export rows: %w", err)
	}
	return nil
}

// ExportRows returns the rows of a person's export of period p, as
// EachExportRow gives them.
func (s *Store) ExportRows(ctx context.Context, userID string, allTeams bool, p okr.Period) ([]okr.ExportRow, error) {
	var out []okr.ExportRow
	err := s.EachExportRow(ctx, userID, allTeams, p, func(r okr.ExportRow) error {
		out = append(out, r)
		return nil
	})
	return out, err
}
