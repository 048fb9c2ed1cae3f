-- +goose Up
-- Reports, weekly digests and quarterly summaries, are an outbox like the
-- alert events: enqueued once per team, kind and key (the digest's date,
-- the summary's period, or "manual:…" for one asked for), claimed by a
-- poster with a lease, posted once and marked.
CREATE TABLE reports (
    id             bigserial PRIMARY KEY,
    team_id        bigint NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    kind           text NOT NULL CHECK (kind IN ('digest', 'summary')),
    key            text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    state          text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'posted', 'failed')),
    claimed_by     text NOT NULL DEFAULT '',
    claimed_until  timestamptz,
    attempts       int NOT NULL DEFAULT 0,
    reason         text NOT NULL DEFAULT '',
    channel_id     text NOT NULL DEFAULT '',
    message_ts     text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    posted_at      timestamptz,
    UNIQUE (team_id, kind, key)
);
-- The poster's work queue, and a team's last digest (the digest's "since").
CREATE INDEX reports_queue_idx ON reports (created_at) WHERE state = 'pending';
CREATE INDEX reports_posted_idx ON reports (team_id, kind, posted_at) WHERE state = 'posted';

-- The end of a quarter: an objective's grade is frozen when it closes
-- (score, whether it goes on next quarter, each key result's final value),
-- and an unfinished aspirational objective goes on as a copy in the next
-- quarter, once: carried_from is unique.
ALTER TABLE objectives
    ADD COLUMN carried_from  bigint REFERENCES objectives (id) ON DELETE SET NULL,
    ADD COLUMN carry_over    boolean NOT NULL DEFAULT false,
    ADD COLUMN closed_by     text NOT NULL DEFAULT '';
CREATE UNIQUE INDEX objectives_carried_from_key ON objectives (carried_from)
    WHERE carried_from IS NOT NULL;
ALTER TABLE key_results ADD COLUMN final_value double precision;

-- A summary reads every update of a team's key results and every reading
-- of its KPIs over a quarter: the indexes by key result or KPI and time
-- cover what it needs, so that it reads a few index pages for each rather
-- than a heap page per row.
DROP INDEX kr_updates_kr_idx;
CREATE INDEX kr_updates_kr_idx ON kr_updates (key_result_id, created_at)
    INCLUDE (id, value, corrects_id);
DROP INDEX kpi_readings_kpi_idx;
CREATE INDEX kpi_readings_kpi_idx ON kpi_readings (kpi_id, read_at) INCLUDE (id, value);

-- +goose Down
DROP INDEX kpi_readings_kpi_idx;
CREATE INDEX kpi_readings_kpi_idx ON kpi_readings (kpi_id, read_at);
DROP INDEX kr_updates_kr_idx;
CREATE INDEX kr_updates_kr_idx ON kr_updates (key_result_id, created_at);
ALTER TABLE key_results DROP COLUMN final_value;
DROP INDEX objectives_carried_from_key;
ALTER TABLE objectives DROP COLUMN closed_by, DROP COLUMN carry_over, DROP COLUMN carried_from;
DROP TABLE reports;
