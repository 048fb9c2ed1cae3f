-- +goose Up
-- A KPI reading is stored and evaluated by one statement, record_kpi_reading,
-- rather than by seven round trips in a transaction. The rules it applies are
-- okr.KPI.Health (kpi_health) and okr.NextAlert (next_alert): the Go
-- functions are the rules, and storage's TestKPIRulesInSQL checks these
-- against them at every kind of point.

-- kpi_health is okr.KPI.Health: the colour of a value for a KPI's direction
-- and thresholds.
-- +goose StatementBegin
CREATE FUNCTION kpi_health(direction text, warning double precision,
    critical double precision, value double precision)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN direction = 'lower_is_better' THEN
            CASE WHEN value > critical THEN 'red' WHEN value > warning THEN 'yellow' ELSE 'green' END
        ELSE
            CASE WHEN value < critical THEN 'red' WHEN value < warning THEN 'yellow' ELSE 'green' END
    END
$$;
-- +goose StatementEnd

-- next_alert is okr.NextAlert: what an observed level does to an alert open
-- at open_level ('' when none is open); '' is no change.
-- +goose StatementBegin
CREATE FUNCTION next_alert(open_level text, observed text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN (open_level = '' AND observed = 'green') OR open_level = observed THEN ''
        WHEN open_level = '' THEN 'opened'
        WHEN observed = 'green' THEN 'recovered'
        WHEN observed = 'red' THEN 'worsened'
        ELSE 'improved'
    END
$$;
-- +goose StatementEnd

-- record_kpi_reading stores a reading of a KPI and evaluates it, as one
-- atomic statement: it locks the KPI (concurrent readings of it wait for
-- each other, and each statement after the lock sees the reading and the
-- alert the one before left), reads the previous reading, stores the new
-- one, sets the key results following the KPI (locked in id order), then
-- applies next_alert to the KPI's open kpi_health alert and writes the
-- event announcing a change, caused by "reading:<id>". Locks are taken in
-- the order of storage's lockAnswered: the KPI, its key results, the alert.
--
-- It returns no row when the KPI does not exist, and one row otherwise:
-- the reading (reading_id NULL when the KPI is archived: nothing is
-- written) and the KPI's name, then the event written, whose columns are
-- those of alert_events, zero values (id 0) when none was.
-- +goose StatementBegin
CREATE FUNCTION record_kpi_reading(p_kpi_id bigint, p_value double precision,
    p_read_at timestamptz, p_user_id text, p_note text, p_checkin_id bigint,
    p_now timestamptz)
RETURNS TABLE (reading_id bigint, read_at timestamptz, kpi_name text,
    id bigint, alert_id bigint, team_id bigint, subject_kind text, subject_id bigint,
    rule text, change text, level text, previous text, value double precision,
    previous_value double precision, user_id text, created_at timestamptz,
    state text, channel_id text, message_ts text, posted_at timestamptz, reason text)
LANGUAGE plpgsql VOLATILE
AS $$
#variable_conflict use_column
DECLARE
    v_team_id bigint;
    v_direction text;
    v_warning double precision;
    v_critical double precision;
    v_archived boolean;
    v_previous double precision;
    v_alert_id bigint;
    v_open text;
    v_observed text;
    v_change text;
    v_source text;
BEGIN
    SELECT k.team_id, k.name, k.direction, k.warning, k.critical, k.archived_at IS NOT NULL
    INTO v_team_id, kpi_name, v_direction, v_warning, v_critical, v_archived
    FROM kpis k
    WHERE k.id = p_kpi_id
    FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;

    <<evaluate>>
    BEGIN
        EXIT evaluate WHEN v_archived;
        -- One statement reads the previous reading (its snapshot does not
        -- see the new one), stores the new one and sets the key results
        -- following the KPI, locked in id order.
        WITH last_reading AS (
            SELECT r.value
            FROM kpi_readings r
            WHERE r.kpi_id = p_kpi_id
            ORDER BY r.read_at DESC, r.id DESC
            LIMIT 1
        ), reading AS (
            INSERT INTO kpi_readings (kpi_id, value, read_at, user_id, note, checkin_id, created_at)
            VALUES (p_kpi_id, p_value, p_read_at, p_user_id, p_note, p_checkin_id, p_now)
            RETURNING kpi_readings.id, kpi_readings.read_at
        ), followers AS (
            UPDATE key_results
            SET current_value = p_value, updated_at = p_now
            WHERE key_results.id IN (
                SELECT kr.id
                FROM key_results kr
                WHERE kr.kpi_id = p_kpi_id
                ORDER BY kr.id
                FOR NO KEY UPDATE)
        )
        SELECT reading.id, reading.read_at, (SELECT last_reading.value FROM last_reading)
        INTO reading_id, read_at, v_previous
        FROM reading;

        SELECT a.id, a.level
        INTO v_alert_id, v_open
        FROM alerts a
        WHERE a.subject_kind = 'kpi' AND a.subject_id = p_kpi_id AND a.rule = 'kpi_health'
            AND a.state = 'open'
        FOR UPDATE;
        v_open := COALESCE(v_open, '');
        v_observed := kpi_health(v_direction, v_warning, v_critical, p_value);
        v_change := next_alert(v_open, v_observed);
        v_source := 'reading:' || reading_id;
        EXIT evaluate WHEN v_change = '';
        -- A cause is applied once.
        EXIT evaluate WHEN EXISTS (
            SELECT 1
            FROM alert_events e
            WHERE e.source = v_source AND e.rule = 'kpi_health');

        IF v_change = 'opened' THEN
            -- An alert opened first by another evaluation makes this one
            -- change nothing.
            INSERT INTO alerts (team_id, subject_kind, subject_id, rule, level, state, opened_at)
            VALUES (v_team_id, 'kpi', p_kpi_id, 'kpi_health', v_observed, 'open', p_now)
            ON CONFLICT (subject_kind, subject_id, rule) WHERE state = 'open' DO NOTHING
            RETURNING alerts.id
            INTO v_alert_id;
        ELSIF v_change = 'recovered' THEN
            UPDATE alerts
            SET state = 'resolved', resolved_at = p_now
            WHERE alerts.id = v_alert_id;
        ELSE
            UPDATE alerts
            SET level = v_observed
            WHERE alerts.id = v_alert_id;
        END IF;
        EXIT evaluate WHEN v_alert_id IS NULL;
        INSERT INTO alert_events AS e (alert_id, team_id, subject_kind, subject_id, rule,
            change, level, previous, value, previous_value, user_id, source, created_at)
        VALUES (v_alert_id, v_team_id, 'kpi', p_kpi_id, 'kpi_health', v_change, v_observed,
            v_open, p_value, v_previous, p_user_id, v_source, p_now)
        ON CONFLICT (source, rule) DO NOTHING
        RETURNING e.id, e.alert_id, e.team_id, e.subject_kind, e.subject_id, e.rule,
            e.change, e.level, e.previous, e.value, e.previous_value, e.user_id,
            e.created_at, e.state, e.channel_id, e.message_ts, e.posted_at, e.reason
        INTO id, alert_id, team_id, subject_kind, subject_id, rule, change, level,
            previous, value, previous_value, user_id, created_at, state, channel_id,
            message_ts, posted_at, reason;
    END;

    IF id IS NULL THEN
        -- No event was written.
        id := 0; team_id := 0; subject_kind := ''; subject_id := 0; rule := '';
        change := ''; level := ''; previous := ''; value := 0; user_id := '';
        created_at := p_now; state := ''; channel_id := ''; message_ts := ''; reason := '';
    END IF;
    RETURN NEXT;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION record_kpi_reading(bigint, double precision, timestamptz, text, text, bigint, timestamptz);
DROP FUNCTION next_alert(text, text);
DROP FUNCTION kpi_health(text, double precision, double precision, double precision);
