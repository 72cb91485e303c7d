# The two commands: `make demo` and `make test` (each creates .venv when missing).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_OUT ?= demo-output
# An editable install leaves our own modules uncompiled; where PYTHONDONTWRITEBYTECODE is set,
# every command would compile them again (0.15-0.2 s of start-up).
COMPILE = $(BIN)/python -m compileall -q custody cli > /dev/null

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(COMPILE)
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
	$(COMPILE)
	$(BIN)/python bench/record.py
	$(BIN)/python bench/ledger.py
	$(BIN)/python bench/import.py
	$(BIN)/python bench/verify.py
	$(BIN)/python bench/dossier.py

clean:
	rm -rf $(VENV) $(DEMO_OUT) build *.egg-info
