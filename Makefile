# Two entry points for a fresh machine: `make demo` and `make test`.
# Each creates .venv (if missing) and installs fnnet into it first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test test-quick setup setup-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

setup: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[plot]'

setup-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'

demo: setup
	$(BIN)/python experiments/demo.py

test: setup-test
	$(BIN)/python -m pytest

# The quick part of the suite for development: everything not marked slow.
test-quick: setup-test
	$(BIN)/python -m pytest -m "not slow"
