-- +goose Up
-- Following one event across the services: an import run remembers the
-- `importer serve` request that made it, and an outbox row carries the W3C
-- traceparent of the transaction that staged it, which the relay sends on as
-- a NATS header. Both are empty when unknown (CLI imports, tracing off).
ALTER TABLE admsync.import_runs ADD COLUMN request_id text NULL;
CREATE INDEX import_runs_request_id_idx ON admsync.import_runs (request_id) WHERE request_id IS NOT NULL;
ALTER TABLE admsync.outbox ADD COLUMN traceparent text NULL;

-- +goose Down
ALTER TABLE admsync.outbox DROP COLUMN traceparent;
DROP INDEX admsync.import_runs_request_id_idx;
ALTER TABLE admsync.import_runs DROP COLUMN request_id;
