-- +goose Up
-- One row per lease: the replica holding it runs the scheduled jobs until
-- it stops renewing, and another takes over once it has expired. Expiry is
-- judged by the database's clock, the one clock every replica shares.
CREATE TABLE scheduler_leases (
    name        text PRIMARY KEY,
    holder      text NOT NULL,
    expires_at  timestamptz NOT NULL
);

-- +goose Down
DROP TABLE scheduler_leases;
