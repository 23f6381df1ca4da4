-- +goose Up
-- A run whose process died (kill -9, OOM, node loss) can never finish its
-- row; the next `syncer run` or `syncer status` finds its advisory lock free
-- and marks it abandoned.
ALTER TABLE admsync.sync_runs DROP CONSTRAINT sync_runs_status_check;
ALTER TABLE admsync.sync_runs ADD CONSTRAINT sync_runs_status_check
    CHECK (status IN ('running', 'ok', 'failed', 'abandoned'));

-- +goose Down
UPDATE admsync.sync_runs SET status = 'failed' WHERE status = 'abandoned';
ALTER TABLE admsync.sync_runs DROP CONSTRAINT sync_runs_status_check;
ALTER TABLE admsync.sync_runs ADD CONSTRAINT sync_runs_status_check
    CHECK (status IN ('running', 'ok', 'failed'));
