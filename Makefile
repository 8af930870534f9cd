# solarmon: `make run` starts the monitor, `make test` checks everything.
# Both set up what they need on a fresh machine (virtualenv, packages, services).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_DATA := var/test
# The chart library, copied from npm into our static files (tools/vendor_static.sh).
VENDOR := solarmon/static/solarmon/vendor/uPlot.iife.min.js
export SOLARMON_PORT ?= 8000
# pytest runs on this many processes (pytest-xdist; a file's tests stay on one). 1 = no xdist.
TEST_WORKERS ?= 2
PYTEST_ARGS := $(if $(filter 1,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

.PHONY: run test venv lint typecheck pytest pytest-sqlite pytest-postgres bench clean

venv: $(STAMP) $(VENDOR)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(VENDOR): package.json package-lock.json tools/vendor_static.sh
	tools/vendor_static.sh
	touch $(VENDOR)

run: venv
	$(PY) -m solarmon.devkey >/dev/null
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py create_admin
	# The demo supervises web (gunicorn), worker and beat, restarting each on its own, and
	# stops them all when it is stopped or when make itself goes (solarmon/supervise.py).
	$(PY) manage.py demo

lint: venv
	$(PY) -m ruff check .

typecheck: venv
	$(PY) -m mypy .

test: venv
	tests/setup/ensure_packages.sh
	SOLARMON_DATA_DIR=$(TEST_DATA) $(PY) -m solarmon.devkey >/dev/null
	$(PY) -m ruff check .
	SOLARMON_DATA_DIR=$(TEST_DATA) $(PY) manage.py check
	SOLARMON_DATA_DIR=$(TEST_DATA) $(PY) manage.py makemigrations --check --dry-run
	SOLARMON_DATA_DIR=$(TEST_DATA) $(PY) -m mypy .
	SOLARMON_DATA_DIR=$(TEST_DATA) $(PY) -m tests.setup.services -- $(MAKE) --no-print-directory pytest

# Runs inside tests.setup.services, which exports SOLARMON_TEST_POSTGRES_URL/REDIS_URL.
pytest: pytest-sqlite pytest-postgres

pytest-sqlite:
	$(PY) -m pytest tests $(PYTEST_ARGS)

pytest-postgres:
	@if [ -n "$$SOLARMON_TEST_POSTGRES_URL" ]; then \
	  echo "== the database-backed tests again, on PostgreSQL =="; \
	  DATABASE_URL=$$SOLARMON_TEST_POSTGRES_URL $(PY) -m pytest tests $(PYTEST_ARGS) --database-tests-only --ignore=tests/adapters --ignore=tests/demo; \
	else echo "PostgreSQL is not available: the PostgreSQL pass is skipped"; fi

bench: venv
	@for script in bench/*.py; do echo "== $$script"; SOLARMON_DATA_DIR=$(TEST_DATA) $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache node_modules solarmon/static/solarmon/vendor
