#!/usr/bin/env bash
# Prints a PostgreSQL URL the tests and the demo can use, starting a server
# when none answers:
#   1. TEST_DATABASE_URL or DATABASE_URL when set;
#   2. the machine's PostgreSQL on 127.0.0.1:5432 when it answers;
#   3. a private throw-away cluster (initdb + pg_ctl, port 55432, under
#      /tmp/admsync-pg), installing Debian's postgresql package if needed.
# Progress goes to stderr; stdout is only the URL.
set -euo pipefail

say() { echo "ensure-postgres: $*" >&2; }

answers() { # host port
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h "$1" -p "$2" -t 3
  else
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
  fi
}

if [[ -n "${TEST_DATABASE_URL:-}" ]]; then echo "$TEST_DATABASE_URL"; exit 0; fi
if [[ -n "${DATABASE_URL:-}" ]]; then echo "$DATABASE_URL"; exit 0; fi

# ADMSYNC_PRIVATE_PG=1 skips the machine's server (to try the throw-away path).
if [[ -z "${ADMSYNC_PRIVATE_PG:-}" ]] && answers 127.0.0.1 5432; then
  echo "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
  exit 0
fi

# The machine's own cluster may just be stopped.
if [[ -z "${ADMSYNC_PRIVATE_PG:-}" ]] && command -v pg_ctlcluster >/dev/null 2>&1 && ls /etc/postgresql/*/main >/dev/null 2>&1; then
  ver=$(ls /etc/postgresql | sort -V | tail -1)
  say "starting the machine's PostgreSQL $ver cluster"
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start >&2 || true
  for _ in $(seq 1 30); do answers 127.0.0.1 5432 && break; sleep 0.5; done
  if answers 127.0.0.1 5432; then
    echo "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
    exit 0
  fi
fi

PORT=55432
DATA=/tmp/admsync-pg/data
if answers 127.0.0.1 $PORT; then
  echo "postgres://postgres@127.0.0.1:$PORT/postgres?sslmode=disable"
  exit 0
fi

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [[ -z "$bindir" || ! -x "$bindir/initdb" ]]; then
  say "installing Debian's postgresql package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi

# initdb refuses to run as root; the postgres user comes with the package.
runas=()
if [[ $(id -u) -eq 0 ]]; then
  id postgres >/dev/null 2>&1 || useradd --system --home /tmp/admsync-pg postgres
  runas=(runuser -u postgres --)
fi
mkdir -p /tmp/admsync-pg
chown "$([[ $(id -u) -eq 0 ]] && echo postgres || id -un)" /tmp/admsync-pg
if [[ ! -f "$DATA/PG_VERSION" ]]; then
  say "creating a throw-away cluster in $DATA"
  "${runas[@]}" "$bindir/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 >/dev/null
fi
say "starting it on 127.0.0.1:$PORT"
"${runas[@]}" "$bindir/pg_ctl" -D "$DATA" -l /tmp/admsync-pg/server.log -w -t 60 \
  -o "-p $PORT -k /tmp/admsync-pg -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >&2
echo "postgres://postgres@127.0.0.1:$PORT/postgres?sslmode=disable"
