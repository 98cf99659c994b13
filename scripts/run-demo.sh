#!/usr/bin/env bash
# `make run`: the seeded emulator on 127.0.0.1:8787 and the dashboard on 127.0.0.1:8000.
# Ctrl-C stops both. A second run keeps the database and the emulator's state.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
EMULATOR_PORT=${EMULATOR_PORT:-8787}
DASHBOARD_PORT=${DASHBOARD_PORT:-8000}
export TWILIO_SERVERLESS_BASE_URL=${TWILIO_SERVERLESS_BASE_URL:-http://127.0.0.1:$EMULATOR_PORT}
mkdir -p var

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in "$EMULATOR_PORT" "$DASHBOARD_PORT"; do
  if port_busy "$port"; then
    echo "Port $port is already in use: stop what runs there (another make run?) and try again." >&2
    exit 1
  fi
done

"$PY" manage.py migrate --noinput
"$PY" manage.py seed_demo_users

pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "Stopping the dashboard and the emulator..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

"$PY" -m serverless_emulator --host 127.0.0.1 --port "$EMULATOR_PORT" \
  --seed demo --state var/emulator-state.json &
pids+=($!)
for _ in $(seq 1 50); do port_busy "$EMULATOR_PORT" && break; sleep 0.1; done
port_busy "$EMULATOR_PORT" || { echo "The emulator did not start." >&2; exit 1; }

# Page reads never write: reconcile records what is live now as the baseline, and then,
# as cron does in production, every minute (outside changes, unfinished actions).
"$PY" manage.py reconcile || echo "(reconcile could not read everything; starting anyway)"
"$PY" manage.py seed_demo_policies || echo "(could not seed the demo policies; starting anyway)"
# The dashboard's own history: a promotion, a rollback, a clear, a request (once).
"$PY" manage.py seed_demo_history || echo "(could not seed the demo history; starting anyway)"
( while sleep 60; do "$PY" manage.py reconcile >/dev/null 2>&1 || true; done ) &
pids+=($!)

echo
echo "Dashboard: http://127.0.0.1:$DASHBOARD_PORT  (sign in with a demo user above; Ctrl-C stops)"
"$PY" manage.py runserver "127.0.0.1:$DASHBOARD_PORT" --noreload &
pids+=($!)
wait -n "${pids[@]}"
