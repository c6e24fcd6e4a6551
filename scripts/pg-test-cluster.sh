#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on 127.0.0.1 for the tests.
#   available: exit 0 when PostgreSQL's binaries are installed
#   start: print the database URL once it is up;  stop: stop it and remove its files
# Each run gets its own cluster, so two runs on one machine never meet: PGDATA (a new directory by
# default) and PGPORT (a free port on 127.0.0.1 by default). `stop` needs the same PGDATA as `start`:
# export PGDATA=$(mktemp -d) first, as scripts/run-tests.sh does, or use the one `start` prints on stderr.
set -euo pipefail
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
PGDATA=${PGDATA:-}
PORT=${PGPORT:-}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

as_postgres() {
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --create-home postgres
    su postgres -c "$*"
  else
    bash -c "$*"
  fi
}

case "${1:-}" in
  available) [ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] ;;
  start)
    if [ -z "$PGDATA" ]; then
      PGDATA=$(mktemp -d /tmp/roamrenew-test-pg.XXXXXX)
      echo "PGDATA=$PGDATA (give it to stop)" >&2
    fi
    PORT=${PORT:-$(free_port)}
    as_postgres "$PGBIN/pg_ctl -D $PGDATA -m immediate -w stop" >/dev/null 2>&1 || true
    rm -rf "$PGDATA"
    if [ "$(id -u)" = 0 ]; then id postgres >/dev/null 2>&1 || useradd --system --create-home postgres; install -d -o postgres -g postgres "$PGDATA"; else mkdir -p "$PGDATA"; fi
    as_postgres "$PGBIN/initdb -D $PGDATA -U app --auth=trust -E UTF8 --no-locale -N" >/dev/null
    as_postgres "$PGBIN/pg_ctl -D $PGDATA -l $PGDATA/server.log -w -t 30 -o \"-h 127.0.0.1 -p $PORT -k $PGDATA -c fsync=off -c max_connections=100\" start" >/dev/null
    "$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U app roamrenew_test
    echo "postgresql+psycopg://app@127.0.0.1:$PORT/roamrenew_test"
    ;;
  stop)
    [ -n "$PGDATA" ] || { echo "stop: set PGDATA to the cluster's directory" >&2; exit 2; }
    as_postgres "$PGBIN/pg_ctl -D $PGDATA -m fast -w stop" >/dev/null 2>&1 || true
    rm -rf "$PGDATA"
    ;;
  *) echo "usage: $0 available|start|stop" >&2; exit 2 ;;
esac
