# The two commands a newcomer runs: `make run` (demo) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## Set up, record a simulated session through virtual BLE sensors, serve the dashboard.
run: $(STAMP)
	$(BIN)/rehab demo

## Set up (venv, system packages for browser + PostgreSQL tests), lint, type-check and run the whole test suite.
test: $(STAMP) lint
	@scripts/ensure-system-packages
	scripts/with-postgres $(BIN)/python -m pytest -n auto

## ruff (lint + import order) and mypy (strict on the processing core and the packet codec).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

## Speed and memory figures (on demand, not part of `make test`; the ingest one records 10 minutes).
bench: $(STAMP)
	scripts/with-postgres sh -c 'for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done'

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
