-- +goose Up
-- The whole domain of the product specification, with the constraints that
-- make duplicates impossible.

CREATE TABLE teams (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    channel_id  text NOT NULL UNIQUE,
    parent_id   bigint REFERENCES teams (id) ON DELETE SET NULL,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX teams_name_key ON teams (lower(name));
CREATE INDEX teams_parent_idx ON teams (parent_id);

CREATE TABLE team_members (
    team_id   bigint NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id   text NOT NULL,
    role      text NOT NULL CHECK (role IN ('member', 'lead')),
    added_by  text NOT NULL,
    added_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user_idx ON team_members (user_id);

CREATE TABLE schedules (
    team_id          bigint PRIMARY KEY REFERENCES teams (id) ON DELETE CASCADE,
    checkin_weekday  smallint NOT NULL CHECK (checkin_weekday BETWEEN 0 AND 6),
    checkin_minute   smallint NOT NULL CHECK (checkin_minute BETWEEN 0 AND 1439),
    reminder_delay   bigint NOT NULL CHECK (reminder_delay >= 0), -- nanoseconds
    digest_weekday   smallint NOT NULL CHECK (digest_weekday BETWEEN 0 AND 6),
    digest_minute    smallint NOT NULL CHECK (digest_minute BETWEEN 0 AND 1439),
    quarter_summary  boolean NOT NULL DEFAULT true,
    updated_by       text NOT NULL DEFAULT '',
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE periods (
    id         bigserial PRIMARY KEY,
    label      text NOT NULL UNIQUE,
    kind       text NOT NULL CHECK (kind IN ('quarter', 'year')),
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL,
    CHECK (ends_at > starts_at)
);

CREATE TABLE objectives (
    id           bigserial PRIMARY KEY,
    team_id      bigint NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    period_id    bigint NOT NULL REFERENCES periods (id),
    title        text NOT NULL CHECK (length(title) BETWEEN 1 AND 150),
    description  text NOT NULL DEFAULT '',
    owner_id     text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('committed', 'aspirational')),
    parent_id    bigint REFERENCES objectives (id) ON DELETE SET NULL,
    status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed')),
    score        double precision,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    closed_at    timestamptz
);
CREATE INDEX objectives_team_period_idx ON objectives (team_id, period_id);
CREATE INDEX objectives_owner_idx ON objectives (owner_id);
CREATE INDEX objectives_parent_idx ON objectives (parent_id);

CREATE TABLE kpis (
    id           bigserial PRIMARY KEY,
    team_id      bigint NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    owner_id     text NOT NULL,
    unit         text NOT NULL DEFAULT '',
    direction    text NOT NULL CHECK (direction IN ('higher_is_better', 'lower_is_better')),
    warning      double precision NOT NULL,
    critical     double precision NOT NULL,
    cadence      text NOT NULL CHECK (cadence IN ('daily', 'weekly', 'monthly')),
    data_source  text NOT NULL DEFAULT '',
    archived_at  timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK ((direction = 'higher_is_better' AND critical < warning)
        OR (direction = 'lower_is_better' AND critical > warning))
);
CREATE UNIQUE INDEX kpis_team_name_key ON kpis (team_id, lower(name)) WHERE archived_at IS NULL;
CREATE INDEX kpis_owner_idx ON kpis (owner_id);

CREATE TABLE key_results (
    id             bigserial PRIMARY KEY,
    objective_id   bigint NOT NULL REFERENCES objectives (id) ON DELETE CASCADE,
    position       int NOT NULL DEFAULT 0,
    title          text NOT NULL CHECK (length(title) BETWEEN 1 AND 150),
    owner_id       text NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('metric', 'milestone')),
    unit           text NOT NULL DEFAULT '',
    start_value    double precision NOT NULL,
    target_value   double precision NOT NULL,
    current_value  double precision NOT NULL,
    confidence     smallint NOT NULL DEFAULT 0 CHECK (confidence BETWEEN 0 AND 10),
    kpi_id         bigint REFERENCES kpis (id) ON DELETE SET NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (kind = 'milestone' OR target_value <> start_value)
);
CREATE INDEX key_results_objective_idx ON key_results (objective_id, position);
CREATE INDEX key_results_owner_idx ON key_results (owner_id);
CREATE INDEX key_results_kpi_idx ON key_results (kpi_id) WHERE kpi_id IS NOT NULL;

CREATE TABLE checkins (
    id              bigserial PRIMARY KEY,
    team_id         bigint NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id         text NOT NULL,
    cycle_start     date NOT NULL,
    due_at          timestamptz NOT NULL,
    state           text NOT NULL DEFAULT 'scheduled'
                    CHECK (state IN ('scheduled', 'sent', 'answered', 'skipped', 'missed', 'away')),
    dm_channel      text NOT NULL DEFAULT '',
    dm_ts           text NOT NULL DEFAULT '',
    reminders_sent  int NOT NULL DEFAULT 0,
    blockers        text NOT NULL DEFAULT '',
    sent_at         timestamptz,
    answered_at     timestamptz,
    UNIQUE (team_id, user_id, cycle_start)
);
CREATE INDEX checkins_due_idx ON checkins (state, due_at);
CREATE INDEX checkins_user_idx ON checkins (user_id);

CREATE TABLE kpi_readings (
    id          bigserial PRIMARY KEY,
    kpi_id      bigint NOT NULL REFERENCES kpis (id) ON DELETE CASCADE,
    value       double precision NOT NULL,
    read_at     timestamptz NOT NULL DEFAULT now(),
    user_id     text NOT NULL,
    note        text NOT NULL DEFAULT '',
    checkin_id  bigint REFERENCES checkins (id) ON DELETE SET NULL
);
CREATE INDEX kpi_readings_kpi_idx ON kpi_readings (kpi_id, read_at);

CREATE TABLE kr_updates (
    id             bigserial PRIMARY KEY,
    key_result_id  bigint NOT NULL REFERENCES key_results (id) ON DELETE CASCADE,
    value          double precision NOT NULL,
    confidence     smallint NOT NULL CHECK (confidence BETWEEN 0 AND 10),
    status         text NOT NULL DEFAULT '',
    comment        text NOT NULL DEFAULT '',
    user_id        text NOT NULL,
    checkin_id     bigint REFERENCES checkins (id) ON DELETE SET NULL,
    corrects_id    bigint REFERENCES kr_updates (id),
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX kr_updates_kr_idx ON kr_updates (key_result_id, created_at);
CREATE UNIQUE INDEX kr_updates_checkin_key ON kr_updates (checkin_id, key_result_id)
    WHERE checkin_id IS NOT NULL AND corrects_id IS NULL;

CREATE TABLE alerts (
    id            bigserial PRIMARY KEY,
    team_id       bigint NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    subject_kind  text NOT NULL CHECK (subject_kind IN ('kpi', 'kr')),
    subject_id    bigint NOT NULL,
    rule          text NOT NULL,
    level         text NOT NULL,
    state         text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'resolved')),
    channel_id    text NOT NULL DEFAULT '',
    message_ts    text NOT NULL DEFAULT '',
    opened_at     timestamptz NOT NULL DEFAULT now(),
    resolved_at   timestamptz
);
CREATE UNIQUE INDEX alerts_open_key ON alerts (subject_kind, subject_id, rule) WHERE state = 'open';
CREATE INDEX alerts_team_idx ON alerts (team_id, opened_at);

-- What Slack says of a person, cached: time zone and admin rights.
CREATE TABLE slack_users (
    id          text PRIMARY KEY,
    tz          text NOT NULL DEFAULT '',
    is_admin    boolean NOT NULL DEFAULT false,
    is_owner    boolean NOT NULL DEFAULT false,
    is_bot      boolean NOT NULL DEFAULT false,
    deleted     boolean NOT NULL DEFAULT false,
    fetched_at  timestamptz NOT NULL DEFAULT now()
);

-- Someone who is away gets no check-ins or reminders until the date.
CREATE TABLE absences (
    user_id  text PRIMARY KEY,
    until    date NOT NULL,
    set_at   timestamptz NOT NULL DEFAULT now()
);

-- Socket Mode envelopes and events already handled, so a redelivery does
-- its work once.
CREATE TABLE processed_events (
    key           text PRIMARY KEY,
    processed_at  timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE processed_events, absences, slack_users, alerts, kr_updates,
    kpi_readings, checkins, key_results, kpis, objectives, periods, schedules,
    team_members, teams;
