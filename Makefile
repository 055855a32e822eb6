# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck unit bench bench-http bench-litellm clean openapi

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

TEST_STAMP := $(VENV)/.installed-test

# Reinstall only when the project's declared dependencies change.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[service,dev]'
	@touch $(STAMP)

# The tests also need the peers they are compared with (LiteLLM, pinned).
$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[service,dev,peers]'
	@touch $(TEST_STAMP)

# The HTTP service on the embedded defaults (SQLite under data/, the bundled catalog).
run: $(STAMP)
	$(BIN)/modelrouter db upgrade
	$(BIN)/modelrouter serve --local-keys --host 127.0.0.1 --port $(or $(PORT),8080)

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

unit: $(TEST_STAMP)
	$(BIN)/pytest

test: lint typecheck unit

# Rewrite the committed OpenAPI document from the app (a test checks it is current).
openapi: $(STAMP)
	$(BIN)/python -c "import json; from modelrouter.service.app import create_app; \
	print(json.dumps(create_app().openapi(), indent=2, sort_keys=True))" > docs/openapi.json

bench: $(STAMP)
	$(BIN)/python -m benchmarks.route

BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[service,dev,bench]'
	@touch $(BENCH_STAMP)

# The service on uvicorn and on granian in turn (SQLite, 2 workers).
bench-http: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks.http --backends sqlite --workers 2 --concurrency 16 64 \
		--servers uvicorn granian --rounds 3

# LiteLLM's proxy for benchmarks/compare.py, in an environment of its own: its
# proxy extra pins uvicorn and fastapi below what the service needs.
LITELLM_VENV := .venv-litellm
$(LITELLM_VENV)/.installed: benchmarks/litellm-proxy.txt
	$(PYTHON) -m venv $(LITELLM_VENV)
	$(LITELLM_VENV)/bin/python -m pip install --quiet -r benchmarks/litellm-proxy.txt
	@touch $@

bench-litellm: $(STAMP) $(LITELLM_VENV)/.installed
	$(BIN)/python -m benchmarks.compare

clean:
	rm -rf $(VENV) $(LITELLM_VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
