# webir-bpm: `make run` serves the app with demo data; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export WEBIR_INSTANCE_PATH ?= $(CURDIR)/instance

.PHONY: run test lint setup setup-dev chromium screenshots bench clean

# The venv counts as made once it has pip: one left without it by an interrupted first run is made again.
$(BIN)/pip:
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.installed node_modules/.installed

setup-dev: $(VENV)/.installed-dev node_modules/.installed

# Browser tests drive Debian's chromium (Playwright cannot download browsers here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

run: setup
	$(BIN)/webir init-db --demo
	$(BIN)/webir run

lint: setup-dev
	$(BIN)/ruff check engine workflows web tests
	$(BIN)/lint-imports

# Two workers (pytest-xdist), one per core; each has PostgreSQL databases of its own (tests/conftest.py).
test: setup-dev chromium lint
	$(BIN)/python -m pytest -n 2

# Screenshots of the main pages into docs/screenshots/ (the browser tests take them); CJK fonts are needed only
# here, so Chinese does not render as boxes in the images.
screenshots: setup-dev chromium
	@fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq fonts-noto-cjk >/dev/null; }
	WEBIR_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest tests/e2e/test_inbox_browser.py -q

# Benchmarks (not part of `make test`; minutes, and they DROP the schema of the databases they are given):
# the SpiffWorkflow limit vs the engine, the HTTP load under gunicorn, the inbox and instance lists at 100,000
# instances / 1,000,000 task rows, the instance state after a simulated year, in one process run (bench/all.py),
# written with the machine's description and a targets table to bench/last-run.md.
BENCH_PG ?= postgresql+psycopg://postgres@127.0.0.1:5432/webir_bench
BENCH_PG_DB = $(lastword $(subst /, ,$(BENCH_PG)))
bench: setup-dev
	psql "$(subst +psycopg,,$(subst /$(BENCH_PG_DB),/postgres,$(BENCH_PG)))" -qtc "SELECT 1 FROM pg_database WHERE datname = '$(BENCH_PG_DB)'" | grep -q 1 || \
	  psql "$(subst +psycopg,,$(subst /$(BENCH_PG_DB),/postgres,$(BENCH_PG)))" -qc "CREATE DATABASE $(BENCH_PG_DB)"
	$(BIN)/python -m bench all --pg $(BENCH_PG)

clean:
	rm -rf $(VENV) node_modules instance
