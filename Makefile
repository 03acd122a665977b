# The two commands: `make run` and `make test`. Everything else is a step they use.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck pytest pytest-sqlite fuzz install messages migrate demo check-redis bench lock clean

$(STAMP): requirements-dev.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	touch $(STAMP)

install: $(STAMP)

# Translations are committed as .po and compiled here, in pure Python (no gettext needed).
messages: install
	$(BIN)/pybabel compile -d locale -D django --statistics

migrate: messages
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py seed_demo --once

check-redis: install
	@$(BIN)/python -m config.preflight

run: check-redis demo
	mkdir -p .run
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/honcho start -f Procfile

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy .

pytest: messages
	$(BIN)/pytest $(PYTEST_ARGS)

# The queue on the local default database, SQLite, as `make run` uses it: where PostgreSQL's own
# statements (the search through the trigram indexes, the per-office UNION) cannot run, it must take
# the ordinary path, not fail.
pytest-sqlite: messages
	env -u DATABASE_URL -u REQUIRE_SERVICES $(BIN)/pytest -q -m "not postgres and not browser" \
		tests/workflow/test_api_queue.py tests/staff/test_queue.py tests/workflow/test_actors.py

test: lint typecheck pytest-sqlite pytest

# The API's stateful test (tests/workflow/test_api_stateful.py) at length: many more random sequences of
# actions, and longer ones, than the bounded run in `make pytest`.
FUZZ_EXAMPLES ?= 500
FUZZ_STEPS ?= 50
fuzz: messages
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_STEPS=$(FUZZ_STEPS) $(BIN)/pytest tests/workflow/test_api_stateful.py $(PYTEST_ARGS)

# Benchmarks need PostgreSQL and Redis; each prints its figures beside a floor measured in the same run
# and exits non-zero when a ratio misses its target (docs/performance.md). bench/loader.py builds a
# million applications into the database named here once and every benchmark reuses them
# (BENCH_APPLICATIONS makes a smaller set); the sweeps compare it with <name>_10k beside it; the outbox
# and writers benchmarks run in throwaway test_<name> databases.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/bench
bench: messages
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/sla_sweep.py
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/notification_throughput.py
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/writers.py
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/queue_page.py

# Re-pin after editing pyproject.toml (UPGRADE="-P django" or "--upgrade" to move versions). The
# development lock is compiled first; the production lock starts from its pins and drops the rest.
PIP_COMPILE_FLAGS := --strip-extras --no-emit-index-url --no-emit-find-links --quiet
lock:
	test -x .venv-tools/bin/pip-compile || ($(PYTHON) -m venv .venv-tools && .venv-tools/bin/pip install --quiet pip-tools)
	.venv-tools/bin/pip-compile --extra dev $(PIP_COMPILE_FLAGS) $(UPGRADE) -o requirements-dev.lock pyproject.toml
	cp requirements-dev.lock requirements.lock
	.venv-tools/bin/pip-compile $(PIP_COMPILE_FLAGS) -o requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache staticfiles
