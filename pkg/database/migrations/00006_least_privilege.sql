-- +goose Up
-- Narrow what 00004 granted the service roles: nothing in their flows needs
-- Django's password hashes, a sequence of its own or a temporary table.
-- Each statement is skipped (with a notice) when the roles do not exist or
-- the migrator may not change the object, as in 00004.
-- +goose StatementBegin
DO $$
BEGIN
    IF (SELECT count(*) FROM pg_roles WHERE rolname IN ('admsync_syncer', 'admsync_importer', 'admsync_admwriter')) <> 3 THEN
        RETURN;
    END IF;

    -- public.auth_user holds Django's password hashes: the services read a
    -- user's id and name only (the syncer also the username).
    REVOKE SELECT ON public.auth_user FROM admsync_syncer, admsync_importer, admsync_admwriter;
    GRANT SELECT (id, first_name, last_name) ON public.auth_user TO admsync_syncer, admsync_importer, admsync_admwriter;
    GRANT SELECT (username) ON public.auth_user TO admsync_syncer;

    -- Every id is an identity column, which needs no privilege on its
    -- sequence; USAGE let any service call nextval on every sequence.
    REVOKE ALL ON ALL SEQUENCES IN SCHEMA acted, adm, admsync FROM admsync_syncer, admsync_importer, admsync_admwriter;

    -- No service creates temporary tables (PUBLIC may by default).
    BEGIN
        EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE NOTICE 'admsync: cannot revoke TEMPORARY on %, leave it to the DBA', current_database();
    END;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- Privileges are not widened again.
SELECT 1;
