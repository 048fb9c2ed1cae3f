-- +goose Up
-- A key result update is corrected at most once: a second correction
-- corrects the first correction, so a history reads as one chain per
-- report. The index also finds an update's correction.
CREATE UNIQUE INDEX kr_updates_corrects_key ON kr_updates (corrects_id)
    WHERE corrects_id IS NOT NULL;

-- +goose Down
DROP INDEX kr_updates_corrects_key;
