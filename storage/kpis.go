package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"github.com/okrbot/okrbot/okr"
)

const kpiColumns = `k.id, k.team_id, k.name, k.owner_id, k.unit, k.direction, k.warning,
	k.critical, k.cadence, k.data_source, k.archived_at, k.created_at`

const readingColumns = `r.id, r.kpi_id, r.value, r.read_at, r.user_id, r.note`

// CreateKPI stores a KPI, setting its ID and CreatedAt (ArchivedAt is
// ignored: a new KPI is active). ECONFLICT, naming the KPI in the way, when
// the team has an active KPI of that name in any case; ENOTFOUND when the
// team does not exist. The caller validates; the database's constraints are
// the backstop, reported as EINVALID.
func (s *Store) CreateKPI(ctx context.Context, k *okr.KPI) error {
	err := s.db.QueryRowxContext(ctx, `
		INSERT INTO kpis (team_id, name, owner_id, unit, direction, warning, critical,
			cadence, data_source, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		RETURNING id, created_at`,
		k.TeamID, k.Name, k.OwnerID, k.Unit, k.Direction, k.Warning, k.Critical,
		k.Cadence, k.DataSource, s.now(),
	).Scan(&k.ID, &k.CreatedAt)
	if err != nil {
		k.ID = 0
		return fmt.Errorf("storage: create KPI: %w", s.kpiError(ctx, k, err))
	}
	k.ArchivedAt = nil
	return nil
}

// UpdateKPI replaces a KPI's name, owner, unit, direction, thresholds,
// cadence and data source; its team, creation and archiving stay, and are
// read back into k. ENOTFOUND when the KPI does not exist; ECONFLICT when
// the new name is taken in its team. The new thresholds apply from the next
// reading on.
func (s *Store) UpdateKPI(ctx context.Context, k *okr.KPI) error {
	err := s.db.QueryRowxContext(ctx, `
		UPDATE kpis
		SET name = $2, owner_id = $3, unit = $4, direction = $5, warning = $6,
			critical = $7, cadence = $8, data_source = $9
		WHERE id = $1
		RETURNING team_id, archived_at, created_at`,
		k.ID, k.Name, k.OwnerID, k.Unit, k.Direction, k.Warning, k.Critical,
		k.Cadence, k.DataSource,
	).Scan(&k.TeamID, &k.ArchivedAt, &k.CreatedAt)
	if err != nil {
		return fmt.Errorf("storage: update KPI: %w", s.kpiError(ctx, k, err))
	}
	return nil
}

// kpiChecks are user-safe words for the CHECK constraints of kpis.
var kpiChecks = map[string]struct{ field, message string }{
	"kpis_check":           {"critical", "The critical threshold must be past the warning one: below it when higher is better, above it when lower is better."},
	"kpis_name_check":      {"name", "A KPI's name must be 1 to 80 characters."},
	"kpis_direction_check": {"direction", "Pick higher is better or lower is better."},
	"kpis_cadence_check":   {"cadence", "Pick daily, weekly or monthly."},
}

// kpiError words the errors of writing k for the person doing it: the
// active KPI of the team that has its name, and the KPI's own checks.
func (s *Store) kpiError(ctx context.Context, k *okr.KPI, err error) error {
	pqErr := pq.As(err)
	switch {
	case pqErr != nil && pqErr.Code == pqerror.UniqueViolation && pqErr.Constraint == "kpis_team_name_key":
		var name string
		if s.db.GetContext(ctx, &name, `
			SELECT name
			FROM kpis
			WHERE team_id = $1 AND lower(name) = lower($2) AND archived_at IS NULL`,
			k.TeamID, k.Name) != nil {
			name = k.Name
		}
		return &okr.Error{Code: okr.ECONFLICT, Field: "name",
			Message: fmt.Sprintf("Your team already has a KPI called %s: pick another name, or archive that one first.", name)}
	case pqErr != nil && pqErr.Code == pqerror.CheckViolation:
		if m, ok := kpiChecks[pqErr.Constraint]; ok {
			return okr.FieldErrorf(m.field, "%s", m.message)
		}
	}
	return mapError(err, "That KPI does not exist.")
}

