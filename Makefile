# TwoStep developer commands. `make run` serves the API; `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.run-installed
TEST_STAMP := $(VENV)/.test-installed
BENCH_STAMP := $(VENV)/.bench-installed
NODE_STAMP := tests/clients/node/node_modules/.installed

.PHONY: run test lint typecheck pytest bench bench-servers clean help

help:
	@echo "make run    - install and serve the API on http://127.0.0.1:8080 (SQLite in ./.twostep)"
	@echo "make test   - install and run ruff, mypy --strict, import contracts and the test suite"
	@echo "make bench  - run the benchmark (see docs/performance.md)"
	@echo "make bench-servers - compare ASGI servers on the verify path (docs/performance.md)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(RUN_STAMP)

$(BENCH_STAMP): $(TEST_STAMP)
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $@

$(NODE_STAMP): tests/clients/node/package.json tests/clients/node/package-lock.json
	cd tests/clients/node && npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: $(RUN_STAMP)
	$(BIN)/twostep serve

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

pytest: $(TEST_STAMP) $(NODE_STAMP)
	$(BIN)/pytest -n 2 --dist loadfile $(PYTEST_ARGS)

test: lint typecheck pytest

bench: $(TEST_STAMP)
	$(BIN)/python -m bench

bench-servers: $(BENCH_STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m bench.asgi_servers

clean:
	rm -rf $(VENV) tests/clients/node/node_modules .pytest_cache .mypy_cache .ruff_cache
