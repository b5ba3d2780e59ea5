#!/usr/bin/env bash
# `make test`: the whole suite. PostgreSQL and Redis when they answer (or DATABASE_URL /
# REDIS_URL say where); otherwise SQLite and in-process jobs, naming every skipped test.
# REQUIRE_SERVICES=1 turns a missing service into a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
WORKERS="${TEST_WORKERS:-2}"
args=("$@")
if [ "$WORKERS" != "0" ]; then args=(-n "$WORKERS" "${args[@]}"); fi
$PY -m pytest "${args[@]}"
exit $?
