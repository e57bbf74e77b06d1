# The two commands of the README: `make demo` and `make test`. Both create the virtual
# environment on first use, so they work on a fresh machine with Python 3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: demo test lint typecheck layers pytest pytest-postgres bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
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