// ArchiveKPI archives a KPI at `at`: it is no longer due nor evaluated, its
// name is free again in its team, and its open alerts are resolved at `at`
// without an announcement. Archiving an archived KPI changes nothing.
// ENOTFOUND when the KPI does not exist.
func (s *Store) ArchiveKPI(ctx context.Context, id int64, at time.Time) error {
	at = at.UTC().Round(time.Microsecond)
	err := s.withTx(ctx, func(tx *sqlx.Tx) error {
		var archivedAt *time.Time
		err := tx.GetContext(ctx, &archivedAt, `
			SELECT archived_at
			FROM kpis
			WHERE id = $1
			FOR NO KEY UPDATE`, id)
		if err != nil {
			return mapError(err, "That KPI does not exist.")
		}
		if archivedAt != nil {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE kpis
			SET archived_at = $2
			WHERE id = $1`, id, at); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `
			UPDATE alerts
			SET state = 'resolved', resolved_at = $2
			WHERE subject_kind = 'kpi' AND subject_id = $1 AND state = 'open'`, id, at)
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: archive KPI: %w", err)
	}
	return nil
}

// KPI returns a KPI by id, archived or not.
func (s *Store) KPI(ctx context.Context, id int64) (*okr.KPI, error) {
	var k okr.KPI
	err := s.db.GetContext(ctx, &k, `
		SELECT `+kpiColumns+`
		FROM kpis k
		WHERE k.id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("storage: KPI: %w", mapError(err, "That KPI does not exist."))
	}
	return &k, nil
}

// KPIsByTeam returns a team's active KPIs, ordered by name.
func (s *Store) KPIsByTeam(ctx context.Context, teamID int64) ([]okr.KPI, error) {
	ks := []okr.KPI{}
	err := s.db.SelectContext(ctx, &ks, `
		SELECT `+kpiColumns+`
		FROM kpis k
		WHERE k.team_id = $1 AND k.archived_at IS NULL
		ORDER BY lower(k.name), k.id`, teamID)
	if err != nil {
		return nil, fmt.Errorf("storage: KPIs by team: %w", err)
	}
	return ks, nil
}

// KPIsOwnedBy returns a person's active KPIs in every team, ordered by team
// name and KPI name.
func (s *Store) KPIsOwnedBy(ctx context.Context, userID string) ([]okr.KPI, error) {
	ks := []okr.KPI{}
	err := s.db.SelectContext(ctx, &ks, `
		SELECT `+kpiColumns+`
		FROM kpis k
		JOIN teams t ON t.id = k.team_id
		WHERE k.owner_id = $1 AND k.archived_at IS NULL
		ORDER BY lower(t.name), t.id, lower(k.name), k.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("storage: KPIs owned by: %w", err)
	}
	return ks, nil
}

// KPIsOwnedByAny is KPIsOwnedBy for many people at once, by owner.
func (s *Store) KPIsOwnedByAny(ctx context.Context, userIDs []string) (map[string][]okr.KPI, error) {
	out := make(map[string][]okr.KPI, len(userIDs))
	if len(userIDs) == 0 {
		return out, nil
	}
	var ks []okr.KPI
	err := s.db.SelectContext(ctx, &ks, `
		SELECT `+kpiColumns+`
		FROM kpis k
		JOIN teams t ON t.id = k.team_id
		WHERE k.owner_id = ANY($1) AND k.archived_at IS NULL
		ORDER BY lower(t.name), t.id, lower(k.name), k.id`, pq.Array(userIDs))
	if err != nil {
		return nil, fmt.Errorf("storage: KPIs owned by: %w", err)
	}
	for _, k := range ks {
		out[k.OwnerID] = append(out[k.OwnerID], k)
	}
	return out, nil
}

// FindKPIs returns the active KPIs of the teams a person is a member of
// whose name is name, case-insensitively; when none is, those whose name
// contains it (% and _ match themselves). They are ordered by name, then
// team. A blank name finds nothing.
func (s *Store) FindKPIs(ctx context.Context, userID, name string) ([]okr.KPI, error) {
	ks := []okr.KPI{}
	name = strings.TrimSpace(name)
	if name == "" {
		return ks, nil
	}
	err := s.db.SelectContext(ctx, &ks, `
		WITH found AS (
			SELECT `+kpiColumns+`, lower(k.name) = lower($2) AS exact
			FROM kpis k
			JOIN team_members m ON m.team_id = k.team_id AND m.user_id = $1
			WHERE k.archived_at IS NULL
				AND (lower(k.name) = lower($2) OR k.name ILIKE $3 ESCAPE '\')
		)
		SELECT id, team_id, name, owner_id, unit, direction, warning, critical,
			cadence, data_source, archived_at, created_at
		FROM found
		WHERE exact OR NOT EXISTS (SELECT 1 FROM found WHERE exact)
		ORDER BY lower(name), team_id, id`,
		userID, name, "%"+escapeLike(name)+"%")
	if err != nil {
		return nil, fmt.Errorf("storage: find KPIs: %w", err)
	}
	return ks, nil
}

// escapeLike escapes the wildcards of a LIKE pattern, with \ as the escape.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Readings returns a KPI's latest readings, newest first, at most limit.
func (s *Store) Readings(ctx context.Context, kpiID int64, limit int) ([]okr.Reading, error) {
	rs := []okr.Reading{}
	if limit <= 0 {
		return rs, nil
	}
	err := s.db.SelectContext(ctx, &rs, `
		SELECT `+readingColumns+`
		FROM kpi_readings r
		WHERE r.kpi_id = $1
		ORDER BY r.read_at DESC, r.id DESC
		LIMIT $2`, kpiID, limit)
	if err != nil {
		return nil, fmt.Errorf("storage: readings: %w", err)
	}
	return rs, nil
}

// LatestReadings returns the latest reading (by read_at, then id) of each
// of the KPIs that has one, by KPI id.
func (s *Store) LatestReadings(ctx context.Context, kpiIDs []int64) (map[int64]okr.Reading, error) {
	latest := make(map[int64]okr.Reading, len(kpiIDs))
	if len(kpiIDs) == 0 {
		return latest, nil
	}
	var rs []okr.Reading
	err := s.db.SelectContext(ctx, &rs, `
		SELECT DISTINCT ON (r.kpi_id) `+readingColumns+`
		FROM kpi_readings r
		WHERE r.kpi_id = ANY($1)
		ORDER BY r.kpi_id, r.read_at DESC, r.id DESC`, pq.Array(kpiIDs))
	if err != nil {
		return nil, fmt.Errorf("storage: latest readings: %w", err)
	}
	for _, r := range rs {
		latest[r.KPIID] = r
	}
	return latest, nil
}

// RecordReading stores a reading of a KPI by r.UserID, read at r.At (the
// store's clock when zero), sets the current value of the key results that
// follow the KPI, and evaluates the KPI's health against its open alert,
// writing the alert and its event when the health changed, all in one
// statement. Readings of one KPI are evaluated one after the other, in the
// order they are recorded. It sets r.ID and r.At and returns the events
// written. ENOTFOUND when the KPI does not exist, EINVALID when it is
// archived or the value is not a finite number.
func (s *Store) RecordReading(ctx context.Context, r *okr.Reading) ([]okr.AlertEvent, error) {
	err := s.prepareHot(ctx)
	var events []okr.AlertEvent
	if err == nil {
		events, err = s.recordReading(ctx, nil, r, nil, s.now())
	}
	if err != nil {
		r.ID = 0
		return nil, fmt.Errorf("storage: record reading: %w", mapError(err, ""))
	}
	return events, nil
}

// recordReadingQuery stores and evaluates a reading in one statement: see
// record_kpi_reading in migrations/00006_record_kpi_reading.sql. It locks
// the KPI, then the key results following it by id, then its open alert:
// the order of lockAnswered.
const recordReadingQuery = `
	SELECT reading_id, read_at, kpi_name, id, alert_id, team_id, subject_kind, subject_id,
		rule, change, level, previous, value, previous_value, user_id, created_at, state,
		channel_id, message_ts, posted_at, reason
	FROM record_kpi_reading($1, $2, $3, $4, $5, $6, $7)`

// recordedReading is the row of recordReadingQuery: the reading stored
// (none when the KPI is archived), the KPI's name, and the event written,
// whose ID is 0 when there is none.
type recordedReading struct {
	ReadingID *int64     `db:"reading_id"`
	ReadAt    *time.Time `db:"read_at"`
	KPIName   string     `db:"kpi_name"`
	okr.AlertEvent
}

// recordReading stores r (for a check-in when checkinID is set), moves the
// key results that follow its KPI and applies the KPI health rule, in one
// statement: in tx when tx is set, else on its own, atomic as any
// statement is. The rules are okr.KPI.Health and okr.NextAlert, written
// again in SQL; TestKPIRulesInSQL checks that the two agree.
func (s *Store) recordReading(ctx context.Context, tx *sqlx.Tx, r *okr.Reading, checkinID *int64, now time.Time) ([]okr.AlertEvent, error) {
	if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
		return nil, okr.FieldErrorf("value", "A reading must be a number.")
	}
	at := now
	if !r.At.IsZero() {
		at = r.At.UTC().Round(time.Microsecond)
	}
	record, err := s.stmt(ctx, tx, recordReadingQuery)
	if err != nil {
		return nil, err
	}
	var row recordedReading
	err = record.GetContext(ctx, &row, r.KPIID, r.Value, at, r.UserID, r.Note, checkinID, now)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, okr.Errorf(okr.ENOTFOUND, "That KPI does not exist.")
	case err != nil:
		return nil, err
	case row.ReadingID == nil:
		return nil, okr.Errorf(okr.EINVALID, "The KPI %s is archived: it takes no more readings.", row.KPIName)
	}
	r.ID, r.At = *row.ReadingID, *row.ReadAt
	if row.ID == 0 {
		return nil, nil
	}
	return []okr.AlertEvent{row.AlertEvent}, nil
}

// hotQueries are the statements run for every reading, key result update,
// pace check and new objective or KPI. They are prepared once per connection
// rather than parsed and planned each time (see Store.prepared).
var hotQueries = []string{recordReadingQuery, openAlertsQuery, openAlertQuery,
	moveAlertsQuery, resolveAlertsQuery, appliedQuery, insertAlertEventsQuery,
	createObjectiveQuery, teamRolesQuery}

// prepareHot prepares the hot queries on s's pool the first time. It takes
// a connection of the pool: call it outside a transaction, so that
// transactions waiting for a connection never wait for each other.
func (s *Store) prepareHot(ctx context.Context) error {
	for _, q := range hotQueries {
		if _, ok := s.prepared.Load(q); ok {
			continue
		}
		st, err := s.db.PreparexContext(ctx, q)
		if err != nil {
			return err
		}
		if _, loaded := s.prepared.LoadOrStore(q, st); loaded {
			st.Close()
		}
	}
	return nil
}

// genericPlans makes the rest of tx run prepared statements with their
// generic plans, made once per connection. PostgreSQL would otherwise plan
// the array queries of applyAlerts again for every update: for one
// subject, their custom plans look cheaper than the generic ones, planned
// for ten.
func genericPlans(ctx context.Context, tx *sqlx.Tx) error {
	_, err := tx.ExecContext(ctx, `SET LOCAL plan_cache_mode = force_generic_plan`)
	return err
}

// stmt returns a hot query as a statement of tx (of the pool when tx is
// nil), prepared on its connection if it was not yet; or prepared for tx
// alone when prepareHot did not run.
func (s *Store) stmt(ctx context.Context, tx *sqlx.Tx, query string) (*sqlx.Stmt, error) {
	st, ok := s.prepared.Load(query)
	switch {
	case ok && tx == nil:
		return st.(*sqlx.Stmt), nil
	case ok:
		return tx.StmtxContext(ctx, st.(*sqlx.Stmt)), nil
	case tx == nil:
		return nil, fmt.Errorf("query not prepared: %s", query)
	}
	return tx.PreparexContext(ctx, query)
}

// LinkKeyResult makes a metric key result follow a KPI of its own team, its
// current value then set by each reading; kpiID 0 unlinks it. ENOTFOUND
// when the key result or the KPI does not exist; EINVALID when the KPI is
// another team's or archived, or the key result is a milestone.
func (s *Store) LinkKeyResult(ctx context.Context, krID, kpiID int64) error {
	err := s.withTx(ctx, func(tx *sqlx.Tx) error {
		var kr struct {
			TeamID int64      `db:"team_id"`
			Kind   okr.KRKind `db:"kind"`
		}
		err := tx.GetContext(ctx, &kr, `
			SELECT o.team_id, kr.kind
			FROM key_results kr
			JOIN objectives o ON o.id = kr.objective_id
			WHERE kr.id = $1
			FOR NO KEY UPDATE OF kr`, krID)
		if err != nil {
			return mapError(err, "That key result does not exist.")
		}
		var link *int64
		if kpiID != 0 {
			var k okr.KPI
			err := tx.GetContext(ctx, &k, `
				SELECT `+kpiColumns+`
				FROM kpis k
				WHERE k.id = $1`, kpiID)
			if err != nil {
				return mapError(err, "That KPI does not exist.")
			}
			switch {
			case k.TeamID != kr.TeamID:
				return okr.Errorf(okr.EINVALID, "A key result can only follow a KPI of its own team, and %s is another team's.", k.Name)
			case k.ArchivedAt != nil:
				return okr.Errorf(okr.EINVALID, "The KPI %s is archived.", k.Name)
			case kr.Kind != okr.Metric:
				return okr.Errorf(okr.EINVALID, "Only a metric key result can follow a KPI.")
			}
			link = &kpiID
		}
		_, err = tx.ExecContext(ctx, `
			UPDATE key_results
			SET kpi_id = $2, updated_at = $3
			WHERE id = $1`, krID, link, s.now())
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: link key result: %w", mapError(err, ""))
	}
	return nil
}
