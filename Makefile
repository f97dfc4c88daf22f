# kehu — two commands for a fresh machine with Python 3.11+:
#   make demo   install, migrate, load demo data, print a login, serve on http://127.0.0.1:8000
#   make test   run the whole test suite on SQLite, then on PostgreSQL when it is reachable

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
KEHU := $(BIN)/kehu
DEMO_CUSTOMERS ?= 5000
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=

.PHONY: demo test test-sqlite test-postgres lint serve clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "kehu needs Python 3.11 or newer (found %s)" % sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

demo: $(VENV)/.installed
	$(KEHU) migrate --noinput -v 0
	$(KEHU) demo-setup --customers $(DEMO_CUSTOMERS)
	$(KEHU) serve

serve: $(VENV)/.installed
	$(KEHU) serve

test: $(VENV)/.installed-test lint test-sqlite test-postgres

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy src/kehu/analytics
	$(KEHU) makemigrations --check --dry-run -v 1

test-sqlite: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# PostgreSQL: runs when reachable; skipped with a message on a machine without it, except in CI.
test-postgres: $(VENV)/.installed-test
	@if $(BIN)/python scripts/pg_reachable.py "$(PG_TEST_URL)"; then \
		DATABASE_URL="$(PG_TEST_URL)" $(BIN)/python -m pytest -m "not spark" $(PYTEST_ARGS); \
	elif [ "$$CI" = "true" ]; then \
		echo "PostgreSQL is not reachable at $(PG_TEST_URL): CI needs it." >&2; exit 1; \
	else \
		echo "SKIPPED: PostgreSQL tests — no server at $(PG_TEST_URL) (set PG_TEST_URL to run them)."; \
	fi

clean:
	rm -rf $(VENV) var
