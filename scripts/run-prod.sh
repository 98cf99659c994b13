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

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in "$EMULATOR_PORT" "$DASHBOARD_PORT"; do
  if port_busy "$port"; then
    echo "Port $port is already in use: stop what runs there (make run?) and try again." >&2
    exit 1
  fi
done

"$PY" manage.py check --database default
"$PY" manage.py migrate --noinput
"$PY" manage.py collectstatic --noinput --verbosity 0
"$PY" manage.py seed_demo_users

pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "Stopping gunicorn and the emulator..."
  # SIGTERM: gunicorn's gthread workers can hang on SIGINT/SIGQUIT (see the README).
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

"$PY" -m serverless_emulator --host 127.0.0.1 --port "$EMULATOR_PORT" \
  --seed demo --state var/emulator-state-prod.json &
pids+=($!)
for _ in $(seq 1 50); do port_busy "$EMULATOR_PORT" && break; sleep 0.1; done
port_busy "$EMULATOR_PORT" || { echo "The emulator did not start." >&2; exit 1; }

"$PY" manage.py reconcile || echo "(reconcile could not read everything; starting anyway)"
"$PY" manage.py seed_demo_policies || echo "(could not seed the demo policies; starting anyway)"
"$PY" manage.py seed_demo_history || echo "(could not seed the demo history; starting anyway)"
( while sleep 60; do "$PY" manage.py reconcile >/dev/null 2>&1 || true; done ) &
pids+=($!)

echo
echo "Dashboard: http://127.0.0.1:$DASHBOARD_PORT on gunicorn ($WORKERS workers x $THREADS threads),"
echo "PostgreSQL $DATABASE_URL, Redis $REDIS_URL. Health: http://127.0.0.1:$DASHBOARD_PORT/healthz"
.venv/bin/gunicorn dashboard.wsgi:application --bind "127.0.0.1:$DASHBOARD_PORT" \
  --workers "$WORKERS" --threads "$THREADS" --worker-class gthread \
  --access-logfile - --graceful-timeout 10 &
pids+=($!)
wait -n "${pids[@]}"
