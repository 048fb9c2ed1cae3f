-- +goose Up
-- Whether a claimed check-in was handed to a sender. A claim recovered from
-- a dead sender is looked for in the DM history only when its DM may have
-- gone out; a check-in claimed but never started is simply sent.
ALTER TABLE checkins ADD COLUMN send_started boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE checkins DROP COLUMN send_started;
