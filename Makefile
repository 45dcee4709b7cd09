# Two commands matter: `make demo` and `make test`. Both create .venv when needed and are idempotent.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TOKENIZERS := $(VENV)/.tokenizers

.PHONY: help install demo test lint typecheck imports unit bench clean

help:
	@echo "make demo   install and run the pipeline on the bundled sample data"
	@echo "make test   install and run ruff, mypy, import contracts and the test suite"
	@echo "make bench  run the benchmarks"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -qq --upgrade pip
	$(BIN)/python -m pip install -qq -e '.[dev]'
	touch $(STAMP)

$(TOKENIZERS): $(STAMP)
	$(BIN)/ftflow tokenizers install
	touch $(TOKENIZERS)

install: $(STAMP) $(TOKENIZERS)

demo: install
	$(BIN)/ftflow validate data/sample/train.jsonl --validation data/sample/validation.jsonl \
		--model gpt-4o-mini-2024-07-18
	PREFECT_HOME=$(CURDIR)/.prefect $(BIN)/ftflow demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

imports: install
	$(BIN)/lint-imports --no-cache

unit: install
	$(BIN)/pytest

test: lint typecheck imports unit

bench: install
	$(BIN)/python benchmarks/validate_throughput.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
