# The two commands: `make demo` and `make test` (each creates .venv when missing).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_OUT ?= demo-output

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	rm -rf $(DEMO_OUT)
	$(BIN)/custody demo --out $(DEMO_OUT)

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check custody cli tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/record.py
	$(BIN)/python bench/ledger.py
	$(BIN)/python bench/import.py
	$(BIN)/python bench/verify.py
	$(BIN)/python bench/dossier.py

clean:
	rm -rf $(VENV) $(DEMO_OUT) build *.egg-info
