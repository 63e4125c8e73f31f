# Thin wrappers: every target works on a fresh machine (it creates .venv first).
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: install lint typecheck test pytest docs docs-build demo bench bench-stores fuzz load clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,docs]'
	touch $(STAMP)

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: install
	$(PY) -m mypy

docs-build: install
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --quiet --site-dir site

pytest: install
	$(PY) -m pytest $(PYTEST_ARGS)

test: lint typecheck docs-build pytest

docs: install
	$(PY) -m mkdocs serve -a 127.0.0.1:8001

demo: install
	$(PY) -m uvicorn example_app.main:app --host 127.0.0.1 --port 8000

bench: install
	$(PY) benchmarks/run.py

# The store comparison alone (memory, Redis per request, Redis + mirror; needs redis-server).
bench-stores: install
	$(PY) benchmarks/run.py --stores-only

# The fuzz target installs atheris itself and skips cleanly when it cannot be built.
fuzz: install
	$(PY) tests/fuzz/fuzz_tokens.py -max_total_time=300

load: install
	$(PY) -m tests.load.run

clean:
	rm -rf $(VENV) site .mypy_cache .ruff_cache .pytest_cache
