# The two commands of the README: `make demo` and `make test`. Both create the virtual
# environment on first use, so they work on a fresh machine with Python 3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: demo test lint typecheck layers pytest pytest-postgres bench clean

WEB := src/silkguard/web

# Setup: the virtual environment, the dashboard's npm packages (from the lockfile) and, for the
# browser tests, the system Chromium when it is missing (scripts/ensure_chromium.sh).
$(STAMP): pyproject.toml $(WEB)/package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	npm ci --prefix $(WEB) --no-audit --no-fund --loglevel=error
	sh scripts/ensure_chromium.sh
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/silkguard demo

lint: $(STAMP)
	$(BIN)/ruff check --no-cache src tests benchmarks scripts
	$(BIN)/ruff format --no-cache --check src tests benchmarks scripts

typecheck: $(STAMP)
	$(BIN)/mypy

layers: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest

pytest-postgres: $(STAMP)
	$(BIN)/pytest --postgres=$(PG_URL)

test: lint typecheck layers pytest pytest-postgres

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
