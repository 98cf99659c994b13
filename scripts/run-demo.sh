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
source scripts/demo-common.sh
require_free_ports

"$PY" manage.py migrate --noinput
"$PY" manage.py seed_demo_users

trap stop_all INT TERM EXIT
start_emulator "${EMULATOR_STATE:-var/emulator-state.json}"
seed_and_reconcile

echo
echo "Dashboard: http://127.0.0.1:$DASHBOARD_PORT  (sign in with a demo user above; Ctrl-C stops)"
"$PY" manage.py runserver "127.0.0.1:$DASHBOARD_PORT" --noreload &
pids+=($!)
wait -n "${pids[@]}"
