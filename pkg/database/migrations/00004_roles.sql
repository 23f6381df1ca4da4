-- +goose Up
-- One NOLOGIN role per service with only the privileges its flow needs.
-- Deployments give each service a login role that is a member of one of
-- these (deploy/k8s). Roles are cluster-wide, so they are created only when
-- missing; a migrator without CREATEROLE skips this with a notice and the
-- grants are left to the DBA.
-- +goose StatementBegin
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['admsync_syncer', 'admsync_importer', 'admsync_admwriter'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', r);
            EXCEPTION WHEN insufficient_privilege OR duplicate_object THEN
                RAISE NOTICE 'admsync: cannot create role %, grants skipped', r;
            END;
        END IF;
    END LOOP;

    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname IN ('admsync_syncer', 'admsync_importer', 'admsync_admwriter')
                   HAVING count(*) = 3) THEN
        RETURN;
    END IF;

    -- Everyone reads the tutorial catalogue and the bridges.
    GRANT USAGE ON SCHEMA acted, adm, admsync TO admsync_syncer, admsync_importer, admsync_admwriter;
    GRANT SELECT ON ALL TABLES IN SCHEMA acted TO admsync_syncer, admsync_importer, admsync_admwriter;
    GRANT SELECT ON public.auth_user TO admsync_syncer, admsync_importer, admsync_admwriter;
    GRANT SELECT ON ALL TABLES IN SCHEMA adm TO admsync_syncer, admsync_importer, admsync_admwriter;

    -- syncer: reference bridges and its own run records; never events or sessions.
    GRANT INSERT, UPDATE ON adm.custom_fields, adm.pricelevels, adm.course_templates,
        adm.course_template_price_levels, adm.locations, adm.venues, adm.instructors,
        adm.administrators TO admsync_syncer;
    GRANT INSERT, DELETE ON adm.course_template_instructors TO admsync_syncer;
    GRANT SELECT, INSERT, UPDATE ON admsync.sync_runs, admsync.sync_discrepancies TO admsync_syncer;

    -- importer: tutorial events and sessions, its run records and the outbox
    -- (its relay marks rows published).
    GRANT INSERT ON acted.tutorial_events, acted.tutorial_sessions, acted.tutorial_session_instructors TO admsync_importer;
    GRANT SELECT, INSERT, UPDATE ON admsync.import_runs, admsync.import_rows, admsync.import_events TO admsync_importer;
    GRANT SELECT, INSERT, UPDATE ON admsync.outbox TO admsync_importer;

    -- admwriter: the event and session bridges, retries through the outbox,
    -- replay audit. It never changes tutorial rows (FR-015).
    GRANT INSERT, UPDATE ON adm.events, adm.sessions TO admsync_admwriter;
    GRANT SELECT ON admsync.import_events, admsync.import_runs TO admsync_admwriter;
    GRANT SELECT, INSERT, UPDATE ON admsync.outbox TO admsync_admwriter;
    GRANT SELECT, INSERT ON admsync.dlq_replays TO admsync_admwriter;

    GRANT USAGE ON ALL SEQUENCES IN SCHEMA acted, adm, admsync TO admsync_syncer, admsync_importer, admsync_admwriter;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- Roles are cluster-wide and may serve other databases; they are kept.
SELECT 1;
