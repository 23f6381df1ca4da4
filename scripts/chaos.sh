#!/usr/bin/env bash
# `make chaos`: builds the chaos runner (test/cmd/admsync-chaos) and the
# killable nats-server wrapper (test/cmd/natsd), starts a throw-away
# PostgreSQL cluster for the restart scenario, runs every fault scenario and
# stops that cluster again. The cluster has its own port and directory
# (127.0.0.1:55433, /tmp/admsync-chaos-pg), so `pg_ctl restart -m immediate`
# can never hit the machine's cluster, nor the tests' private one on 55432.
# The other scenarios use TEST_DATABASE_URL (set by make). Besides the named
# scenarios it runs CHAOS_ROUNDS (default 50) randomized rounds, seeds
# CHAOS_ROUND_SEED (default 1) onwards. Arguments go to admsync-chaos, e.g.
# `scripts/chaos.sh --only 'nats|pg' --keep`, or `scripts/chaos.sh --round 17`
# to rerun the round a failing run named.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${TEST_DATABASE_URL:?set it to a PostgreSQL server URL, or run make chaos}"
BIN=$PWD/bin
say() { echo "chaos: $*" >&2; }

(cd test && go build -o "$BIN/admsync-chaos" ./cmd/admsync-chaos && go build -o "$BIN/natsd" ./cmd/natsd)
# The services under test get their own directory: the admwriter there is
# built with failpoints (ADMWRITER_CRASH_AT), which the shipped one lacks.
CHAOS_BIN=$BIN/chaos
mkdir -p "$CHAOS_BIN"
for s in syncer importer admwriter; do (cd "services/$s" && go build -tags failpoints -o "$CHAOS_BIN/$s" .); done

PG_PORT=${CHAOS_PG_PORT:-55433}
PG_ROOT=/tmp/admsync-chaos-pg
PG_DATA=$PG_ROOT/data
pgargs=()
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [[ -n "$bindir" && -x "$bindir/initdb" ]]; then
  # initdb and the server refuse to run as root.
  runas=()
  if [[ $(id -u) -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || useradd --system --home "$PG_ROOT" postgres
    runas=(runuser -u postgres --)
  fi
  mkdir -p "$PG_ROOT"
  [[ $(id -u) -eq 0 ]] && chown postgres "$PG_ROOT"
  if [[ ! -f "$PG_DATA/PG_VERSION" ]]; then
    say "creating a throw-away PostgreSQL cluster in $PG_DATA"
    "${runas[@]}" "$bindir/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 >/dev/null
  fi
  pgctl=("${runas[@]}" "$bindir/pg_ctl" -D "$PG_DATA" -l "$PG_ROOT/server.log")
  if ! "$bindir/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 2; then
    say "starting it on 127.0.0.1:$PG_PORT"
    "${pgctl[@]}" -w -t 60 -o "-p $PG_PORT -k $PG_ROOT -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
    # Only the run that started the cluster stops it: a second chaos.sh
    # (one scenario rerun beside a full run) must not pull it from under
    # the first one's rounds.
    trap '"${pgctl[@]}" -m fast -w stop >/dev/null 2>&1 || true' EXIT
  fi
  # restart reuses the options the server was started with (postmaster.opts).
  pgargs=(--pg-url "postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable"
    --pg-restart "${pgctl[*]} restart -m immediate -w -t 60")
else
  say "no PostgreSQL server binaries here: the pg-restart scenario is skipped"
fi

start=$(date +%s)
rc=0
# Three at a time: most scenarios and rounds spend their time waiting (AckWait, the outage,
# the pause), so three fit on two cores; CHAOS_PARALLEL overrides it.
"$BIN/admsync-chaos" --bin "$CHAOS_BIN" --natsd "$BIN/natsd" --parallel "${CHAOS_PARALLEL:-3}" \
  --rounds "${CHAOS_ROUNDS:-50}" --round-seed "${CHAOS_ROUND_SEED:-1}" "${pgargs[@]}" "$@" || rc=$?
say "make chaos took $(( $(date +%s) - start )) s"
exit $rc
