# cityos: two commands do everything on a fresh clone — `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CLIENTS := .venv-clients

.PHONY: demo test lint bench client-venv fmt clean

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

demo: $(BIN)/.installed
	$(BIN)/cityos demo

lint: $(BIN)/.installed
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

test: lint client-venv
	$(BIN)/pytest

bench: $(BIN)/.installed
	$(BIN)/python -m bench.broker_bench

fmt: $(BIN)/.installed
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

clean:
	rm -rf $(VENV) $(CLIENTS) .pytest_cache .mypy_cache .ruff_cache .cityos-demo
