# Two commands do everything on a fresh machine:  make run  and  make test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export FLASK_APP := wsgi.py
# The demo runs on the development settings (published keys, HTTP cookies); never in production.
export ELDERCARE_CONFIG ?= development
PORT ?= 5000
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/eldercare_test
PYTEST_ARGS ?=

.PHONY: run test install bench-install translations extract-messages lint db demo serve test-sqlite test-postgres bench-visits bench-subsidies bench faults clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test]"
	touch $(STAMP)

install: $(STAMP) translations

# The benchmarks' extra (locust, the HTTP load generator of `flask bench city`).
BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install -q -e ".[bench]"
	touch $(BENCH_STAMP)

bench-install: install $(BENCH_STAMP)

translations: $(STAMP)
	$(BIN)/pybabel compile -d eldercare/translations

extract-messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k pgettext:1c,2 -k lazy_pgettext:1c,2 -k _lp:1c,2 -o eldercare/translations/messages.pot .
	$(BIN)/pybabel update -N -i eldercare/translations/messages.pot -d eldercare/translations

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

db: install
	$(BIN)/flask db upgrade
	$(BIN)/flask ratings load-schemes

demo: db
	$(BIN)/flask demo

# The application on the embedded SQLite default with demo data: http://127.0.0.1:$(PORT)/
run: demo
	$(BIN)/python -m eldercare.serve --port $(PORT)

# The whole suite, on SQLite and then on PostgreSQL, browser and API fuzz tests included.
test: install
	./scripts/install-system-deps.sh
	./scripts/ensure-services.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	env -u TEST_DATABASE_URL $(BIN)/pytest -n 2 $(PYTEST_ARGS)
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/pytest -n 2 $(PYTEST_ARGS)

test-sqlite: install
	$(BIN)/pytest $(PYTEST_ARGS)

test-postgres: install
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/pytest $(PYTEST_ARGS)

# Benchmarks (not part of make test): a PostgreSQL database of their own, dropped and made anew.
BENCH_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/eldercare_bench
bench-visits: bench-install
	./scripts/ensure-services.sh
	psql "$(BENCH_DATABASE_URL:/eldercare_bench=/postgres)" -qc "DROP DATABASE IF EXISTS eldercare_bench WITH (FORCE)" -c "CREATE DATABASE eldercare_bench"
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/flask db upgrade
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/flask bench visits --json-out test-artifacts/bench-visits.json

# A month's subsidy batch for a city's 300,000 enrolments; add BENCH_ARGS=--explain for the plan.
BENCH_SUBSIDIES_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/eldercare_bench_subsidies
BENCH_ARGS ?=
bench-subsidies: bench-install
	./scripts/ensure-services.sh
	psql "$(BENCH_SUBSIDIES_DATABASE_URL:/eldercare_bench_subsidies=/postgres)" -qc "DROP DATABASE IF EXISTS eldercare_bench_subsidies WITH (FORCE)" -c "CREATE DATABASE eldercare_bench_subsidies"
	DATABASE_URL=$(BENCH_SUBSIDIES_DATABASE_URL) $(BIN)/flask db upgrade
	DATABASE_URL=$(BENCH_SUBSIDIES_DATABASE_URL) $(BIN)/flask bench subsidies $(BENCH_ARGS) --json-out test-artifacts/bench-subsidies.json

# Every figure of the city-scale requirement in one table: a database of a city's data made
# anew (BENCH_SCALE=small for a quick try), then `flask bench city` (gunicorn on loopback, the
# jobs in transactions rolled back); BENCH_CITY_ARGS e.g. "--duration 20 --concurrency 8".
BENCH_CITY_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/eldercare_bench_city
BENCH_SCALE ?= city
BENCH_CITY_ARGS ?=
bench: bench-install
	./scripts/ensure-services.sh
	psql "$(BENCH_CITY_DATABASE_URL:/eldercare_bench_city=/postgres)" -qc "DROP DATABASE IF EXISTS eldercare_bench_city WITH (FORCE)" -c "CREATE DATABASE eldercare_bench_city"
	DATABASE_URL=$(BENCH_CITY_DATABASE_URL) $(BIN)/flask db upgrade
	DATABASE_URL=$(BENCH_CITY_DATABASE_URL) $(BIN)/flask ratings load-schemes
	DATABASE_URL=$(BENCH_CITY_DATABASE_URL) $(BIN)/flask demo --scale $(BENCH_SCALE)
	DATABASE_URL=$(BENCH_CITY_DATABASE_URL) $(BIN)/flask bench city $(BENCH_CITY_ARGS) --json-out test-artifacts/bench-city.json

# The outbox under faults (issue 20): a PostgreSQL of its own (initdb in a temporary folder,
# loopback only), two scheduler copies and two dispatchers killed at random, the SMTP server
# and the SMS gateway stopped and restarted, PostgreSQL restarted once; then sent, delivered
# once or more, lost (must be 0) and dead. FAULTS_ARGS e.g. "--minutes 1 --messages 500 --seed 7".
FAULTS_ARGS ?=
faults: install
	$(BIN)/python scripts/faults.py $(FAULTS_ARGS)

clean:
	rm -rf $(VENV) instance/*.db* .pytest_cache
