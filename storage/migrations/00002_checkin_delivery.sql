-- +goose Up
-- Check-in delivery: a claim with a lease while a DM is being sent (so two
-- replicas never send the same one, and a crashed sender's claim can be
-- recovered), and the reason a check-in could not be delivered.

ALTER TABLE checkins DROP CONSTRAINT checkins_state_check;
ALTER TABLE checkins ADD CONSTRAINT checkins_state_check CHECK (state IN
    ('scheduled', 'sending', 'sent', 'answered', 'skipped', 'missed', 'away', 'undeliverable'));
ALTER TABLE checkins
    ADD COLUMN claimed_until   timestamptz,
    ADD COLUMN claimed_by      text NOT NULL DEFAULT '',
    ADD COLUMN attempts        int NOT NULL DEFAULT 0,
    ADD COLUMN reason          text NOT NULL DEFAULT '',
    ADD COLUMN reminder_ts     text NOT NULL DEFAULT '',
    ADD COLUMN closed_at       timestamptz;

-- The sender's and the reminder's work queues.
CREATE INDEX checkins_sending_idx ON checkins (claimed_until) WHERE state = 'sending';
CREATE INDEX checkins_open_idx ON checkins (team_id, due_at) WHERE state IN ('scheduled', 'sending', 'sent');

-- A check-in answered over several modal pages keeps its earlier pages here
-- until the last page commits them all in one transaction.
CREATE TABLE checkin_drafts (
    checkin_id  bigint NOT NULL REFERENCES checkins (id) ON DELETE CASCADE,
    page        int NOT NULL,
    answers     jsonb NOT NULL,
    saved_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (checkin_id, page)
);

CREATE INDEX processed_events_at_idx ON processed_events (processed_at);

-- +goose Down
DROP INDEX processed_events_at_idx;
DROP TABLE checkin_drafts;
DROP INDEX checkins_open_idx;
DROP INDEX checkins_sending_idx;
ALTER TABLE checkins DROP COLUMN closed_at, DROP COLUMN reminder_ts, DROP COLUMN reason,
    DROP COLUMN attempts, DROP COLUMN claimed_by, DROP COLUMN claimed_until;
ALTER TABLE checkins DROP CONSTRAINT checkins_state_check;
ALTER TABLE checkins ADD CONSTRAINT checkins_state_check CHECK (state IN
    ('scheduled', 'sent', 'answered', 'skipped', 'missed', 'away'));
