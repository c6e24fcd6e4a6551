#!/usr/bin/env bash
# The whole suite on SQLite, then again on a throwaway PostgreSQL cluster (when PostgreSQL is
# installed; under CI=true it must be). pytest's summary line is the last thing printed.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
mkdir -p test-artifacts

echo "== tests on SQLite"
$BIN/pytest -m "not postgresql_only" "$@"

if [ -n "${TEST_DATABASE_URL:-}" ]; then
  echo "== tests on PostgreSQL (${TEST_DATABASE_URL%%@*}@…)"
  exec $BIN/pytest "$@"
fi
if ! scripts/pg-test-cluster.sh available; then
  if [ "${CI:-}" = "true" ]; then
    echo "PostgreSQL is not installed, and CI must test on it" >&2
    exit 1
  fi
  echo "== PostgreSQL not installed here: skipping the PostgreSQL pass (apt-get install postgresql)"
  exit 0
fi
# A cluster of this run's own (directory and free port), so another run on the machine is left alone.
PGDATA=$(mktemp -d /tmp/roamrenew-test-pg.XXXXXX)
export PGDATA
trap 'scripts/pg-test-cluster.sh stop' EXIT
TEST_DATABASE_URL=$(scripts/pg-test-cluster.sh start)
export TEST_DATABASE_URL
echo "== tests on PostgreSQL"
status=0
$BIN/pytest "$@" || status=$?
exit $status
