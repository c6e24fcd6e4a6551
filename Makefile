# make run: set up and serve the site on embedded defaults at http://127.0.0.1:8000
# make test: set up and run the whole test suite (SQLite, then PostgreSQL when it is installed)
PYTHON ?= python3.11
VENV ?= .venv
BIN = $(VENV)/bin
export FLASK_APP = app

.PHONY: run test install translations bench extract-messages clean

$(BIN)/activate: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(BIN)/activate translations

translations: $(BIN)/activate
	$(BIN)/pybabel -q compile -d translations

run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo
	scripts/serve.sh

test: install
	scripts/run-tests.sh

bench: install
	$(BIN)/python bench/pages.py

extract-messages: $(BIN)/activate
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot . >/dev/null
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) test-artifacts .pytest_cache
