# Two entry points for a fresh machine: `make demo` and `make test`.
# Each creates .venv (if missing) and installs fnnet into it first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test test-quick setup setup-test setup-experiments experiments experiments-quick setup-docs docs docs-serve

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

setup: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[plot]'

setup-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'

# The experiments need matplotlib, mnist1d (MNIST-1D is generated locally) and scikit-learn (tune_digits).
setup-experiments: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[plot,datasets,sklearn]'

demo: setup
	$(BIN)/python experiments/demo.py

# -n auto: one pytest worker per core (pytest-xdist); --dist loadfile keeps a file's tests, and its
# module-scoped fixtures (the Keras reference run, the demo), on one worker.
test: setup-test
	$(BIN)/python -m pytest -n auto --dist loadfile

# The quick part of the suite for development: everything not marked slow.
test-quick: setup-test
	$(BIN)/python -m pytest -n auto --dist loadfile -m "not slow"

# Every experiment in full, one process each, writing the committed figures and JSONs
# (experiments/results/, embedded by experiments/README.md): about 4 minutes on 2 CPU cores.
experiments: setup-experiments
	$(BIN)/python experiments/run_all.py --out experiments/results

# Every experiment with --quick, all in one process, into out/: about a minute.
experiments-quick: setup-experiments
	$(BIN)/python experiments/run_all.py --quick --out out

# The documentation site (mkdocs.yml): built strictly (a broken link or an undocumented docstring
# fails) into site/, or served with live reload on loopback only.
setup-docs: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[docs]'

docs: setup-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict --site-dir site

docs-serve: setup-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs serve --strict -a 127.0.0.1:8000
