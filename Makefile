# Quick start: `make run` serves the API, `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint lint-js format migrate clean bench bench-quick fuzz lock

# Installs read the lock files only: every package, direct or not, at the version and with
# the hashes recorded there (pip refuses anything else).
$(STAMP): requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements-dev.lock
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
# With no DATABASE_URL given and no PostgreSQL at the default address, on the built-in one
# (backend/embedded.py, its data in .pgdata/).
run: $(STAMP) .env
	$(BIN)/python -m backend run --host $${HOST:-127.0.0.1} --port $${PORT:-8000}

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

# The web app's JavaScript: type-checked by tsc (checkJs, JSDoc types) and linted by
# ESLint, both from the npm registry at the versions package-lock.json records.
lint-js:
	npm ci --no-audit --no-fund --silent
	npx --no-install tsc -p jsconfig.json
	npx --no-install eslint backend/web/static

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

# Upgrading: change a pin in requirements*.txt, then `make lock` writes the lock files again
# (the newest versions the pins allow, with the hashes PyPI lists for each).
LOCK := $(BIN)/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links
lock:
	test -x $(BIN)/pip-compile || ($(PYTHON) -m venv $(VENV) && $(BIN)/pip install --quiet pip-tools==7.7.0)
	$(LOCK) --output-file requirements.lock requirements.txt
	$(LOCK) --output-file requirements-dev.lock requirements-dev.txt
	$(LOCK) --output-file requirements-bench.lock requirements-bench.txt

# Benchmarks (see BENCHMARKS.md): never part of `make test`.
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP) requirements-bench.lock
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements-bench.lock
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

bench-quick: $(BENCH_STAMP)
	$(BIN)/python -m bench.run --quick $(BENCH_ARGS)
