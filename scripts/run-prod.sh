#!/usr/bin/env bash
# `make prod`: the dashboard as production runs it, on this machine: gunicorn (workers x
# threads) on PostgreSQL and Redis, collected static files, against the seeded emulator
# (no Twilio account needed). Ctrl-C stops it. Override any of the variables below.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
EMULATOR_PORT=${EMULATOR_PORT:-8787}
DASHBOARD_PORT=${DASHBOARD_PORT:-8000}
export TWILIO_SERVERLESS_BASE_URL=${TWILIO_SERVERLESS_BASE_URL:-http://127.0.0.1:$EMULATOR_PORT}
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
export DATABASE_CONN_MAX_AGE=${DATABASE_CONN_MAX_AGE:-60}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/1}
export DJANGO_STATIC_ROOT=${DJANGO_STATIC_ROOT:-var/static}
export WHITENOISE_USE_FINDERS=false
WORKERS=${GUNICORN_WORKERS:-3}
THREADS=${GUNICORN_THREADS:-8}
mkdir -p var
source scripts/demo-common.sh
require_free_ports

"$PY" manage.py migrate --noinput
"$PY" manage.py collectstatic --noinput --verbosity 0
"$PY" manage.py seed_demo_users

trap stop_all INT TERM EXIT
start_emulator var/emulator-state-prod.json
seed_and_reconcile

echo
echo "Dashboard: http://127.0.0.1:$DASHBOARD_PORT on gunicorn ($WORKERS workers x $THREADS threads),"
echo "PostgreSQL $DATABASE_URL, Redis $REDIS_URL. Health: http://127.0.0.1:$DASHBOARD_PORT/healthz"
.venv/bin/gunicorn dashboard.wsgi:application --bind "127.0.0.1:$DASHBOARD_PORT" \
  --workers "$WORKERS" --threads "$THREADS" --worker-class gthread \
  --access-logfile - --graceful-timeout 10 &
pids+=($!)
wait -n "${pids[@]}"
