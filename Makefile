# fangkong — two commands: `make demo` runs the main job, `make test` runs every test.
# Both build the environment first (a project venv in .venv, pinned by uv.lock).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
export UV_PYTHON_DOWNLOADS := never

.PHONY: env demo test lint typecheck unit bench wrk clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON) --quiet
	touch $@

env: $(VENV)/.synced  ## build the environment

demo: env  ## the main job on the embedded default (SQLite in ./fangkong-data)
	$(VENV)/bin/fangkong demo

lint: env
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	PYTHONPATH=src $(VENV)/bin/lint-imports --no-cache

typecheck: env
	$(VENV)/bin/mypy

unit: env
	scripts/with-postgres $(VENV)/bin/pytest $(PYTEST_ARGS)

test: lint typecheck unit  ## every check CI runs: ruff, mypy strict, pytest (SQLite, and PostgreSQL when FANGKONG_TEST_POSTGRES_URL is set)

wrk:  ## the load generator of the serving benchmarks (Debian package wrk): installed, or stop
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "make bench: installing wrk (apt-get install wrk)"; \
	    apt-get install -y -q wrk >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q wrk; }; \
	  fi; \
	  command -v wrk >/dev/null 2>&1 || { echo "make bench: wrk is missing and could not be installed here (needs root and apt-get): install it (sudo apt-get install wrk) and run make bench again; without it the serving benchmarks' figures are not comparable" >&2; exit 1; }; \
	}

bench: env wrk  ## every benchmark, one after the other (about an hour; adds the bench group: covasim; installs wrk)
	$(UV) sync --frozen --compile-bytecode --group bench --python $(PYTHON) --quiet
	$(VENV)/bin/python benchmarks/import_persons.py
	$(VENV)/bin/python benchmarks/twin.py
	$(VENV)/bin/python benchmarks/recompute.py
	@if command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
	  $(VENV)/bin/python benchmarks/scan_load.py --backend both; \
	else \
	  echo "make bench: PostgreSQL is not installed: scans on SQLite only (apt-get install postgresql for issue 21's comparison)"; \
	  $(VENV)/bin/python benchmarks/scan_load.py; \
	fi
	$(VENV)/bin/python benchmarks/trace.py --sizes 10M,50M
	$(VENV)/bin/python benchmarks/placement.py
	$(VENV)/bin/python benchmarks/forecast.py
	$(VENV)/bin/python benchmarks/results_ingest.py
	$(VENV)/bin/python benchmarks/pool_resolve.py
	$(VENV)/bin/python benchmarks/detect.py
	$(VENV)/bin/python benchmarks/board.py
	$(VENV)/bin/python benchmarks/pages.py
	$(VENV)/bin/python benchmarks/checkpoint_load.py
	$(VENV)/bin/python benchmarks/road_status.py
	$(VENV)/bin/python benchmarks/pass_verify.py

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
