-- Table privileges of the admsync service roles. Run by the migration Job as
-- admsync_migrator (the owner of the tables) after every `syncer migrate`;
-- GRANT is idempotent. A new table needs a line here: the deploy tests check
-- that every table named below exists in pkg/database/migrations.
--
-- Everyone reads the reference data: the tutorial catalogue (acted, and
-- the id and names of Django's public.auth_user for instructors, never its
-- password hashes) and the adm bridges. Writes are limited to what each
-- service produces. Ids are identity columns, which need no sequence
-- privilege; nobody gets nextval on a sequence or a temporary table.
-- The REVOKEs take back what earlier versions (and migration 00004) granted.
\set ON_ERROR_STOP on

BEGIN;

GRANT USAGE ON SCHEMA acted, adm, admsync TO admsync_syncer, admsync_importer, admsync_admwriter;
GRANT SELECT ON ALL TABLES IN SCHEMA acted TO admsync_syncer, admsync_importer, admsync_admwriter;
GRANT SELECT ON ALL TABLES IN SCHEMA adm TO admsync_syncer, admsync_importer, admsync_admwriter;
REVOKE ALL ON public.auth_user FROM admsync_syncer, admsync_importer, admsync_admwriter;
GRANT SELECT (id, first_name, last_name) ON public.auth_user TO admsync_syncer, admsync_importer, admsync_admwriter;
GRANT SELECT (username) ON public.auth_user TO admsync_syncer;

-- syncer: the reference bridges (Administrate -> adm) and its own runs.
-- Records gone from Administrate are marked, never deleted; only the two
-- link tables lose rows when a link disappears.
GRANT INSERT, UPDATE ON
    adm.custom_fields, adm.pricelevels, adm.course_templates,
    adm.course_template_instructors, adm.course_template_price_levels,
    adm.locations, adm.venues, adm.instructors, adm.administrators
    TO admsync_syncer;
GRANT DELETE ON adm.course_template_instructors, adm.course_template_price_levels TO admsync_syncer;
GRANT SELECT, INSERT, UPDATE ON admsync.sync_runs, admsync.sync_discrepancies TO admsync_syncer;

-- importer: tutorial events and sessions from the workbook, its runs and
-- per-row results, and one outbox row per event; its relay marks outbox
-- rows sent and prunes old sent rows.
GRANT INSERT ON acted.tutorial_events, acted.tutorial_sessions, acted.tutorial_session_instructors TO admsync_importer;
GRANT SELECT, INSERT, UPDATE ON admsync.import_runs TO admsync_importer;
GRANT SELECT, INSERT ON admsync.import_rows, admsync.import_events TO admsync_importer;
-- Corrections by re-import update what an earlier import wrote (event and
-- session fields, a session's instructors, the import details).
GRANT UPDATE ON acted.tutorial_events, acted.tutorial_sessions, admsync.import_events TO admsync_importer;
GRANT DELETE ON acted.tutorial_session_instructors TO admsync_importer;
GRANT SELECT, INSERT, DELETE ON admsync.outbox TO admsync_importer;
GRANT UPDATE (published_at, attempts, last_error) ON admsync.outbox TO admsync_importer;

-- admwriter: event and session bridges with their write state; reads the
-- import details of an event; queues republished events in the outbox and
-- records DLQ replays.
GRANT INSERT, UPDATE ON adm.events, adm.sessions TO admsync_admwriter;
GRANT SELECT ON admsync.import_events TO admsync_admwriter;
GRANT SELECT, INSERT ON admsync.outbox TO admsync_admwriter;
GRANT UPDATE (published_at, attempts, last_error) ON admsync.outbox TO admsync_admwriter;
GRANT SELECT, INSERT ON admsync.dlq_replays TO admsync_admwriter;
-- Each correction applied in Administrate, so a redelivery applies it once.
GRANT INSERT ON adm.event_changes TO admsync_admwriter;

-- Identity columns draw from their sequences without a privilege on them.
REVOKE ALL ON ALL SEQUENCES IN SCHEMA acted, adm, admsync FROM admsync_syncer, admsync_importer, admsync_admwriter;

-- No temporary tables: the migrator owns the database (roles.sql) and
-- takes TEMPORARY back from PUBLIC, which has it by default.
SELECT format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database())
\gexec

COMMIT;
