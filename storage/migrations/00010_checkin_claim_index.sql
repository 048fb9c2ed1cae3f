-- +goose Up
-- The sender claims the oldest due check-ins a few at a time: in index
-- order, so a claim reads the few rows it takes rather than sorting every
-- scheduled one (thousands on a fan-out, all due at the same minute).
CREATE INDEX checkins_claim_idx ON checkins (due_at, id) WHERE state = 'scheduled';

-- +goose Down
DROP INDEX checkins_claim_idx;
