# make run: set up and serve the site on embedded defaults at http://127.0.0.1:8000
# make test: set up, lint (ruff, import-linter, mypy), then the whole test suite (SQLite, then PostgreSQL)
# make fmt: format and autofix with ruff;  make lock: recompile the lock files from requirements*.in
PYTHON ?= python3.11
VENV ?= .venv
BIN = $(VENV)/bin
export FLASK_APP = app

.PHONY: run test lint fmt lock install translations bench extract-messages clean

$(BIN)/activate: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.txt
	touch $@

install: $(BIN)/activate translations

translations: $(BIN)/activate
	$(BIN)/pybabel -q compile -d translations

run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo
	VENV=$(VENV) scripts/serve.sh

test: install lint
	VENV=$(VENV) scripts/run-tests.sh

lint: $(BIN)/activate
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo
	$(BIN)/mypy

fmt: $(BIN)/activate
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Keeps the versions already locked; to move on: make lock LOCK_ARGS=--upgrade (or --upgrade-package NAME).
LOCK_ARGS ?=
PIP_COMPILE = CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe \
	--strip-extras --no-emit-index-url --no-emit-find-links --no-emit-trusted-host $(LOCK_ARGS)
lock: $(BIN)/activate
	$(PIP_COMPILE) -o requirements.txt requirements.in
	$(PIP_COMPILE) -o requirements-dev.txt requirements-dev.in

bench: install
	$(BIN)/python bench/pages.py

extract-messages: $(BIN)/activate
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot . >/dev/null
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) test-artifacts .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
