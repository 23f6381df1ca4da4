-- +goose Up
-- Changes made in Administrate flow back (`syncer run events`, webhooks).
-- Administrate-side state the tutorial tables have no column for (lifecycle
-- state, web sale, cancellation, places, LMS dates) is kept on the event and
-- session bridges, which admsync owns, so the acted tables stay exactly as
-- Django made them. `synced` is the last Administrate state applied to a row:
-- a field that differs from it on both sides is a conflict, reported and left
-- alone. `adm_updated_at` is Administrate's updatedAt of that state, so an
-- older read never overwrites a newer one.
ALTER TABLE adm.events
    ADD COLUMN adm_lifecycle_state varchar(20) NULL,
    ADD COLUMN adm_web_sale        boolean NULL,
    ADD COLUMN adm_cancelled_at    timestamptz NULL,
    ADD COLUMN adm_updated_at      timestamptz NULL,
    ADD COLUMN synced              jsonb NULL,
    ADD COLUMN last_synced         timestamptz NULL,
    ADD COLUMN gone_at             timestamptz NULL;

ALTER TABLE adm.sessions
    ADD COLUMN synced  jsonb NULL,
    ADD COLUMN gone_at timestamptz NULL;

-- One row per webhook delivery applied: its id is the one the intake used as
-- Nats-Msg-Id, so a delivery applied twice would be a primary-key conflict.
CREATE TABLE admsync.webhook_deliveries (
    delivery_id  varchar(200) PRIMARY KEY,
    webhook_id   varchar(255) NOT NULL,
    object_id    varchar(255) NOT NULL,
    triggered_at timestamptz NULL,
    received_at  timestamptz NOT NULL,
    applied_at   timestamptz NOT NULL DEFAULT now(),
    outcome      varchar(20) NOT NULL
);
CREATE INDEX webhook_deliveries_object_idx ON admsync.webhook_deliveries (object_id);

-- +goose StatementBegin
DO $$
BEGIN
    IF (SELECT count(*) FROM pg_roles WHERE rolname = 'admsync_syncer') <> 1 THEN
        RETURN;
    END IF;
    -- The events stage and the webhook consumer bring tutorial events and
    -- sessions up to date and keep the event bridges' Administrate state.
    GRANT UPDATE ON adm.events, adm.sessions TO admsync_syncer;
    GRANT INSERT ON adm.events, adm.sessions TO admsync_syncer;
    GRANT UPDATE (venue_id, location_id, is_soldout, remain_space, updated_at) ON acted.tutorial_events TO admsync_syncer;
    GRANT UPDATE (venue_id, location_id, title, updated_at) ON acted.tutorial_sessions TO admsync_syncer;
    GRANT INSERT, DELETE ON acted.tutorial_session_instructors TO admsync_syncer;
    GRANT SELECT, INSERT ON admsync.webhook_deliveries TO admsync_syncer;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'admsync: cannot grant the events stage its privileges, leave it to the DBA';
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP TABLE admsync.webhook_deliveries;
ALTER TABLE adm.sessions DROP COLUMN synced, DROP COLUMN gone_at;
ALTER TABLE adm.events DROP COLUMN adm_lifecycle_state, DROP COLUMN adm_web_sale, DROP COLUMN adm_cancelled_at,
    DROP COLUMN adm_updated_at, DROP COLUMN synced, DROP COLUMN last_synced, DROP COLUMN gone_at;
