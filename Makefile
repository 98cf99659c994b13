# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run prod test lint format clean bench soak

# Type checking (pyproject.toml [tool.mypy]); the settings module needs an upstream URL to load.
MYPY := TWILIO_SERVERLESS_BASE_URL=http://127.0.0.1:8787 $(BIN)/mypy

# Stamp files: reinstall only when a requirements file changes.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime-installed $@

run: $(VENV)/.runtime-installed
	bash scripts/run-demo.sh

# Production as it runs: gunicorn on this machine's PostgreSQL and Redis (README: Running in production).
prod: $(VENV)/.runtime-installed
	bash scripts/run-prod.sh

# pytest exits 5 when it collects nothing; make treats that as a failure too.
# Two passes, two workers each (--dist loadfile keeps a module on one worker):
# 1. the whole suite on the embedded default (SQLite, local-memory cache), browser included,
#    but for the tests that start production's stack of their own (marker `stack`);
# 2. on production's stack, PostgreSQL and Redis (a database and a Redis db per worker,
#    tests/conftest.py): every test but the browser's, which drive the same views the HTTP
#    tests drive here, and would take CI past 15 minutes; the `stack` tests run here.
# Under CI a server that does not answer fails the run; elsewhere the second pass is
# skipped, and says so.
PG_TEST_URL := postgres://postgres@127.0.0.1:5432/test
REDIS_TEST_URL := redis://127.0.0.1:6379/2
PYTEST := $(BIN)/pytest -n 2 --dist loadfile
test: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MYPY)
	$(PYTEST) -m "not stack"
	@if [ "$$CI" != true ] && ! $(BIN)/python scripts/services_up.py '$(PG_TEST_URL)' '$(REDIS_TEST_URL)'; then \
		echo "SKIPPED the PostgreSQL + Redis pass: $(PG_TEST_URL) or $(REDIS_TEST_URL) does not answer (under CI=true this fails)."; \
	else \
		echo "DATABASE_URL=$(PG_TEST_URL) REDIS_URL=$(REDIS_TEST_URL) $(PYTEST) -m 'not browser'"; \
		DATABASE_URL=$(PG_TEST_URL) REDIS_URL=$(REDIS_TEST_URL) $(PYTEST) -m "not browser"; \
	fi

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MYPY)

format: $(VENV)/.dev-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var artifacts .pytest_cache .ruff_cache

# Prints the performance figures quoted in the issues' closing notes (issue 9's targets,
# PASS/FAIL) and writes them to var/bench.json; takes a few minutes. Options pass through
# BENCH_ARGS, e.g. `make bench BENCH_ARGS=--quick`, or a Redis cache (its db is emptied):
# `make bench BENCH_ARGS="--redis redis://127.0.0.1:6379/15"`.
BENCH_ARGS ?=
bench: $(VENV)/.dev-installed
	$(BIN)/python scripts/bench.py $(BENCH_ARGS)

# A bounded soak of production's stack (scripts/soak.py): about 2 minutes of mixed reads and
# actions by several release managers against gunicorn + PostgreSQL + Redis (a database and
# a Redis db of its own, emptied). Prints requests/s and p50/p95/p99 per kind, writes
# var/soak.json, and fails on any 5xx or an audit that does not match Twilio's deployments.
# Options pass through SOAK_ARGS, e.g. `make soak SOAK_ARGS="--duration 20"`.
SOAK_ARGS ?=
soak: $(VENV)/.dev-installed
	$(BIN)/python scripts/soak.py $(SOAK_ARGS)
