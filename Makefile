# cityos: two commands do everything on a fresh clone — `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CLIENTS := .venv-clients
BENCH_ARGS ?=

.PHONY: venv demo test lint bench client-venv fmt clean

venv: $(BIN)/.installed

# The stamp re-runs the install only when pyproject.toml changes.
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# Client libraries from PyPI pin their own dependencies, so they get a venv of their own.
$(CLIENTS)/.installed:
	$(PYTHON) -m venv $(CLIENTS)
	$(CLIENTS)/bin/pip install --quiet ngsildclient==0.5.2
	touch $@

client-venv: $(CLIENTS)/.installed

demo: venv
	$(BIN)/cityos demo

lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

test: lint client-venv
	$(BIN)/pytest

# `make bench BENCH_ARGS=--quick` for a one-minute smoke run.
bench: venv
	$(BIN)/python -m bench.broker_bench $(BENCH_ARGS)

fmt: venv
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

clean:
	rm -rf $(VENV) $(CLIENTS) .pytest_cache .mypy_cache .ruff_cache .hypothesis .cityos-demo \
		src/*.egg-info
