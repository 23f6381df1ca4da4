-- admsync PostgreSQL roles. Run once per cluster as a superuser (the
-- in-cluster PostgreSQL does it at first start through initdb-roles.sh; for
-- an external server a DBA runs it, see deploy/README.md):
--
--   psql -v ON_ERROR_STOP=1 -v dbname=admsync \
--        -v migrator_password=... -v syncer_password=... \
--        -v importer_password=... -v admwriter_password=... \
--        -d admsync -f roles.sql
--
-- It is idempotent: a second run only resets the passwords.
--
-- admsync_migrator owns the database and every object the migrations create
-- (schemas acted, adm, admsync and the goose version table in public); it is
-- used by the migration Job only. The service roles own nothing and cannot
-- create anything: grants.sql, run by the migration Job after each
-- migration, gives them the table privileges they need.

SELECT format('CREATE ROLE %I', r)
FROM unnest(ARRAY['admsync_migrator', 'admsync_syncer', 'admsync_importer', 'admsync_admwriter']) AS r
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r)
\gexec

ALTER ROLE admsync_migrator  WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT CONNECTION LIMIT 5  PASSWORD :'migrator_password';
ALTER ROLE admsync_syncer    WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT CONNECTION LIMIT 20 PASSWORD :'syncer_password';
ALTER ROLE admsync_importer  WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT CONNECTION LIMIT 20 PASSWORD :'importer_password';
ALTER ROLE admsync_admwriter WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT CONNECTION LIMIT 20 PASSWORD :'admwriter_password';

-- The migrator owns the database: it may create schemas, and (PostgreSQL 15
-- and later) the public schema, which belongs to pg_database_owner.
ALTER DATABASE :"dbname" OWNER TO admsync_migrator;
REVOKE ALL ON DATABASE :"dbname" FROM PUBLIC;
REVOKE ALL ON DATABASE :"dbname" FROM admsync_syncer, admsync_importer, admsync_admwriter;
GRANT CONNECT ON DATABASE :"dbname" TO admsync_syncer, admsync_importer, admsync_admwriter;

-- The service roles reach their own database only. PUBLIC may connect to
-- (and create temporary tables in) the maintenance database by default;
-- the superuser and the DBA's own roles keep their access. On a server
-- shared with other applications, grant CONNECT on postgres back to the
-- roles that need it.
REVOKE CONNECT, TEMPORARY ON DATABASE postgres FROM PUBLIC;
REVOKE CONNECT, TEMPORARY ON DATABASE template1 FROM PUBLIC;

-- Nobody but the owner creates objects in public (already the default
-- from PostgreSQL 15 on; explicit for older servers).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO admsync_migrator;
