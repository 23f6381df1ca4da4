#!/bin/sh
# Run by the postgres image's entrypoint on first start (empty data
# directory) from /docker-entrypoint-initdb.d: creates the admsync roles with
# passwords read from the mounted Secret "postgres-auth".
set -eu
secrets=/var/run/secrets/postgres
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v dbname="$POSTGRES_DB" \
  -v migrator_password="$(cat "$secrets/migrator-password")" \
  -v syncer_password="$(cat "$secrets/syncer-password")" \
  -v importer_password="$(cat "$secrets/importer-password")" \
  -v admwriter_password="$(cat "$secrets/admwriter-password")" \
  -f /etc/admsync-sql/roles.sql
