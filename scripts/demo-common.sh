# Shared by run-demo.sh (`make run`) and run-prod.sh (`make prod`); sourced, not run.
# Expects PY, EMULATOR_PORT and DASHBOARD_PORT.

pids=()

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

require_free_ports() {
  for port in "$EMULATOR_PORT" "$DASHBOARD_PORT"; do
    if port_busy "$port"; then
      echo "Port $port is already in use: stop what runs there (make run or make prod?) and try again." >&2
      exit 1
    fi
  done
}

# Ctrl-C or the end of any child stops them all. SIGTERM: gunicorn's gthread workers can
# hang on SIGINT/SIGQUIT.
stop_all() {
  trap - INT TERM EXIT
  echo
  echo "Stopping the dashboard and the emulator..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}

# start_emulator STATE_FILE: the seeded emulator in the background, waited for.
start_emulator() {
  "$PY" -m serverless_emulator --host 127.0.0.1 --port "$EMULATOR_PORT" \
    --seed demo --state "$1" &
  pids+=($!)
  for _ in $(seq 1 50); do port_busy "$EMULATOR_PORT" && break; sleep 0.1; done
  port_busy "$EMULATOR_PORT" || { echo "The emulator did not start." >&2; exit 1; }
}

# Page reads never write: reconcile records what is live now as the baseline, and then,
# as cron does in production, every minute (outside changes, unfinished actions). The demo
# gets its policies and the dashboard's own history once.
seed_and_reconcile() {
  "$PY" manage.py reconcile || echo "(reconcile could not read everything; starting anyway)"
  "$PY" manage.py seed_demo_policies || echo "(could not seed the demo policies; starting anyway)"
  "$PY" manage.py seed_demo_history || echo "(could not seed the demo history; starting anyway)"
  ( while sleep 60; do "$PY" manage.py reconcile >/dev/null 2>&1 || true; done ) &
  pids+=($!)
}
