#!/usr/bin/env bash
# `make run`: migrate, seed the demo, then run the web server, an RQ worker and the periodic
# ticker together. Ctrl-C stops all of them. Without Redis, jobs run in-process.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export DJANGO_SETTINGS_MODULE=solosales.settings
export NURTURE_SECONDS_PER_DAY="${NURTURE_SECONDS_PER_DAY:-60}"

if ! $PY -c "import os,sys; from solosales.core.probe import redis_answers; sys.exit(0 if redis_answers(os.environ.get('REDIS_URL','redis://127.0.0.1:6379/0')) else 1)"; then
  echo "Redis does not answer at ${REDIS_URL:-redis://127.0.0.1:6379/0}: jobs will run in-process (JOBS_INLINE=1)."
  export JOBS_INLINE=1
fi

$PY manage.py migrate --noinput -v0
$PY manage.py seed_demo

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo; echo "Stopping…"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

if [ "${JOBS_INLINE:-0}" != "1" ]; then
  $PY manage.py rqworker default providers email webhooks --with-scheduler &
  pids+=($!)
fi
$PY manage.py tick --loop --interval 15 &
pids+=($!)
echo "SoloSales is at http://127.0.0.1:8000/  (admin: /admin/, demo outbox: /outbox/)"
$PY manage.py runserver 127.0.0.1:8000 --noreload &
pids+=($!)
wait -n "${pids[@]}"
