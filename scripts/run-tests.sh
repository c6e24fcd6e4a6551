#!/usr/bin/env bash
# The whole suite on SQLite and again on a throwaway PostgreSQL cluster (when PostgreSQL is
# installed; under CI=true it must be). The two passes run side by side (half of a pass's time is
# spent waiting on servers, browsers and timers); each writes its log, and the logs are printed one
# after the other, PostgreSQL's last, so pytest's summary line is the last thing printed.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
ARTIFACTS=test-artifacts
mkdir -p $ARTIFACTS

if [ -z "${TEST_DATABASE_URL:-}" ] && ! scripts/pg-test-cluster.sh available; then
  if [ "${CI:-}" = "true" ]; then
    echo "PostgreSQL is not installed, and CI must test on it" >&2
    exit 1
  fi
  echo "== tests on SQLite"
  $BIN/pytest -m "not postgresql_only" "$@"
  echo "== PostgreSQL not installed here: skipping the PostgreSQL pass (apt-get install postgresql)"
  exit 0
fi
if [ -z "${TEST_DATABASE_URL:-}" ]; then
  # A cluster of this run's own (directory and free port), so another run on the machine is left alone.
  PGDATA=$(mktemp -d /tmp/roamrenew-test-pg.XXXXXX)
  export PGDATA
  trap 'scripts/pg-test-cluster.sh stop' EXIT
  TEST_DATABASE_URL=$(scripts/pg-test-cluster.sh start)
fi

echo "== tests on SQLite and on PostgreSQL, side by side (logs in $ARTIFACTS/)"
env -u TEST_DATABASE_URL $BIN/pytest -m "not postgresql_only" --durations=15 "$@" >$ARTIFACTS/sqlite.log 2>&1 &
sqlite=$!
TEST_DATABASE_URL=$TEST_DATABASE_URL SCREENSHOT_DIR=$ARTIFACTS/screenshots-postgresql \
  $BIN/pytest --output=$ARTIFACTS/playwright-postgresql --durations=15 "$@" >$ARTIFACTS/postgresql.log 2>&1 &
postgresql=$!
sqlite_status=0 postgresql_status=0
wait $sqlite || sqlite_status=$?
wait $postgresql || postgresql_status=$?
echo "== tests on SQLite"
cat $ARTIFACTS/sqlite.log
echo "== tests on PostgreSQL (${TEST_DATABASE_URL%%@*}@…)"
cat $ARTIFACTS/postgresql.log
[ $sqlite_status -eq 0 ] && [ $postgresql_status -eq 0 ]
