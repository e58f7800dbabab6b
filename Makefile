# Quick start: `make run` serves the API, `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint format migrate clean bench bench-quick fuzz

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

# A .env made once from the template, with a freshly generated SECRET_KEY and the
# DATABASE_URL this make was given (else the template's), so that every later command
# (`seed`, `create-admin`, ...) reads the same database.
.env:
	$(PYTHON) -m backend.core.envfile .env.template .env
	@echo "created .env with a new SECRET_KEY"

migrate: $(STAMP) .env
	$(BIN)/python -m backend migrate

# The API with a background worker in the same process (mail, notifications, alerts);
# deployments run `python -m backend worker` beside the API instead.
run: migrate
	WORKER_IN_PROCESS=$${WORKER_IN_PROCESS:-true} \
	$(BIN)/python -m backend serve --host $${HOST:-127.0.0.1} --port $${PORT:-8000}

# Two worker processes (one a core here), each with its own throwaway database; an idle
# worker takes tests queued for the other, so the few slow ones do not end up together.
PYTEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

# schemathesis against a live server as anonymous, candidate, employer and admin (CI runs it).
fuzz: $(STAMP)
	$(BIN)/python -m fuzz $(FUZZ_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

# Benchmarks (see BENCHMARKS.md): never part of `make test`.
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP) requirements-bench.txt
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/pip install --quiet -r requirements-bench.txt
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

bench-quick: $(BENCH_STAMP)
	$(BIN)/python -m bench.run --quick $(BENCH_ARGS)
