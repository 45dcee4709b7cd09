# Two commands matter: `make demo` and `make test`. Both create .venv when needed and are idempotent.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TOKENIZERS := $(VENV)/.tokenizers

.PHONY: help install browser postgres demo down status test locked lint typecheck imports unit bench upgrade clean

help:
	@echo "make demo   install, start the local Prefect stack and fine-tune on the sample data"
	@echo "make down   stop the local stack that make demo started"
	@echo "make status show what of the local stack runs"
	@echo "make test   install and run ruff, mypy, import contracts and the test suite"
	@echo "make bench  run the benchmarks"
	@echo "make upgrade move uv.lock to the newest allowed releases, then make test"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Everything installed is exactly uv.lock: uv itself first, by pip from the lock's own hashes,
# then `uv sync --locked`, which installs the lock as it is, removes anything it does not hold,
# and stops when pyproject.toml has changed without the lock being regenerated (`uv lock`).
UV := $(BIN)/uv
export UV_LINK_MODE := copy
export UV_PROJECT_ENVIRONMENT := $(VENV)
# Compile every module at install, on all cores, as pip does: otherwise the server, setup,
# worker, deploy and flow processes each compile Prefect on their first import (a fresh demo
# took 8 s longer).
export UV_COMPILE_BYTECODE := 1

$(STAMP): uv.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -qq --no-deps --require-hashes \
		-r <($(BIN)/python tools/uv_requirement.py)
	$(UV) sync --locked --quiet
	touch $(STAMP)

$(TOKENIZERS): $(STAMP)
	$(BIN)/ftflow tokenizers install
	touch $(TOKENIZERS)

install: $(STAMP) $(TOKENIZERS)

# The Prefect UI test (tests/operations) drives Debian's Chromium through the chromedriver built
# with it: both from apt, as root (apt-get update only when the first install fails).
CHROMEDRIVER := /usr/bin/chromedriver
APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	chromium chromium-driver

$(CHROMEDRIVER):
	@if [ "$$(id -u)" != 0 ]; then \
		echo "The UI test needs Debian's chromium and chromium-driver:" \
			"sudo apt-get install --no-install-recommends chromium chromium-driver" >&2; exit 1; fi
	$(APT_INSTALL) || { apt-get update -qq && $(APT_INSTALL); }

browser: $(CHROMEDRIVER)

# The concurrency test (tests/operations) runs its Prefect server on PostgreSQL: a throwaway
# cluster made with the initdb and pg_ctl of Debian's postgresql, from apt as root.
PG_CTL := $(wildcard /usr/lib/postgresql/*/bin/pg_ctl)
APT_POSTGRES := DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	postgresql

postgres:
	@if [ -n "$(PG_CTL)" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
		echo "The concurrency test needs Debian's postgresql: sudo apt-get install postgresql" >&2; \
		exit 1; fi; \
	echo "$(APT_POSTGRES)"; $(APT_POSTGRES) || { apt-get update -qq && $(APT_POSTGRES); }

# The local stack (Prefect server, Azure emulator, worker) runs in the background and stays up
# after the demo, for the UI; `make down` stops it. Its client settings come from `stack env`.
STACK := $(BIN)/python -m deployments.stack
WITH_STACK := stack_env="$$($(STACK) env)" && eval "$$stack_env" &&

demo: install
	$(BIN)/ftflow validate data/sample/train.jsonl --validation data/sample/validation.jsonl \
		--model gpt-4o-mini-2024-07-18
	$(STACK) up
	@$(WITH_STACK) log="$$FTFLOW_STACK_DIR/deploy.log" && \
		if $(BIN)/prefect --no-prompt deploy --name fine-tune/local >"$$log" 2>&1; \
		then echo "deployed fine-tune/local (prefect.yaml) to $$PREFECT_UI_URL"; \
		else cat "$$log"; exit 1; fi
	@echo "prefect deployment run fine-tune/local --watch"
	@$(WITH_STACK) $(BIN)/prefect deployment run fine-tune/local --watch; status=$$?; \
		echo; $(BIN)/python -m deployments.report fine-tune/local; \
		echo "The stack keeps running for the UI; 'make down' stops it."; exit $$status

down:
	@if [ -x $(BIN)/python ]; then $(STACK) down; fi

status:
	@if [ -x $(BIN)/python ]; then $(STACK) status || true; else echo "not installed"; fi

# The environment the tests run in is exactly the lock, and the lock matches pyproject.toml.
locked: install
	$(UV) sync --locked --check --quiet

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

imports: install
	$(BIN)/lint-imports --no-cache

# The test files run on parallel workers, each with its own Prefect server (a session fixture);
# a file stays on one worker, since its module fixtures (emulators, stacks) serve all its tests.
# Three on two cores: a fourth was no faster (the suite is CPU-bound) and cost 1.5 CPU-minutes.
TEST_WORKERS ?= 3

unit: install browser postgres
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

test: locked lint typecheck imports unit

# `make bench BENCH_FLAGS=--record` also appends every figure to benchmarks/RESULTS.md.
bench: install
	$(BIN)/python benchmarks/validate_throughput.py $(BENCH_FLAGS)
	$(BIN)/python benchmarks/flow_overhead.py $(BENCH_FLAGS)
	$(BIN)/python benchmarks/flow_polling.py $(BENCH_FLAGS)
	$(BIN)/python benchmarks/flow_concurrency.py $(BENCH_FLAGS)
	$(BIN)/python benchmarks/flow_give_up.py $(BENCH_FLAGS)

# The newest releases pyproject.toml allows, then everything: a failure is a bug to fix in the
# code (or a range to change in pyproject.toml, with its reason), never a silent pin.
upgrade: | $(BIN)/python
	@test -x $(UV) || $(MAKE) --no-print-directory $(STAMP)
	$(UV) lock --upgrade
	$(MAKE) --no-print-directory test

clean: down
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
