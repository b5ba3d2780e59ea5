#!/usr/bin/env bash
# `make test`: the whole suite. PostgreSQL and Redis when they answer (or DATABASE_URL /
# REDIS_URL say where); otherwise SQLite and in-process jobs, naming every skipped test.
# REQUIRE_SERVICES=1 turns a missing service into a failure.
# The unit/integration suite runs on TEST_WORKERS xdist workers (default 2); the browser
# journeys (tests/e2e) run after it, serially, against their own server and worker.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
WORKERS="${TEST_WORKERS:-2}"
xdist=()
if [ "$WORKERS" != "0" ]; then xdist=(-n "$WORKERS"); fi

# Extra arguments (make test PYTEST_ARGS="...") go to both runs.
$PY -m pytest "${xdist[@]}" --ignore=tests/e2e "$@"
status=$?
if [ $status -ne 0 ]; then exit $status; fi
if [ "${SKIP_E2E:-0}" = "1" ]; then
  echo "SKIP_E2E=1: browser journeys not run"
  exit 0
fi
$PY -m pytest tests/e2e -p no:xdist "$@"
status=$?
# pytest exits 5 when nothing was collected (no journeys yet): not a failure of the suite.
if [ $status -eq 5 ]; then exit 0; fi
exit $status
