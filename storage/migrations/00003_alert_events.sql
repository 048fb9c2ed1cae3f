-- +goose Up
-- Alert events are an outbox: written in the transaction that caused them
-- (a reading, a check-in, the daily pace check), then claimed, posted once
-- and marked, so an alert is never lost when Slack is down and never posted
-- twice by a redelivery, a restart or a second replica.

CREATE TABLE alert_events (
    id              bigserial PRIMARY KEY,
    alert_id        bigint REFERENCES alerts (id) ON DELETE CASCADE,
    team_id         bigint NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    subject_kind    text NOT NULL CHECK (subject_kind IN ('kpi', 'kr')),
    subject_id      bigint NOT NULL,
    rule            text NOT NULL,
    change          text NOT NULL CHECK (change IN ('opened', 'worsened', 'improved', 'recovered', 'happened')),
    level           text NOT NULL,
    previous        text NOT NULL DEFAULT '',
    value           double precision NOT NULL,
    previous_value  double precision,
    user_id         text NOT NULL DEFAULT '',
    -- What caused it, e.g. "reading:42" or "kr_update:7": the same cause
    -- never writes the same rule's event twice.
    source          text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'posting', 'posted', 'failed')),
    claimed_by      text NOT NULL DEFAULT '',
    claimed_until   timestamptz,
    attempts        int NOT NULL DEFAULT 0,
    channel_id      text NOT NULL DEFAULT '',
    message_ts      text NOT NULL DEFAULT '',
    posted_at       timestamptz,
    reason          text NOT NULL DEFAULT '',
    UNIQUE (source, rule)
);
CREATE INDEX alert_events_queue_idx ON alert_events (created_at) WHERE state IN ('pending', 'posting');
CREATE INDEX alert_events_subject_idx ON alert_events (subject_kind, subject_id, created_at);

-- Readings of a KPI arrive from commands and check-ins; a KR can follow one.
ALTER TABLE kpi_readings ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();

-- +goose Down
ALTER TABLE kpi_readings DROP COLUMN created_at;
DROP TABLE alert_events;
